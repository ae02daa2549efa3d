"""The OpenAI-compatible client against a real local chat-completions server."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import msgspec
import pytest
from aiohttp import web

from actions import ContentWriter, LLMConfig, LLMError, LLMTimeout, OpenAICompatibleClient
from tests.actions.actions_testkit import make_ctx

SECRET = "sk-test-very-secret-key"


@dataclass
class Server:
    url: str
    mode: list[str] = field(default_factory=lambda: ["ok"])
    requests: list[dict] = field(default_factory=list)
    auth: list[str] = field(default_factory=list)


def completion(content: str | None) -> dict:
    return {
        "id": "c1",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": content},
            }
        ],
    }


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    state = Server(url="")

    async def chat(request: web.Request) -> web.StreamResponse:
        state.requests.append(await request.json())
        state.auth.append(request.headers.get("Authorization", ""))
        mode = state.mode.pop(0) if len(state.mode) > 1 else state.mode[0]
        if mode == "ok":
            return web.json_response(completion("hello from the server"))
        if mode == "empty":
            return web.json_response(completion(""))
        if mode == "500":
            return web.json_response({"error": {"message": "boom"}}, status=500)
        if mode == "400":
            return web.json_response({"error": {"message": "bad"}}, status=400)
        if mode == "slow":
            await asyncio.sleep(0.4)
            return web.json_response(completion("too late"))
        if mode == "malformed":
            return web.Response(text='{"choices": [', content_type="application/json")
        if mode == "nochoices":
            return web.json_response({"id": "x", "choices": []})
        raise AssertionError(mode)

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    state.url = f"http://127.0.0.1:{port}/v1"
    yield state
    await runner.cleanup()


def client(server: Server, **kw: object) -> OpenAICompatibleClient:
    cfg = LLMConfig(
        base_url=server.url,
        model="test-model",
        timeout_s=kw.pop("timeout_s", 0.3),
        max_retries=kw.pop("max_retries", 0),
        retry_backoff_s=0.01,
        **kw,
    )
    return OpenAICompatibleClient(cfg, api_key=SECRET)


async def test_success(server: Server) -> None:
    c = client(server)
    try:
        answer = await c.complete("say hi", system="be nice")
    finally:
        await c.close()
    assert answer == "hello from the server"
    body = server.requests[0]
    assert body["model"] == "test-model"
    assert body["messages"] == [
        {"role": "system", "content": "be nice"},
        {"role": "user", "content": "say hi"},
    ]
    assert server.auth == [f"Bearer {SECRET}"]


async def test_api_key_from_environment(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GM_TEST_KEY", "env-key-123")
    c = OpenAICompatibleClient(LLMConfig(base_url=server.url, api_key_env="GM_TEST_KEY"))
    try:
        await c.complete("x")
    finally:
        await c.close()
    assert server.auth == ["Bearer env-key-123"]
    assert "env-key-123" not in repr(c)


@pytest.mark.parametrize(
    ("mode", "exc", "text"),
    [
        ("500", LLMError, "HTTP 500"),
        ("400", LLMError, "HTTP 400"),
        ("slow", LLMTimeout, "timed out"),
        ("malformed", LLMError, "malformed"),
        ("nochoices", LLMError, "malformed"),
    ],
)
async def test_failures_raise_llm_errors(server: Server, mode: str, exc: type, text: str) -> None:
    server.mode = [mode]
    c = client(server, timeout_s=0.1)
    try:
        with pytest.raises(exc, match=text) as info:
            await c.complete("x")
    finally:
        await c.close()
    assert SECRET not in str(info.value) and SECRET not in repr(info.value)
    assert info.value.__cause__ is None
    assert info.value.retries == 0  # max_retries=0: sent once


async def test_retries_5xx_then_succeeds(server: Server, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    server.mode = ["500", "500", "ok"]
    c = client(server, max_retries=2)
    try:
        assert await c.complete("x") == "hello from the server"
    finally:
        await c.close()
    assert len(server.requests) == 3
    assert SECRET not in caplog.text


async def test_no_retry_on_4xx(server: Server) -> None:
    server.mode = ["400", "ok"]
    c = client(server, max_retries=2)
    try:
        with pytest.raises(LLMError, match="HTTP 400"):
            await c.complete("x")
    finally:
        await c.close()
    assert len(server.requests) == 1


async def test_bounded_concurrency(server: Server) -> None:
    in_flight = 0
    peak = 0

    class Probe:
        async def __aenter__(self) -> None:
            nonlocal in_flight, peak
            in_flight += 1
            peak = max(peak, in_flight)

        async def __aexit__(self, *a: object) -> None:
            nonlocal in_flight
            in_flight -= 1

    c = client(server, max_concurrency=2)
    real = c._sem

    class Both:
        async def __aenter__(self) -> None:
            await real.__aenter__()
            await Probe().__aenter__()

        async def __aexit__(self, *a: object) -> None:
            await Probe().__aexit__()
            await real.__aexit__(*a)

    c._sem = Both()  # type: ignore[assignment]
    try:
        answers = await asyncio.gather(*(c.complete(str(i)) for i in range(6)))
    finally:
        await c.close()
    assert answers == ["hello from the server"] * 6
    assert peak == 2


@pytest.mark.parametrize(
    ("mode", "outcome"),
    [
        ("ok", "success"),
        ("500", "error"),
        ("slow", "timeout"),
        ("malformed", "error"),
        ("empty", "empty"),
    ],
)
async def test_writer_with_real_client_falls_back(server: Server, mode: str, outcome: str) -> None:
    server.mode = [mode]
    c = client(server, timeout_s=0.1)
    writer = ContentWriter(c)
    try:
        written = await writer.write(make_ctx("hi", mood="curious"), "join_conversation")
    finally:
        await c.close()
    assert written.llm_outcome == outcome
    assert written.source == ("llm" if outcome == "success" else "template")
    assert written.text


def test_config_validation_names_the_field() -> None:
    for kw, field_name in [
        ({"timeout_s": 0}, "llm.timeout_s"),
        ({"base_url": "ftp://x"}, "llm.base_url"),
        ({"max_retries": -1}, "llm.max_retries"),
        ({"max_concurrency": 0}, "llm.max_concurrency"),
        ({"api_key_env": "not a var"}, "llm.api_key_env"),
        ({"model": ""}, "llm.model"),
    ]:
        with pytest.raises(ValueError, match=field_name):
            LLMConfig(**kw)  # type: ignore[arg-type]
    cfg = msgspec.toml.decode(b'model = "m"\ntimeout_s = 3.5\n', type=LLMConfig)
    assert cfg.model == "m" and cfg.timeout_s == 3.5
    with pytest.raises(msgspec.ValidationError, match=r"llm\.timeout_s"):
        msgspec.toml.decode(b"timeout_s = -1\n", type=LLMConfig)
    with pytest.raises(msgspec.ValidationError, match="unknown field `nope`"):
        msgspec.json.decode(json.dumps({"nope": 1}).encode(), type=LLMConfig)
