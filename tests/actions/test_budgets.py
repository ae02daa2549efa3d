"""Time budgets nest: a hanging, slow or lying LLM ends in a template inside the execute budget.

Every test runs a real round's execution with the production wiring (`actors.loop.assembly`:
`build_actions` from a `Config`) through the real `OpenAICompatibleClient` against a local fake
server, with the budget scaled down through the configuration (`llm.action_budget_s`). No test
asserts a duration: each asserts what went out, who wrote it and what the observer was told.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from actions import (
    BUILTIN_ACTIONS,
    ActionContext,
    ActionModifier,
    BaseAction,
    BreakSilence,
    ContentWriter,
    ExecutionResult,
    LLMConfig,
    OutgoingMessage,
    RecordingObserver,
)
from actions.content import default_templates
from actions.feeds import Post, PostSource, default_posts
from actions.modifier import DEADLINE_SHARE
from actors.loop.assembly import action_registry, build_actions
from config import Config
from tests.actions.actions_testkit import FakeLLM, decision, make_ctx
from tests.actions.llm_server import HANG, FakeLLMServer, Raw, Slow, completion, fake_llm_server

BUDGET_S = 1.0  # scaled down from 30 s through the configuration


@pytest.fixture
async def server() -> AsyncIterator[FakeLLMServer]:
    async with fake_llm_server() as s:
        yield s


class Events(RecordingObserver):
    """Keeps the reports, and the order of reports and queued messages in `log`."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[str] = []

    def llm_request(self, purpose: str, outcome: str, seconds: float, **kw: Any) -> None:
        super().llm_request(purpose, outcome, seconds, **kw)
        self.log.append(f"llm {purpose} {outcome}")

    def template_fallback(self, action: str) -> None:
        super().template_fallback(action)
        self.log.append(f"fallback {action}")


async def run_round(
    server: FakeLLMServer, action: str = "break_silence", **llm: Any
) -> tuple[ExecutionResult, ActionContext, Events]:
    """One action round, wired as the host wires it, against `server`."""
    settings: dict[str, Any] = {"timeout_s": 5.0, "max_retries": 0, "action_budget_s": BUDGET_S}
    config = Config(llm=server.config(**{**settings, **llm}))
    modifier, writer = build_actions(config, action_registry())
    assert modifier.execute_timeout_s == config.llm.action_budget_s  # type: ignore[union-attr]
    events = Events()
    ctx = make_ctx(
        "anyone here?",
        decision=decision(action if action != "reply" else None),
        addressed=action == "reply",
        llm=writer.llm,
        writer=writer,
        observer=events,
        mood="shy",
    )
    queue = ctx.send

    def send(message: OutgoingMessage) -> None:
        events.log.append(f"queued {message.source}")
        queue(message)

    ctx.send = send  # type: ignore[method-assign]
    try:
        report = await modifier.activate(ctx)
        result = await modifier.execute(report.actions[action])
    finally:
        assert writer.llm is not None
        await writer.llm.close()  # type: ignore[attr-defined]
    return result, ctx, events


def is_template(text: str, action: str) -> bool:
    """`text` is one of the action's shy phrases, its placeholders filled."""
    phrases = default_templates().banks[action]["shy"]
    patterns = [".+".join(map(re.escape, re.split(r"\{\w+\}", p))) for p in phrases]
    return any(re.fullmatch(pattern, text) for pattern in patterns)


def assert_template_went_out(
    result: ExecutionResult, ctx: ActionContext, events: Events, outcome: str, action: str
) -> None:
    assert (result.ok, result.outcome) == (True, "success"), result.reason
    (message,) = ctx.outbox
    assert message.source == "template" and message.action == action
    assert is_template(message.text, action)
    assert f"(LLM {outcome})" in result.reason
    # the failed request was reported, then the fallback, then the message was queued
    assert events.log == [f"llm content {outcome}", f"fallback {action}", "queued template"]
    assert ctx.deadline is None  # only set while execute() runs


