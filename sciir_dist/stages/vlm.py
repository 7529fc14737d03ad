"""Running a batch of structured VLM requests inside one worker: all of the
batch in flight at once (bounded by the client), answers or typed errors
back per panel."""

from __future__ import annotations

import asyncio
import base64
from typing import Any, Callable

from sciir_dist.backends.openai import EndpointSettings, OpenAIClient, VLMError


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def ask_all(settings: EndpointSettings, requests: dict[str, list[dict]], schema: dict, name: str,
            validate: Callable[[Any], str | None] | None = None) -> dict[str, Any]:
    """panel_id -> ChatResult or VLMError."""

    async def one(client: OpenAIClient, key: str, messages: list[dict]):
        try:
            return key, await client.chat_json(messages, schema, name, validate)
        except VLMError as err:
            return key, err

    async def run() -> dict[str, Any]:
        client = OpenAIClient(settings)
        try:
            return dict(await asyncio.gather(*(one(client, k, m) for k, m in requests.items())))
        finally:
            await client.close()

    return asyncio.run(run())
