"""The OpenAI-compatible client against the fake server: every fault kind is
retried or re-asked as configured, then reported with its kind; Retry-After,
the request budget, bounded in-flight requests and the persistent cache."""

from __future__ import annotations

import asyncio
import time

import pytest

from schemas.outputs import load
from sciir_dist.backends.fake_openai import FakeConfig, FakeOpenAI, Fault
from sciir_dist.backends.openai import EndpointSettings, OpenAIClient, VLMError

SCHEMA = load("filter_decision")
KIND_OF = {
    "rate_limit": "rate_limited", "rate_limit_no_header": "rate_limited", "server_error": "server_error",
    "timeout": "timeout", "drop": "connection", "malformed_json": "malformed_json",
    "schema_invalid": "schema_invalid", "empty": "empty_content",
}


def ask(client: OpenAIClient, text: str = "Is this a schematic?", **kw):
    async def go():
        try:
            return await client.chat_json([{"role": "user", "content": text}], SCHEMA, "filter_decision", **kw)
        finally:
            await client.close()

    return asyncio.run(go())


def settings(url: str, **kw) -> EndpointSettings:
    base = dict(url=url, model="fake-vlm", timeout_s=0.5, max_retries=2, backoff_base_s=0.01, backoff_max_s=0.05, max_reasks=1)
    base.update(kw)
    return EndpointSettings(**base)


@pytest.mark.parametrize("fault", sorted(KIND_OF))
def test_fault_recovers_after_retry(fault):
    with FakeOpenAI(FakeConfig(faults=[Fault(fault, attempts=1, retry_after_s=0.05, timeout_s=2.0)])) as server:
        result = ask(OpenAIClient(settings(server.url)))
        assert result.data["decision"] in ("KEEP", "REJECT") and not result.cached
        assert result.requests == 2  # the failed try, then the good one
        assert [e["outcome"] for e in server.log] == [fault, "ok"]


@pytest.mark.parametrize("fault", sorted(KIND_OF))
def test_persistent_fault_is_reported_with_its_kind(fault):
    with FakeOpenAI(FakeConfig(faults=[Fault(fault, attempts=None, retry_after_s=0.01, timeout_s=2.0)])) as server:
        with pytest.raises(VLMError) as err:
            ask(OpenAIClient(settings(server.url)))
        assert err.value.kind == KIND_OF[fault]
        expected = 3 if fault in ("rate_limit", "rate_limit_no_header", "server_error", "timeout", "drop") else 2
        assert len(server.log) == expected  # max_retries=2 -> 3 tries; max_reasks=1 -> 2 answers


def test_retry_after_is_respected():
    with FakeOpenAI(FakeConfig(faults=[Fault("rate_limit", attempts=1, retry_after_s=0.4)])) as server:
        t = time.monotonic()
        ask(OpenAIClient(settings(server.url)))
        assert time.monotonic() - t >= 0.4
        assert server.log[1]["t"] - server.log[0]["t"] >= 0.4


def test_budget_stops_requests():
    with FakeOpenAI(FakeConfig(faults=[Fault("server_error", attempts=None)])) as server:
        with pytest.raises(VLMError) as err:
            ask(OpenAIClient(settings(server.url, budget=2, max_retries=5)))
        assert err.value.kind == "budget_exhausted" and len(server.log) == 2


def test_cache_means_a_rerun_never_pays_twice(tmp_path):
    with FakeOpenAI() as server:
        first = ask(OpenAIClient(settings(server.url, cache_uri=str(tmp_path / "cache"))))
        again = ask(OpenAIClient(settings(server.url, cache_uri=str(tmp_path / "cache"))))
        assert again.cached and again.data == first.data and again.requests == 0
        assert len(server.log) == 1


def test_rule_violations_are_reasked_then_rejected():
    with FakeOpenAI() as server:
        with pytest.raises(VLMError) as err:
            ask(OpenAIClient(settings(server.url, max_reasks=2)), validate=lambda d: "confidence too low")
        assert err.value.kind == "invalid" and len(server.log) == 3
        assert [e["messages"] for e in server.log] == [1, 3, 5]  # each re-ask carries the answer and the error back


def test_in_flight_requests_are_bounded():
    async def many(client):
        try:
            return await asyncio.gather(*(client.chat_json([{"role": "user", "content": f"q{i}"}], SCHEMA) for i in range(40)))
        finally:
            await client.close()

    with FakeOpenAI(FakeConfig(latency_s=0.05, capacity=100)) as server:
        results = asyncio.run(many(OpenAIClient(settings(server.url, max_in_flight=5))))
        assert len(results) == 40 and 1 < server.max_in_flight <= 5


def test_api_key_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("SCIIR_VLM_API_KEY", "sk-test-123")
    with FakeOpenAI() as server:
        ask(OpenAIClient(settings(server.url)))
        assert server.log[0]["auth"] == "Bearer sk-test-123"
