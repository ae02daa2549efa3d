"""The LLM judge: strict parsing, one batched call per round, the short-lived cache."""

from __future__ import annotations

import asyncio

import pytest

from actions import ActionModifier, BaseAction, JudgeCache, parse_judge_answer
from actions.judge import parse_batch_answer
from tests.actions.actions_testkit import FakeLLM, make_ctx
from tests.fixtures.polling import wait_until_async


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("是", True),
        ("是的", True),
        ("yes", True),
        ("Yes.", True),
        ("YES", True),
        ("True", True),
        ("true", True),
        ("**yes**", True),
        ('"是"', True),
        ("是，用户很难过", True),
        ("Yes, the user asks for help.", True),
        ("yes\nbecause", True),
        ("不是", False),
        ("否", False),
        ("no", False),
        ("No.", False),
        ("", False),
        (None, False),
        ("   ", False),
        ("yesterday", False),
        ("yes and no", False),
        ("是不是", False),
        ("maybe", False),
        ("false", False),
        ("I think yes", False),
        ("asdf!!", False),
    ],
)
def test_parsing_table(answer: str | None, expected: bool) -> None:
    assert parse_judge_answer(answer) is expected


def test_batch_parsing() -> None:
    answer = "comfort: yes\n- `greeting`: 不是\n3. help: TRUE\nextra garbage line\nhelp: no"
    assert parse_batch_answer(answer, ["comfort", "greeting", "help", "missing"]) == {
        "comfort": True,
        "greeting": False,
        "help": True,
        "missing": False,
    }
    assert parse_batch_answer("是", ["only"]) == {"only": True}
    assert parse_batch_answer("yes", ["a", "b"]) == {"a": False, "b": False}
    assert parse_batch_answer("only：是", ["only"]) == {"only": True}


def judged(name: str, prompt: str = "fits?") -> type[BaseAction]:
    async def go_activate(self: BaseAction, llm_judge_model: object = None) -> bool:
        return await self._llm_judge_activation(prompt, llm_judge_model)  # type: ignore[arg-type]

    return type(name.title(), (BaseAction,), {"action_name": name, "go_activate": go_activate})


def by_name(yes: set[str]):
    def answer(prompt: str, system: str | None, purpose: str) -> str:
        names = [line[2:].split(":")[0] for line in prompt.splitlines() if line.startswith("- ")]
        return "\n".join(f"{n}: {'yes' if n in yes else 'no'}" for n in names)

    return answer


async def test_k_judged_actions_one_call() -> None:
    llm = FakeLLM(by_name({"a2", "a4"}))
    classes = [judged(f"a{i}") for i in range(6)]
    modifier = ActionModifier(classes)
    report = await modifier.activate(make_ctx("hi", llm=llm))
    assert len(llm.calls) == 1
    assert report.activated == ["a2", "a4"]
    assert report.inactive["a0"] == "false"
    assert modifier.judge_stats.calls == 1 and modifier.judge_stats.judged == 6
    prompt = llm.calls[0][0]
    assert all(f"- a{i}" in prompt for i in range(6)) and "user 1: hi" in prompt  # pseudonymised


async def test_judge_batches_actions_that_ask_after_other_awaits() -> None:
    class Late(BaseAction):
        action_name = "late"

        async def go_activate(self, llm_judge_model: object = None) -> bool:
            await asyncio.sleep(0.01)
            return await self._llm_judge_activation("late?", llm_judge_model)  # type: ignore

    class Plain(BaseAction):
        action_name = "plain"

    llm = FakeLLM(by_name({"late", "early"}))
    report = await ActionModifier([judged("early"), Late, Plain], judge_window_s=1.0).activate(
        make_ctx("x", llm=llm)
    )
    assert len(llm.calls) == 1
    assert report.activated == ["early", "late", "plain"]


