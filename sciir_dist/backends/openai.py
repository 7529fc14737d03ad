"""Client for OpenAI-compatible chat endpoints (vLLM, SGLang, LMDeploy,
hosted APIs) that asks for JSON-Schema-constrained answers (SPEC §5).

- async, at most ``max_in_flight`` requests at once per client;
- retries with exponential backoff and jitter on 429, 5xx, timeouts and
  dropped connections, honouring ``Retry-After``;
- answers that parse but are empty, not JSON, or violate the schema (or the
  caller's own rules) are re-asked with the error stated, a bounded number
  of times;
- a request budget, per client or shared by all clients of a run;
- a persistent cache keyed by (model, messages, parameters, schema) on any
  fsspec URI, so a re-run never pays twice for an answer it already got;
- the API key comes from an environment variable only and is never logged;
- per-call model settings (temperature, max tokens, image detail, model,
  endpoint) as :class:`CallSettings` laid over a role's settings.

Failures raise :class:`VLMError` whose ``kind`` becomes the rejects reason
``vlm_error:<kind>``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable, Literal

import jsonschema
from pydantic import BaseModel, ConfigDict, Field

from sciir_dist.backends.budget import budget_for


class VLMError(Exception):
    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


@dataclass(frozen=True)
class EndpointSettings:
    url: str  # base URL, e.g. http://vllm:8000/v1
    model: str
    api_key_env: str = "SCIIR_VLM_API_KEY"
    max_in_flight: int = 64
    timeout_s: float = 120.0
    max_retries: int = 4
    backoff_base_s: float = 0.5
    backoff_max_s: float = 30.0
    max_reasks: int = 2
    budget: int | None = None  # most HTTP requests (per client, or per run with budget_counter)
    budget_counter: str | None = None  # name of the run's shared counter actor (set by the driver)
    temperature: float | None = None  # None: the call's default (0 unless a protocol says otherwise)
    max_tokens: int | None = None
    image_detail: Literal["low", "high", "auto"] | None = None  # None: the endpoint's default
    seed: int | None = None  # the request's sampling seed (a judge's test-retest); part of the cache key
    cache_uri: str | None = None
    cache_options: dict = field(default_factory=dict)


class CallSettings(BaseModel):
    """Settings one role or one call overrides (TOML ``[roles.<role>]`` /
    ``[calls.<call>]`` or ``--set``); unset fields keep the settings below."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str | None = None
    model: str | None = None
    api_key_env: str | None = None
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    max_tokens: int | None = Field(default=None, ge=1)
    image_detail: Literal["low", "high", "auto"] | None = None
    max_in_flight: int | None = Field(default=None, ge=1)
    timeout_s: float | None = Field(default=None, gt=0)
    max_retries: int | None = Field(default=None, ge=0)
    budget: int | None = Field(default=None, ge=0)

    def set_fields(self) -> dict:
        return self.model_dump(exclude_none=True)

    def over(self, base: "CallSettings") -> "CallSettings":
        """These settings laid over ``base`` (this one wins where set)."""
        return CallSettings(**{**base.set_fields(), **self.set_fields()})

    def apply(self, base: EndpointSettings | None, **defaults) -> EndpointSettings | None:
        """``base`` with these fields set; ``defaults`` fill fields that
        neither set (e.g. a protocol's temperature). Without a base, an
        endpoint exists only when both url and model are set here."""
        mine = self.set_fields()
        if base is None:
            if not (mine.get("url") and mine.get("model")):
                return None
            base = EndpointSettings(url=mine["url"], model=mine["model"])
        fill = {k: v for k, v in defaults.items() if getattr(base, k) is None}
        return dataclasses.replace(base, **{**fill, **mine})


@dataclass
class ChatResult:
    data: Any
    usage: dict
    cached: bool
    requests: int  # HTTP requests this answer cost (0 when cached)


class _Retry(Exception):
    def __init__(self, kind: str, detail: str, delay: float | None = None) -> None:
        super().__init__(detail)
        self.kind, self.detail, self.delay = kind, detail, delay