async def test_control_a_prompt_answer_is_sent(server: FakeLLMServer) -> None:
    """The same wiring with an LLM that answers: the LLM's words go out."""
    server.script = ["Hello, quiet channel!"]
    result, ctx, events = await run_round(server)
    assert result.ok and [m.text for m in ctx.outbox] == ["Hello, quiet channel!"]
    assert events.log == ["llm content success", "queued llm"]


@pytest.mark.parametrize("action", ["break_silence", "reply", "share_tweet"])
async def test_a_hanging_llm_ends_in_a_template(server: FakeLLMServer, action: str) -> None:
    """The server never answers; its timeout (5 s) is longer than the whole budget."""
    server.script = [HANG]
    result, ctx, events = await run_round(server, action)
    assert_template_went_out(result, ctx, events, "timeout", action)


async def test_a_slow_llm_ends_in_a_template(server: FakeLLMServer) -> None:
    """The answer would come after the budget."""
    server.script = [Slow(BUDGET_S * 3, "too late")]
    result, ctx, events = await run_round(server)
    assert_template_went_out(result, ctx, events, "timeout", "break_silence")
    assert "too late" not in ctx.outbox[0].text


async def test_retries_and_backoff_are_inside_the_budget(server: FakeLLMServer) -> None:
    """Each attempt times out (0.3 s) and is retried after a growing backoff: the client alone
    would take 6 attempts × 0.3 s + 0.2 × 31 s of backoff. The budget cuts it."""
    server.default = lambda body: HANG
    llm = {"timeout_s": 0.3, "max_retries": 5, "retry_backoff_s": 0.2}
    assert LLMConfig(**llm).worst_case_s > BUDGET_S
    result, ctx, events = await run_round(server, **llm)
    assert_template_went_out(result, ctx, events, "timeout", "break_silence")


async def test_a_failing_server_retried_until_the_budget_ends(server: FakeLLMServer) -> None:
    server.default = lambda body: 503
    result, ctx, events = await run_round(server, max_retries=10, retry_backoff_s=0.2)
    assert_template_went_out(result, ctx, events, "timeout", "break_silence")
    assert len(server.requests) > 1  # it was retried


@pytest.mark.parametrize(
    ("reply", "outcome"),
    [
        (Raw('{"choices": [{"message": '), "error"),  # malformed JSON
        (Raw("<!doctype html><html><body>502 Bad Gateway</body></html>", "text/html"), "error"),
        (Raw("<html><body>Welcome to nginx</body></html>"), "error"),  # HTML said to be JSON
        (Raw(""), "error"),  # a 200 with nothing
        (Raw("null"), "error"),
        ({"result": "hello"}, "error"),  # the wrong shape
        ({"choices": "hello"}, "error"),
        ({"choices": []}, "error"),  # no choices
        ({"choices": [{"message": None}]}, "error"),
        ({"choices": [{"message": {"content": 42}}]}, "error"),  # content not a string
        (500, "error"),
        (401, "error"),
        ({"choices": [{"message": {"role": "assistant"}}]}, "empty"),  # no content
        (completion(None), "empty"),
        (completion(""), "empty"),
        (completion("   \n"), "empty"),
        (completion("<think>what should I say"), "empty"),  # cut while thinking
        (completion("guildmind:"), "empty"),  # its name and nothing else
    ],
)
async def test_garbage_ends_in_a_template(
    server: FakeLLMServer, reply: object, outcome: str
) -> None:
    server.script = [reply]  # type: ignore[list-item]
    # these fail fast: a full-size budget keeps the test about the answer, not the clock
    result, ctx, events = await run_round(server, action_budget_s=30.0)
    assert_template_went_out(result, ctx, events, outcome, "break_silence")


async def test_the_writers_deadline_is_inside_the_execute_budget() -> None:
    """The modifier owns the split: the words are due at DEADLINE_SHARE of the budget."""
    seen: list[float] = []

    class Probe(BaseAction):
        action_name = "probe"

        async def execute(self) -> tuple[bool, str]:
            assert self.ctx.deadline is not None
            seen.append(self.ctx.deadline - asyncio.get_running_loop().time())
            return True, "probed"

    ctx = make_ctx("x")
    modifier = ActionModifier([Probe], execute_timeout_s=10.0)
    assert (await modifier.execute(Probe(ctx))).ok
    assert 0 < seen[0] <= 10.0 * DEADLINE_SHARE and ctx.deadline is None
    # an earlier deadline set by the caller wins, and is restored afterwards
    ctx.deadline = asyncio.get_running_loop().time() + 1.0
    before = ctx.deadline
    assert (await modifier.execute(Probe(ctx))).ok
    assert seen[1] <= 1.0 and ctx.deadline == before


