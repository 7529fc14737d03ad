"""Request budgets. A run's budget is shared by every client of the run, in
every actor: the curate driver starts one counter actor per model role and
the clients draw from it (``EndpointSettings.budget_counter``). A client
used on its own (tests, notebooks) counts locally."""

from __future__ import annotations


class Counter:
    """Grants up to ``limit`` units in total. Runs as a Ray actor for shared
    budgets (``engines.ray.start_counter``), or in process."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def take(self, n: int = 1) -> bool:
        if self.used + n > self.limit:
            return False
        self.used += n
        return True


class LocalBudget:
    def __init__(self, limit: int) -> None:
        self.counter = Counter(limit)

    async def take(self) -> bool:
        return self.counter.take()


class RayBudget:
    def __init__(self, actor_name: str) -> None:
        import ray

        self.actor = ray.get_actor(actor_name)

    async def take(self) -> bool:
        return await self.actor.take.remote()


def budget_for(limit: int | None, counter: str | None) -> LocalBudget | RayBudget | None:
    if limit is None:
        return None
    return RayBudget(counter) if counter else LocalBudget(limit)