async def test_slow_non_judged_action_delays_judge_only_by_the_window() -> None:
    """The judge call goes out after the window although a non-judged action is still running:
    the LLM answered, and the judged action finished, before the slow one was cancelled."""
    log: list[str] = []

    class Slow(BaseAction):
        action_name = "slow"

        async def go_activate(self, llm_judge_model: object = None) -> bool:
            try:
                await asyncio.Event().wait()  # never answers: cancelled at the timeout
            except asyncio.CancelledError:
                log.append("slow cancelled")
                raise
            return True

    def answer(prompt: str, system: str | None, purpose: str) -> str:
        log.append("judge called")
        return by_name({"j"})(prompt, system, purpose)

    llm = FakeLLM(answer)
    report = await ActionModifier([Slow, judged("j")], timeout_s=1.0, judge_window_s=0.02).activate(
        make_ctx("x", llm=llm)
    )
    assert report.activated == ["j"] and report.outcomes["slow"] == "timeout"
    await wait_until_async(lambda: "slow cancelled" in log, what="the slow action cancelled")
    assert log == ["judge called", "slow cancelled"]


async def test_cache_hit_same_transcript_and_expiry() -> None:
    llm = FakeLLM(by_name({"a", "b"}))
    modifier = ActionModifier([judged("a"), judged("b")], judge_cache_ttl_s=30)
    r1 = await modifier.activate(make_ctx("same words", llm=llm, now=100.0))
    r2 = await modifier.activate(make_ctx("same words", llm=llm, now=110.0))
    assert r1.activated == r2.activated == ["a", "b"]
    assert len(llm.calls) == 1
    assert modifier.judge_stats.cache_hits == 2
    await modifier.activate(make_ctx("other words", llm=llm, now=111.0))
    assert len(llm.calls) == 2
    await modifier.activate(make_ctx("same words", llm=llm, now=200.0))
    assert len(llm.calls) == 3


async def test_llm_error_makes_all_judged_inactive() -> None:
    llm = FakeLLM(lambda *_: ConnectionError("down"))
    modifier = ActionModifier([judged("a"), judged("b")])
    report = await modifier.activate(make_ctx("x", llm=llm))
    assert report.activated == []
    assert report.inactive == {"a": "false", "b": "false"}


async def test_hanging_judge_costs_one_timeout() -> None:
    """Two judged actions share one call to an LLM that never answers: both asked it before the
    deadline, and the round returned at that one deadline, the call still unanswered."""

    class Hanging(FakeLLM):
        async def complete(self, prompt: str, *, system=None, purpose: str = "content") -> str:
            self.calls.append((prompt, system, purpose))
            await asyncio.Event().wait()  # never answers
            raise AssertionError("unreachable")

    llm = Hanging()
    async with asyncio.timeout(10):  # only so a regression cannot hang the suite
        report = await ActionModifier([judged("a"), judged("b")], timeout_s=0.1).activate(
            make_ctx("x", llm=llm)
        )
    assert report.outcomes == {"a": "timeout", "b": "timeout"}
    assert report.durations_s == {"a": 0.1, "b": 0.1}
    assert len(llm.calls) == 1
    assert "- a" in llm.calls[0][0] and "- b" in llm.calls[0][0]  # one batched question


async def test_garbage_batch_answer_is_no() -> None:
    llm = FakeLLM("I cannot decide that, sorry.")
    report = await ActionModifier([judged("a"), judged("b")]).activate(make_ctx("x", llm=llm))
    assert report.activated == []


def test_cache_bounds() -> None:
    cache = JudgeCache(ttl_s=10, max_entries=2)
    cache.put(("a",), 0.0, True)
    cache.put(("b",), 0.0, False)
    cache.put(("c",), 0.0, True)
    assert len(cache) == 2 and cache.get(("a",), 1.0) is None
    assert cache.get(("b",), 1.0) is False and cache.get(("c",), 11.0) is None
    with pytest.raises(ValueError, match="ttl_s must be >= 0"):
        JudgeCache(ttl_s=-1)