class OpenAIClient:
    def __init__(self, settings: EndpointSettings) -> None:
        self.s = settings
        self.requests_sent = 0
        self._budget = budget_for(settings.budget, settings.budget_counter)
        self._session = None
        self._sem: asyncio.Semaphore | None = None
        self._cache_fs = None
        if settings.cache_uri:
            import fsspec

            self._cache_fs, self._cache_root = fsspec.core.url_to_fs(settings.cache_uri, **settings.cache_options)

    # -- public API --------------------------------------------------------
    async def chat_json(self, messages: list[dict], schema: dict, name: str = "answer",
                        validate: Callable[[Any], str | None] | None = None) -> ChatResult:
        """Ask for JSON matching ``schema``; ``validate`` returns an error
        message for answers that pass the schema but break the caller's rules."""
        params = {"temperature": 0.0 if self.s.temperature is None else self.s.temperature,
                  "max_tokens": self.s.max_tokens}
        if self.s.seed is not None:  # only then: unseeded requests keep the cache keys they always had
            params["seed"] = self.s.seed
        messages = with_image_detail(messages, self.s.image_detail)
        key = _cache_key(self.s.model, messages, params, schema)
        hit = self._cache_get(key)
        if hit is not None:
            return ChatResult(hit["data"], hit.get("usage", {}), True, 0)
        convo = list(messages)
        spent = 0
        for ask in range(self.s.max_reasks + 1):
            content, usage, n = await self._complete(convo, schema, name, params)
            spent += n
            try:
                data = _check(content, schema, validate)
            except VLMError as err:
                if ask == self.s.max_reasks:
                    raise VLMError(err.kind, f"{err.detail} (after {ask + 1} answers)") from None
                convo = convo + [
                    {"role": "assistant", "content": content or ""},
                    {"role": "user", "content": f"That answer was invalid ({err.kind}: {err.detail[:300]}). "
                                                f"Reply again with only JSON that satisfies the schema and the rules."},
                ]
                continue
            self._cache_put(key, {"data": data, "usage": usage})
            return ChatResult(data, usage, False, spent)
        raise AssertionError("unreachable")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- transport ---------------------------------------------------------
    async def _ensure(self):
        import aiohttp

        if self._session is None:
            self._sem = asyncio.Semaphore(self.s.max_in_flight)
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.s.max_in_flight),
                timeout=aiohttp.ClientTimeout(total=self.s.timeout_s),
            )
        return self._session

    async def generate_image(self, prompt: str, size: str = "1024x1024", seed: int | None = None,
                             extra: dict | None = None) -> bytes:
        """One image from ``POST /images/generations`` (b64_json), with the
        same retries, budget and cache as chat requests."""
        import base64

        payload = {"model": self.s.model, "prompt": prompt, "n": 1, "size": size, "response_format": "b64_json",
                   **({"seed": seed} if seed is not None else {}), **(extra or {})}
        key = _cache_key(self.s.model, [{"role": "user", "content": prompt}], {"size": size, "seed": seed, **(extra or {})}, {})
        hit = self._cache_get(key)
        if hit is not None:
            return base64.b64decode(hit["b64"])

        def parse(body: dict) -> tuple[str, dict]:
            return body["data"][0]["b64_json"], body.get("usage") or {}

        b64, _usage, _n = await self._send("images/generations", payload, parse)
        try:
            data = base64.b64decode(b64, validate=True)
        except ValueError as exc:
            raise VLMError("malformed_image", f"b64_json does not decode: {exc}") from None
        self._cache_put(key, {"b64": b64})
        return data

    async def _complete(self, messages: list[dict], schema: dict, name: str, params: dict) -> tuple[str, dict, int]:
        payload = {
            "model": self.s.model,
            "messages": messages,
            "response_format": {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": True}},
            **{k: v for k, v in params.items() if v is not None},
        }

        def parse(body: dict) -> tuple[str, dict]:
            return body["choices"][0]["message"].get("content") or "", body.get("usage") or {}

        return await self._send("chat/completions", payload, parse)

    async def _send(self, path: str, payload: dict, parse) -> tuple[Any, dict, int]:
        """POST with retries; (parsed answer, usage, HTTP requests spent)."""
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(self.s.api_key_env)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        session = await self._ensure()
        sent = 0
        for attempt in range(self.s.max_retries + 1):
            if self._budget is not None and not await self._budget.take():
                raise VLMError("budget_exhausted", f"request budget of {self.s.budget} spent")
            self.requests_sent += 1
            sent += 1
            try:
                async with self._sem:  # type: ignore[union-attr]
                    return (*await self._post(session, path, payload, headers, parse), sent)
            except _Retry as r:
                if attempt == self.s.max_retries:
                    raise VLMError(r.kind, f"{r.detail} (after {attempt + 1} tries)") from None
                backoff = min(self.s.backoff_max_s, self.s.backoff_base_s * 2**attempt)
                await asyncio.sleep(r.delay if r.delay is not None else backoff * random.uniform(0.5, 1.5))
        raise AssertionError("unreachable")

    async def _post(self, session, path: str, payload: dict, headers: dict, parse) -> tuple[Any, dict]:
        import aiohttp

        try:
            async with session.post(f"{self.s.url.rstrip('/')}/{path}", json=payload, headers=headers) as resp:
                if resp.status == 429:
                    raise _Retry("rate_limited", "HTTP 429", _retry_after(resp.headers.get("Retry-After")))
                if resp.status >= 500:
                    raise _Retry("server_error", f"HTTP {resp.status}")
                if resp.status >= 400:
                    raise VLMError("http_error", f"HTTP {resp.status}: {(await resp.text())[:300]}")
                try:
                    return parse(await resp.json(content_type=None))
                except (ValueError, KeyError, IndexError, TypeError) as exc:
                    raise _Retry("server_error", f"unreadable response body: {exc}") from None
        except asyncio.TimeoutError:
            raise _Retry("timeout", f"no answer within {self.s.timeout_s}s") from None
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as exc:
            raise _Retry("connection", f"{type(exc).__name__}: {exc}") from None

    # -- cache -------------------------------------------------------------
    def _cache_path(self, key: str) -> str:
        return f"{self._cache_root}/{key[:2]}/{key}.json"

    def _cache_get(self, key: str) -> dict | None:
        if self._cache_fs is None:
            return None
        try:
            with self._cache_fs.open(self._cache_path(key), "rb") as f:
                return json.loads(f.read())
        except (FileNotFoundError, ValueError):
            return None

    def _cache_put(self, key: str, value: dict) -> None:
        if self._cache_fs is None:
            return
        path = self._cache_path(key)
        self._cache_fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
        tmp = f"{path}.{os.getpid()}.{random.getrandbits(32):08x}.tmp"
        with self._cache_fs.open(tmp, "wb") as f:
            f.write(json.dumps(value).encode())
        self._cache_fs.mv(tmp, path)  # readers never see half a file


def with_image_detail(messages: list[dict], detail: str | None) -> list[dict]:
    """The messages with ``detail`` on every image part that has none: image
    detail is a setting of the call, not of the prompt that placed the image."""
    if detail is None:
        return messages

    def part(p):
        if isinstance(p, dict) and p.get("type") == "image_url" and "detail" not in p["image_url"]:
            return {**p, "image_url": {**p["image_url"], "detail": detail}}
        return p

    return [{**m, "content": [part(p) for p in m["content"]]} if isinstance(m.get("content"), list) else m
            for m in messages]


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _cache_key(model: str, messages: list[dict], params: dict, schema: dict) -> str:
    blob = json.dumps({"model": model, "messages": messages, "params": params, "schema": schema}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def _check(content: str, schema: dict, validate: Callable[[Any], str | None] | None) -> Any:
    if not content or not content.strip():
        raise VLMError("empty_content", "the model returned no content")
    try:
        data = json.loads(content)
    except ValueError as exc:
        raise VLMError("malformed_json", str(exc)) from None
    try:
        jsonschema.validate(data, schema)
    except jsonschema.ValidationError as exc:
        raise VLMError("schema_invalid", exc.message) from None
    problem = validate(data) if validate else None
    if problem:
        raise VLMError("invalid", problem)
    return data
