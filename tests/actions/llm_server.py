"""A fake OpenAI-compatible chat-completions server for the observer and LLM-metrics tests.

Each request takes the next reply of `script` (else `default(body)`), one of:

- a string: the answer, without ``usage``;
- ``(text, prompt_tokens, completion_tokens)``: the answer, with ``usage``;
- an int: that HTTP status, with an error body;
- ``HANG``: no answer until the server stops (the client's timeout runs out);
- a dict: that JSON body as it is, with status 200 (a wrong shape, extra fields);
- a `Raw`: that body, content type and status as they are (broken JSON, an HTML page);
- a `Slow`: its reply, after its delay.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from actions import LLMConfig, OpenAICompatibleClient

HANG = "<hang>"


@dataclass(frozen=True)
class Raw:
    """A response sent as it is."""

    body: str
    content_type: str = "application/json"
    status: int = 200


@dataclass(frozen=True)
class Slow:
    """`reply`, sent after `delay_s` (or never, if the server stops first)."""

    delay_s: float
    reply: Any


Reply = str | int | tuple[str, int, int] | dict[str, Any] | Raw | Slow


def completion(
    text: str | None, usage: tuple[int, int] | None = None, **message: Any
) -> dict[str, Any]:
    """A chat-completion body answering `text`; `message` adds fields to the message (e.g.
    ``reasoning_content``)."""
    body: dict[str, Any] = {
        "id": "c1",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": text, **message},
            }
        ],
    }
    if usage is not None:
        body["usage"] = {
            "prompt_tokens": usage[0],
            "completion_tokens": usage[1],
            "total_tokens": sum(usage),
        }
    return body


@dataclass
class FakeLLMServer:
    url: str = ""
    script: list[Reply] = field(default_factory=list)
    default: Callable[[dict[str, Any]], Reply] = lambda body: ("fine, thanks", 100, 3)
    requests: list[dict[str, Any]] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    def system_of(self, i: int) -> str:
        """The system prompt of request `i`."""
        return next(m["content"] for m in self.requests[i]["messages"] if m["role"] == "system")

    async def chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        reply = self.script.pop(0) if self.script else self.default(body)
        if isinstance(reply, Slow):
            try:
                await asyncio.wait_for(self.stop.wait(), reply.delay_s)
                return web.Response(status=503)  # the server stopped first
            except TimeoutError:
                reply = reply.reply
        if reply == HANG:
            await self.stop.wait()
            return web.Response(status=503)
        if isinstance(reply, Raw):
            return web.Response(
                body=reply.body.encode(), status=reply.status, content_type=reply.content_type
            )
        if isinstance(reply, dict):
            return web.json_response(reply)
        if isinstance(reply, int):
            return web.json_response({"error": {"message": "no"}}, status=reply)
        if isinstance(reply, tuple):
            text, prompt_tokens, completion_tokens = reply
            return web.json_response(completion(text, (prompt_tokens, completion_tokens)))
        return web.json_response(completion(reply))

    def config(self, **kw: Any) -> LLMConfig:
        """An `LLMConfig` for this server (``kw`` overrides the fields)."""
        fields: dict[str, Any] = {"timeout_s": 5.0, "max_retries": 0, "retry_backoff_s": 0.0}
        return LLMConfig(base_url=self.url, model="test-model", **{**fields, **kw})

    def client(self, *, timeout_s: float = 5.0, max_retries: int = 0) -> OpenAICompatibleClient:
        cfg = self.config(timeout_s=timeout_s, max_retries=max_retries)
        return OpenAICompatibleClient(cfg, api_key="sk-test")


@asynccontextmanager
async def fake_llm_server() -> AsyncIterator[FakeLLMServer]:
    server = FakeLLMServer()
    app = web.Application()
    app.router.add_post("/v1/chat/completions", server.chat)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    server.url = f"http://127.0.0.1:{port}/v1"
    try:
        yield server
    finally:
        server.stop.set()  # hanging requests end
        await runner.cleanup()
