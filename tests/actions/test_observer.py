"""The observer port: each LLM request of the writer, the judge and the planner is reported once,
with its purpose, outcome, duration, retries and tokens (the server's, or marked estimates)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

import actions.observer
from actions import (
    BUILTIN_ACTIONS,
    ActionActivationType,
    ActionModifier,
    BaseAction,
    ContentWriter,
    LLMPlanner,
    LLMRequest,
    RecordingObserver,
    ask_llm,
)
from actions.builtin import writer_for
from actions.observer import UNOBSERVED, estimate_tokens
from tests.actions.actions_testkit import FakeLLM, decision, make_ctx
from tests.actions.llm_server import HANG, FakeLLMServer, fake_llm_server


@pytest.fixture
async def server() -> AsyncIterator[FakeLLMServer]:
    async with fake_llm_server() as s:
        yield s


def judged(name: str) -> type[BaseAction]:
    return type(
        f"J_{name}",
        (BaseAction,),
        {
            "action_name": name,
            "action_description": f"does {name}",
            "activation_type": ActionActivationType.LLM_JUDGE,
            "llm_judge_prompt": f"Should {name} happen?",
        },
    )


def summary(seen: RecordingObserver) -> list[tuple[str, str]]:
    return [(r.purpose, r.outcome) for r in seen.requests]


# -- the content writer, through the real OpenAI-compatible client --------------------------------


async def test_a_content_request_reports_the_servers_usage(server: FakeLLMServer) -> None:
    server.script = [("Hello there!", 321, 7)]
    client, seen = server.client(), RecordingObserver()
    try:
        written = await ContentWriter(client).write(make_ctx("hi", observer=seen), "reply")
    finally:
        await client.close()
    assert (written.text, written.source) == ("Hello there!", "llm")
    (request,) = seen.requests
    assert (request.purpose, request.outcome, request.retries) == ("content", "success", 0)
    assert (request.prompt_tokens, request.completion_tokens) == (321, 7)
    assert not request.tokens_estimated and request.seconds > 0
    assert seen.fallbacks == [] and seen.verdicts == {"llm": 0, "cache": 0}


async def test_without_usage_the_tokens_are_estimated_and_marked(server: FakeLLMServer) -> None:
    server.script = ["Hi all, what's up?"]
    client, seen = server.client(), RecordingObserver()
    try:
        await ContentWriter(client).write(make_ctx("hi", observer=seen), "reply")
    finally:
        await client.close()
    (request,) = seen.requests
    system, prompt = (m["content"] for m in server.requests[0]["messages"])
    assert request.outcome == "success" and request.tokens_estimated
    assert request.prompt_tokens == estimate_tokens(prompt) + estimate_tokens(system) > 0
    assert request.completion_tokens == estimate_tokens("Hi all, what's up?") == 5


async def test_a_timeout_is_reported_with_its_retries(server: FakeLLMServer) -> None:
    server.script = [HANG, HANG]
    client, seen = server.client(timeout_s=0.1, max_retries=1), RecordingObserver()
    try:
        written = await ContentWriter(client).write(make_ctx("hi", observer=seen), "break_silence")
    finally:
        await client.close()
    assert (written.source, written.llm_outcome) == ("template", "timeout")
    assert len(server.requests) == 2  # the first try and one retry: one request reported
    (request,) = seen.requests
    assert (request.purpose, request.outcome, request.retries) == ("content", "timeout", 1)
    assert (request.prompt_tokens, request.completion_tokens, request.tokens_estimated) == (
        0,
        0,
        False,
    )
    assert seen.fallbacks == ["break_silence"]


async def test_a_retried_request_that_succeeds(server: FakeLLMServer) -> None:
    server.script = [500, 503, ("ok then", 40, 2)]
    client, seen = server.client(max_retries=2), RecordingObserver()
    try:
        await ContentWriter(client).write(make_ctx("hi", observer=seen), "reply")
    finally:
        await client.close()
    assert [(r.outcome, r.retries, r.prompt_tokens) for r in seen.requests] == [("success", 2, 40)]


@pytest.mark.parametrize(("reply", "outcome"), [(400, "error"), ("   ", "empty")])
async def test_errors_and_empty_answers_fall_back(
    server: FakeLLMServer, reply: str | int, outcome: str
) -> None:
    server.script = [reply]
    client, seen = server.client(), RecordingObserver()
    try:
        written = await ContentWriter(client).write(make_ctx("hi", observer=seen), "reply")
    finally:
        await client.close()
    assert written.llm_outcome == outcome and written.source == "template"
    assert summary(seen) == [("content", outcome)] and seen.fallbacks == ["reply"]


async def test_the_duration_is_the_requests_not_the_executes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The action works 7 s before and 1 s after its 2.5 s request (on a fake clock)."""
    now = [1000.0]
    monkeypatch.setattr(actions.observer, "perf_counter", lambda: now[0])

    def answer(prompt: str, system: str | None, purpose: str) -> str:
        now[0] += 2.5
        return "words"

    class Slow(BaseAction):
        action_name = "slow_writer"

        async def execute(self) -> tuple[bool, str]:
            now[0] += 7.0
            written = await writer_for(self.ctx).write(self.ctx, self.action_name)
            now[0] += 1.0
            await self.send_text(written.text, source=written.source)
            return True, "sent"

    seen = RecordingObserver()
    ctx = make_ctx("hi", llm=FakeLLM(answer), observer=seen)
    result = await ActionModifier([Slow]).execute(Slow(ctx))
    assert result.ok and ctx.outbox[0].text == "words"
    assert [r.seconds for r in seen.requests] == [2.5]


