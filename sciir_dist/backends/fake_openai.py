"""A fake OpenAI-compatible server for tests and load benches (SPEC §5).

Loopback only. Answers ``POST /v1/chat/completions`` with JSON that is valid
for the request's ``response_format.json_schema`` (generated, seeded by the
request), after a configurable latency, serving at most ``capacity`` requests
at once (others queue, so throughput is capacity / latency). Faults are
injected per request content: a rule fails the first ``attempts`` tries of a
matching request (``attempts=None``: every try), so client retries can be
tested both to success and to exhaustion. Every request is logged (request
hash, time, outcome, and the sampling settings it carried: temperature, max
tokens, image detail, schema name, seed) for "was this row asked again?" and
"what did the client ask for?" checks. A request's ``seed`` param changes
the generated answer (the same seed, the same answer).

With a :class:`FaithfulJudge` the server answers judge requests (schema
``verdicts``) from what the request shows: a question passes when the
category printed beside it in the request text is one the judge is told to
pass, and fails when no category is shown at all, so a test can tell a
request that carries categories from one that does not.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
import random
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from PIL import Image

FAULT_KINDS = (
    "rate_limit",  # 429 with Retry-After
    "rate_limit_no_header",  # 429 without Retry-After
    "server_error",  # 500
    "timeout",  # answers after the client has given up
    "drop",  # closes the connection without an answer
    "malformed_json",  # content that is not JSON
    "schema_invalid",  # JSON that violates the requested schema
    "empty",  # empty content
)


@dataclass(frozen=True)
class Fault:
    kind: str
    #: share of distinct requests affected (chosen by request hash, so stable)
    rate: float = 1.0
    #: fail this many tries of an affected request, then answer; None = always
    attempts: int | None = 1
    retry_after_s: float = 0.2
    timeout_s: float = 5.0
    #: only requests whose text contains this string
    match: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {self.kind!r}; one of {FAULT_KINDS}")


@dataclass(frozen=True)
class FaithfulJudge:
    #: categories whose questions are answered yes; every other shown category is no
    yes_categories: frozenset[str] = frozenset()


@dataclass
class FakeConfig:
    latency_s: float = 0.0
    capacity: int = 64
    seed: int = 0
    faults: list[Fault] = field(default_factory=list)
    judge: FaithfulJudge | None = None
    log_text: bool = False  # also log each request's message text (what the model was shown)


_SHOWN_CATEGORY = re.compile(r'"category"\s*:\s*"([A-Za-z]+)"')


def request_settings(body: dict) -> dict:
    """What a chat request asked for besides its messages."""
    details = [p["image_url"].get("detail") for m in body.get("messages") or [] if isinstance(m.get("content"), list)
               for p in m["content"] if isinstance(p, dict) and p.get("type") == "image_url"]
    fmt = body.get("response_format")  # a string ("b64_json") on image requests
    fmt = (fmt.get("json_schema") or {}).get("name") if isinstance(fmt, dict) else None
    return {"temperature": body.get("temperature"), "max_tokens": body.get("max_tokens"), "image_detail": details,
            "schema_name": fmt, "seed": body.get("seed")}


def judge_answer(judge: FaithfulJudge, body: dict, answer: dict) -> dict:
    """A schema-valid judge ``answer`` rewritten to follow the categories shown
    in the first user message: its i-th list entry answers the i-th question."""
    user = next((m for m in body.get("messages") or [] if m.get("role") == "user"), {})
    parts = user.get("content") if isinstance(user.get("content"), list) else [{"type": "text", "text": user.get("content") or ""}]
    text = "\n".join(p.get("text", "") for p in parts if isinstance(p, dict) and p.get("type") == "text")
    shown = _SHOWN_CATEGORY.findall(text)
    entries = next((v for v in answer.values() if isinstance(v, list)), [])
    for i, entry in enumerate(entries):
        cat = shown[i] if i < len(shown) else None
        passed = cat is not None and cat in judge.yes_categories
        word = "yes" if passed else "no"
        entry["answer"] = word.capitalize() if entry.get("answer") in ("Yes", "No") else word
        why = f"category {cat} shown, judged {word}" if cat else "no category shown for this question"
        entry["reason" if "reason" in entry else "evidence"] = why
    return answer


def request_key(body: dict) -> str:
    """Identity of a request for fault decisions and the log: the model and the
    messages before the first assistant turn, so a re-ask (which appends the
    rejected answer and the error) counts as another try of the same request."""
    messages = body.get("messages") or []
    first = next((i for i, m in enumerate(messages) if m.get("role") == "assistant"), len(messages))
    ident = json.dumps({"model": body.get("model"), "messages": messages[:first]}, sort_keys=True)
    return hashlib.sha256(ident.encode()).hexdigest()[:24]


def image_request_key(body: dict) -> str:
    """Identity of an image generation request: model, prompt, size, seed."""
    ident = json.dumps({k: body.get(k) for k in ("model", "prompt", "size", "seed")}, sort_keys=True)
    return hashlib.sha256(ident.encode()).hexdigest()[:24]


def sample(schema: dict, rng: random.Random, root: dict | None = None, n_items: int | None = None) -> Any:
    """A value valid for a (practical subset of) JSON Schema. Arrays inside one
    object share a length, so parallel lists (terms / visualization) line up;
    an array marked ``"x-substring-of": "<sibling>"`` quotes words of that
    sibling string (rendered text that must appear in the prompt)."""
    root = root if root is not None else schema
    if "$ref" in schema:
        node: Any = root
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        return sample(node, rng, root, n_items)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return rng.choice(schema["enum"])
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
            return sample(rng.choice(options), rng, root, n_items)
    t = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), "null")
    if t == "object":
        props = schema.get("properties", {})
        required = set(schema.get("required", props))
        shared = rng.randint(1, 4)
        out = {k: sample(v, rng, root, shared) for k, v in props.items() if k in required or rng.random() < 0.5}
        for k, v in props.items():  # "x-substring-of": items quoted from a sibling string
            source = out.get(v.get("x-substring-of", ""))
            if k in out and isinstance(source, str):
                words = sorted(set(source.split()))
                out[k] = rng.sample(words, min(len(words), len(out[k])))
        return out
    if t == "array":
        if "prefixItems" in schema:  # fixed positions (e.g. one verdict per question)
            return [sample(s, rng, root) for s in schema["prefixItems"]]
        lo = schema.get("minItems", 0)
        hi = schema.get("maxItems", lo + 4)
        n = min(max(n_items if n_items is not None else rng.randint(lo, lo + 3), lo), hi)
        return [sample(schema.get("items", {"type": "string"}), rng, root) for _ in range(n)]
    if t == "integer":
        return rng.randint(int(schema.get("minimum", 0)), int(schema.get("maximum", 100)))
    if t == "number":
        return round(rng.uniform(schema.get("minimum", 0.0), schema.get("maximum", 1.0)), 4)
    if t == "boolean":
        return rng.random() < 0.5
    if t == "null":
        return None
    words = ["ion", "membrane", "flow", "arrow", "gradient", "cell", "energy", "layer", "signal", "blue"]
    text = " ".join(rng.choice(words) for _ in range(rng.randint(2, 6)))
    text = text.ljust(schema.get("minLength", 1), "x")
    return text[: schema["maxLength"]] if "maxLength" in schema else text


def _violate(schema: dict) -> Any:
    """A value that breaks the schema (wrong type at the top level)."""
    return ["not", "what", "was", "asked"] if schema.get("type", "object") == "object" else {"unexpected": True}


class FakeOpenAI:
    def __init__(self, config: FakeConfig | None = None) -> None:
        self.config = config or FakeConfig()
        self.log: list[dict] = []
        self.tries: Counter[str] = Counter()
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self.url = ""

    # -- lifecycle (own thread and event loop) -------------------------------
    def start(self, port: int = 0) -> "FakeOpenAI":
        ready = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            self._sem = asyncio.Semaphore(self.config.capacity)
            app = web.Application(client_max_size=64 * 1024 * 1024)
            app.router.add_post("/v1/chat/completions", self._chat)
            app.router.add_post("/v1/images/generations", self._images)
            app.router.add_get("/v1/models", self._models)
            self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
            self._loop.run_until_complete(self._runner.setup())
            site = web.TCPSite(self._runner, "127.0.0.1", port, backlog=4096)
            self._loop.run_until_complete(site.start())
            sock = site._server.sockets[0]  # type: ignore[union-attr]
            self.url = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, daemon=True, name="fake-openai")
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop and self._runner:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def __enter__(self) -> "FakeOpenAI":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- handlers ---------------------------------------------------------
    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": "fake-vlm", "object": "model"}]})

    def _fault_for(self, key: str, text: str, tries: int) -> Fault | None:
        for f in self.config.faults:
            if f.match and f.match not in text:
                continue
            if int(key[:8], 16) / 0xFFFFFFFF >= f.rate:
                continue
            if f.attempts is None or tries <= f.attempts:
                return f
        return None

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        return await self._serve(request, body, request_key(body), json.dumps(body.get("messages")), self._answer)

    async def _images(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        return await self._serve(request, body, image_request_key(body), body.get("prompt") or "", self._image_answer)

    async def _serve(self, request: web.Request, body: dict, key: str, text: str, answer) -> web.StreamResponse:
        """Log, queue for capacity, wait the latency, apply faults, answer."""
        with self._lock:
            self.tries[key] += 1
            tries = self.tries[key]
        entry = {"key": key, "try": tries, "t": time.time(), "model": body.get("model"),
                 "messages": len(body.get("messages") or []),
                 "auth": request.headers.get("Authorization"), **request_settings(body)}
        if self.config.log_text:
            entry["text"] = text
        self.log.append(entry)
        async with self._sem:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            try:
                if self.config.latency_s:
                    await asyncio.sleep(self.config.latency_s)
                fault = self._fault_for(key, text, tries)
                entry["outcome"] = fault.kind if fault else "ok"
                return await answer(request, body, key, fault)
            finally:
                self.in_flight -= 1

    async def _image_answer(self, request: web.Request, body: dict, key: str, fault: Fault | None) -> web.StreamResponse:
        """A small seeded PNG (content faults give an undecodable or empty image)."""
        transport = await self._transport_fault(request, fault)
        if transport is not None:
            return transport
        if fault and fault.kind in ("malformed_json", "schema_invalid", "empty"):
            b64 = "" if fault.kind == "empty" else "%%not-base64%%"
        else:
            rng = random.Random(f"{self.config.seed}:{key}")
            img = Image.new("RGB", (64, 64), tuple(rng.randrange(256) for _ in range(3)))
            buf = io.BytesIO()
            img.save(buf, format="PNG")
            b64 = base64.b64encode(buf.getvalue()).decode()
        return web.json_response({"created": int(time.time()), "data": [{"b64_json": b64}]})

    async def _transport_fault(self, request: web.Request, fault: Fault | None) -> web.StreamResponse | None:
        """Faults that are about HTTP, not content: 429s, 500s, stalls, drops."""
        if fault and fault.kind == "rate_limit":
            return web.json_response({"error": {"message": "slow down"}}, status=429,
                                     headers={"Retry-After": f"{fault.retry_after_s:g}"})
        if fault and fault.kind == "rate_limit_no_header":
            return web.json_response({"error": {"message": "slow down"}}, status=429)
        if fault and fault.kind == "server_error":
            return web.json_response({"error": {"message": "boom"}}, status=500)
        if fault and fault.kind == "timeout":
            await asyncio.sleep(fault.timeout_s)
        if fault and fault.kind == "drop":
            request.transport.close()  # type: ignore[union-attr]
            raise asyncio.CancelledError
        return None

    async def _answer(self, request: web.Request, body: dict, key: str, fault: Fault | None) -> web.StreamResponse:
        transport = await self._transport_fault(request, fault)
        if transport is not None:
            return transport
        schema = ((body.get("response_format") or {}).get("json_schema") or {}).get("schema")
        # a request's own sampling seed draws another answer, as a sampling model's would
        rng = random.Random(f"{self.config.seed}:{key}" if body.get("seed") is None
                            else f"{self.config.seed}:{body['seed']}:{key}")
        if fault and fault.kind == "empty":
            content = ""
        elif fault and fault.kind == "malformed_json":
            content = '{"decision": "KEEP", "reason": '
        elif fault and fault.kind == "schema_invalid":
            content = json.dumps(_violate(schema or {}))
        elif schema and self.config.judge and request_settings(body)["schema_name"] == "verdicts":
            content = json.dumps(judge_answer(self.config.judge, body, sample(schema, rng)))
        elif schema:
            content = json.dumps(sample(schema, rng))
        else:
            content = "A fake answer."
        prompt_tokens = len(json.dumps(body.get("messages"))) // 4
        return web.json_response(
            {
                "id": f"chatcmpl-{key}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", "fake-vlm"),
                "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
                "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(content) // 4,
                          "total_tokens": prompt_tokens + len(content) // 4},
            }
        )


def main(argv: list[str] | None = None) -> None:
    """Run the fake server in the foreground (for benches and manual tests)."""
    import argparse

    ap = argparse.ArgumentParser(description="fake OpenAI-compatible server (loopback only)")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--latency", type=float, default=0.5)
    ap.add_argument("--capacity", type=int, default=256)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    server = FakeOpenAI(FakeConfig(latency_s=args.latency, capacity=args.capacity, seed=args.seed)).start(args.port)
    print(server.url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