async def test_a_deadline_already_past_sends_no_request_and_writes_a_template() -> None:
    llm = FakeLLM("too late anyway")
    events = Events()
    ctx = make_ctx("x", observer=events)
    ctx.deadline = asyncio.get_running_loop().time() - 1.0
    written = await ContentWriter(llm).write(ctx, "break_silence")
    assert (written.source, written.llm_outcome) == ("template", "timeout")
    assert llm.calls == [] and events.log == ["fallback break_silence"]
    ctx.deadline = asyncio.get_running_loop().time() + 60.0  # the control: time left, it asks
    assert (await ContentWriter(llm).write(ctx, "break_silence")).source == "llm"


def test_the_defaults_nest() -> None:
    """At the defaults the client alone could take 31.5 s, more than the 30 s budget: the
    writer's deadline (27 s) cuts it, and the template has the rest."""
    default = LLMConfig()
    assert default.worst_case_s == 31.5 and default.action_budget_s == 30.0
    modifier, writer = build_actions(Config(), action_registry())
    assert modifier.execute_timeout_s == default.action_budget_s and writer.llm is None
    assert writer.timeout_s is None  # no second number: the deadline bounds the writer
    with pytest.raises(ValueError, match=r"llm\.action_budget_s must be in \(0, 600\]"):
        LLMConfig(action_budget_s=0)


async def test_posts_that_do_not_come_in_time_are_replaced_by_shipped_ones(
    server: FakeLLMServer,
) -> None:
    """share_tweet's feeds hang (a fake port): a shipped post is shared within the budget."""

    class HangingFeeds(PostSource):
        async def posts(self, now: float) -> list[Post]:
            await asyncio.Event().wait()
            return []

    server.default = lambda body: HANG
    config = Config(llm=server.config(action_budget_s=BUDGET_S))
    modifier, writer = build_actions(config, action_registry())
    events = Events()
    ctx = make_ctx(decision=decision("share_tweet"), writer=writer, observer=events)
    ctx.posts = HangingFeeds(["https://feeds.example/rss"])
    try:
        report = await modifier.activate(ctx)
        result = await modifier.execute(report.actions["share_tweet"])
    finally:
        await writer.llm.close()  # type: ignore[union-attr]
    assert result.ok, result.reason
    (message,) = ctx.outbox
    shipped = {p.url for p in default_posts()}
    assert message.source == "template" and any(url in message.text for url in shipped)
    # the feeds used the time up: the LLM is not even asked, a template speaks
    assert events.log == ["fallback share_tweet"] and server.requests == []


async def test_a_stalled_loop_still_ends_in_the_template() -> None:
    """The event loop is blocked past both the words deadline and the execute budget (a long
    synchronous call elsewhere in the process): the deadline's timer is due first, so the action
    queues its template before the modifier notices the budget's end."""

    class Never:
        async def complete(
            self, prompt: str, *, system: str | None = None, purpose: str = ""
        ) -> str:
            await asyncio.Event().wait()
            return "never"

    events = Events()
    ctx = make_ctx(decision=decision("break_silence"), observer=events)
    ctx.writer = ContentWriter(Never())
    modifier = ActionModifier(BUILTIN_ACTIONS, execute_timeout_s=0.2)
    stall = asyncio.get_running_loop().call_later(0.05, time.sleep, 0.4)  # past 0.18 and 0.2
    result = await modifier.execute(BreakSilence(ctx))
    assert stall.cancelled() is False
    assert (result.ok, result.outcome) == (True, "success"), result.reason
    assert [m.source for m in ctx.outbox] == ["template"]
    assert events.log == ["llm content timeout", "fallback break_silence"]