async def test_a_plain_llm_client_gets_estimated_tokens() -> None:
    seen = RecordingObserver()
    reply = await ask_llm(
        FakeLLM("abcdefgh"), "12345678", system="1234", purpose="plan", observer=seen
    )
    assert (reply.text, reply.outcome) == ("abcdefgh", "success")
    [request] = seen.requests
    assert request == LLMRequest("plan", "success", request.seconds, 0, 3, 2, True)


async def test_a_context_without_observer_reports_nowhere() -> None:
    ctx = make_ctx("hi", llm=FakeLLM("sure"))
    assert ctx.observer is UNOBSERVED
    assert (await ContentWriter(ctx.llm).write(ctx, "reply")).text == "sure"


# -- the judge ------------------------------------------------------------------------------------


async def test_a_judge_answer_that_cannot_be_read_is_garbage(server: FakeLLMServer) -> None:
    server.script = [("I think so, maybe", 50, 5)]
    client, seen = server.client(), RecordingObserver()
    modifier = ActionModifier([judged("a"), judged("b")])
    try:
        report = await modifier.activate(make_ctx("x", llm=client, observer=seen))
        # the same transcript again: both verdicts come from the cache, no request
        again = await modifier.activate(make_ctx("x", llm=client, observer=seen))
    finally:
        await client.close()
    assert report.activated == [] and again.activated == []
    assert len(server.requests) == 1
    (request,) = seen.requests
    assert (request.purpose, request.outcome) == ("judge", "garbage")
    assert (request.prompt_tokens, request.completion_tokens) == (50, 5)
    assert seen.verdicts == {"llm": 2, "cache": 2}


@pytest.mark.parametrize(
    ("answer", "outcome", "activated"),
    [
        ("a: yes\nb: no", "success", ["a"]),
        ("a: yes", "garbage", ["a"]),  # b has no line: no, and the answer is partly unreadable
        ("a: 是\nb: 不是", "success", ["a"]),
        ("", "empty", []),
    ],
)
async def test_judge_outcomes(answer: str, outcome: str, activated: list[str]) -> None:
    seen = RecordingObserver()
    report = await ActionModifier([judged("a"), judged("b")]).activate(
        make_ctx("x", llm=FakeLLM(answer), observer=seen)
    )
    assert report.activated == activated
    assert summary(seen) == [("judge", outcome)] and seen.verdicts["llm"] == 2


async def test_a_failing_judge_is_an_error_and_its_verdicts_are_no() -> None:
    seen = RecordingObserver()
    report = await ActionModifier([judged("a")]).activate(
        make_ctx("x", llm=FakeLLM(lambda *_: RuntimeError("down")), observer=seen)
    )
    assert report.activated == [] and report.outcomes == {"a": "inactive"}
    assert summary(seen) == [("judge", "error")] and seen.verdicts == {"llm": 1, "cache": 0}


async def test_a_judge_request_cut_off_by_the_deadline_is_cancelled() -> None:
    class Hanging(FakeLLM):
        async def complete(self, prompt: str, *, system=None, purpose: str = "content") -> str:
            self.calls.append((prompt, system, purpose))
            await asyncio.Event().wait()  # never answers
            raise AssertionError("unreachable")

    seen, llm = RecordingObserver(), Hanging()
    async with asyncio.timeout(10):  # only so a regression cannot hang the suite
        report = await ActionModifier([judged("a")], timeout_s=0.05).activate(
            make_ctx("x", llm=llm, observer=seen)
        )
        assert report.outcomes == {"a": "timeout"} and len(llm.calls) == 1
        while not seen.requests:  # the request's task unwinds on the loop's next turns
            await asyncio.sleep(0)
    assert summary(seen) == [("judge", "cancelled")]
    assert seen.verdicts == {"llm": 0, "cache": 0}  # no verdict came


# -- the planner -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "outcome", "chosen"),
    [
        (("reply", 60, 1), "success", "reply"),
        (("`Reply`.", 60, 2), "success", "reply"),
        (("both, I'd say", 60, 4), "garbage", "join_conversation"),
        (500, "error", "join_conversation"),
    ],
)
async def test_llm_planner_requests(
    server: FakeLLMServer, reply: tuple[str, int, int] | int, outcome: str, chosen: str
) -> None:
    server.script = [reply]
    client, seen = server.client(), RecordingObserver()
    ctx = make_ctx("hey", decision=decision("join_conversation"), addressed=True, observer=seen)
    report = await ActionModifier(BUILTIN_ACTIONS).activate(ctx)
    try:
        assert await LLMPlanner(client).plan(ctx, report) == chosen  # else the engine's choice
    finally:
        await client.close()
    (request,) = seen.requests
    assert (request.purpose, request.outcome) == ("plan", outcome)
    assert request.prompt_tokens == (60 if outcome != "error" else 0)


async def test_one_activated_action_needs_no_planner_request() -> None:
    seen, llm = RecordingObserver(), FakeLLM("reply")
    ctx = make_ctx("hey", addressed=True, observer=seen)
    report = await ActionModifier(BUILTIN_ACTIONS).activate(ctx)
    assert await LLMPlanner(llm).plan(ctx, report) == "reply"
    assert llm.calls == [] and seen.requests == []
