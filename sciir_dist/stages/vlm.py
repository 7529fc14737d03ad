"""Running a batch of structured model requests inside one worker: every
item of the batch in flight at once (bounded by the clients), answers or
typed errors back per item."""

from __future__ import annotations

import asyncio
import base64
from typing import Any, Awaitable, Callable

from sciir_dist.backends.openai import EndpointSettings, OpenAIClient, VLMError

Clients = dict[str, OpenAIClient]


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def run_each(settings: dict[str, EndpointSettings | None], jobs: dict[str, Callable[[Clients], Awaitable[Any]]]
             ) -> dict[str, Any]:
    """key -> the job's result, or the VLMError that ended it. One client per
    role (e.g. vision, text), shared by all jobs of the batch."""

    async def one(clients: Clients, key: str, job):
        try:
            return key, await job(clients)
        except VLMError as err:
            return key, err

    async def run() -> dict[str, Any]:
        clients = {role: OpenAIClient(s) for role, s in settings.items() if s is not None}
        try:
            return dict(await asyncio.gather(*(one(clients, k, j) for k, j in jobs.items())))
        finally:
            for c in clients.values():
                await c.close()

    return asyncio.run(run())


def ask_all(settings: EndpointSettings, requests: dict[str, list[dict]], schema: dict, name: str,
            validate: Callable[[Any], str | None] | None = None) -> dict[str, Any]:
    """key -> ChatResult or VLMError, one request per key."""

    def job(messages: list[dict]):
        return lambda clients: clients["model"].chat_json(messages, schema, name, validate)

    return run_each({"model": settings}, {k: job(m) for k, m in requests.items()})
