"""ActionModifier: concurrency, per-action timeouts, failures isolated, report and counters."""

from __future__ import annotations

import asyncio
import logging

import pytest

from actions import ActionModifier, BaseAction
from tests.actions.actions_testkit import FakeLLM, make_ctx
from tests.fixtures.polling import wait_until_async


def action(
    name: str,
    result: object = True,
    delay: float = 0.0,
    exc: Exception | None = None,
    priority: int = 0,
) -> type[BaseAction]:
    async def go_activate(self: BaseAction, llm_judge_model: object = None) -> object:
        if delay:
            await asyncio.sleep(delay)
        if exc is not None:
            raise exc
        return result

    return type(
        name.title(),
        (BaseAction,),
        {"action_name": name, "go_activate": go_activate, "priority": priority},
    )


async def test_report_in_registration_order() -> None:
    classes = [action("c", delay=0.02), action("a"), action("b", result=False), action("d")]
    report = await ActionModifier(classes).activate(make_ctx("x"))
    assert report.activated == ["c", "a", "d"]
    assert report.inactive == {"b": "false"}
    assert report.outcomes == {
        "c": "activated",
        "a": "activated",
        "b": "inactive",
        "d": "activated",
    }
    assert set(report.durations_s) == {"a", "b", "c", "d"}
    assert report.durations_s["c"] >= 0.015
    assert set(report.actions) == {"a", "c", "d"}


def hanging(name: str, log: list[str]) -> type[BaseAction]:
    """An action whose `go_activate()` never answers; `log` records its start and cancellation."""

    async def go_activate(self: BaseAction, llm_judge_model: object = None) -> bool:
        log.append(f"start {name}")
        try:
            await asyncio.Event().wait()  # nothing ever sets it
        except asyncio.CancelledError:
            log.append(f"cancelled {name}")
            raise
        return True

    return type(name.title(), (BaseAction,), {"action_name": name, "go_activate": go_activate})


async def test_n_slow_actions_cost_one_timeout(caplog: pytest.LogCaptureFixture) -> None:
    """All slow actions run under one shared deadline: every one started before the first was
    cancelled (one after another, each would be cancelled before the next started)."""
    log: list[str] = []
    classes = [hanging(f"slow{i}", log) for i in range(10)] + [action("fast")]
    modifier = ActionModifier(classes, timeout_s=0.1)
    async with asyncio.timeout(10):  # only so a regression cannot hang the suite
        report = await modifier.activate(make_ctx("x"))
    await wait_until_async(lambda: len(log) == 20, what="every slow action cancelled")
    assert log[:10] == [f"start slow{i}" for i in range(10)]
    assert sorted(log[10:]) == sorted(f"cancelled slow{i}" for i in range(10))
    assert report.activated == ["fast"]
    assert all(report.inactive[f"slow{i}"] == "timeout" for i in range(10))
    assert report.outcomes["slow3"] == "timeout"
    assert report.durations_s["slow3"] == pytest.approx(0.1)
    assert modifier.counters[("slow3", "timeout")] == 1
    assert "action 'slow3': go_activate() timed out after 0.100s" in caplog.text


async def test_concurrent_not_sequential() -> None:
    """Eight actions that each answer only once all eight are running at the same time: run one
    after another, the first would wait for the others forever (and time out)."""
    running, everyone_in = 0, asyncio.Event()

    async def go_activate(self: BaseAction, llm_judge_model: object = None) -> bool:
        nonlocal running
        running += 1
        if running == 8:
            everyone_in.set()
        await everyone_in.wait()
        return True

    classes = [
        type(f"A{i}", (BaseAction,), {"action_name": f"a{i}", "go_activate": go_activate})
        for i in range(8)
    ]
    report = await ActionModifier(classes, timeout_s=5.0).activate(make_ctx())
    assert report.activated == [f"a{i}" for i in range(8)]
    assert set(report.outcomes.values()) == {"activated"}


async def test_raising_action_leaves_others_untouched(caplog: pytest.LogCaptureFixture) -> None:
    classes = [action("ok1"), action("boom", exc=ValueError("bad state")), action("ok2")]
    modifier = ActionModifier(classes)
    report = await modifier.activate(make_ctx())
    assert report.activated == ["ok1", "ok2"]
    assert report.inactive == {"boom": "error: ValueError: bad state"}
    assert report.outcomes["boom"] == "error"
    assert modifier.counters[("boom", "error")] == 1
    assert modifier.counters[("ok1", "activated")] == 1
    assert "action 'boom': go_activate() raised ValueError: bad state" in caplog.text


async def test_non_bool_result_is_an_error() -> None:
    report = await ActionModifier([action("weird", result=None)]).activate(make_ctx())
    assert report.inactive == {"weird": "error: go_activate() returned NoneType, expected bool"}


async def test_constructor_failure_is_contained() -> None:
    class Fragile(BaseAction):
        action_name = "fragile"

        def __init__(self, ctx: object) -> None:
            raise RuntimeError("no")

    report = await ActionModifier([Fragile, action("fine")]).activate(make_ctx())
    assert report.activated == ["fine"]
    assert report.outcomes["fragile"] == "error"


async def test_candidates_restrict_the_round() -> None:
    report = await ActionModifier([action("a"), action("b")]).activate(make_ctx(), ["b"])
    assert report.activated == ["b"] and "a" not in report.outcomes
    empty = await ActionModifier([action("a")]).activate(make_ctx(), [])
    assert empty.activated == [] and empty.outcomes == {}


async def test_modifier_passes_ctx_llm() -> None:
    seen: list[object] = []

    class Spy(BaseAction):
        action_name = "spy"

        async def go_activate(self, llm_judge_model: object = None) -> bool:
            seen.append(llm_judge_model)
            return True

    llm = FakeLLM()
    await ActionModifier([Spy]).activate(make_ctx(llm=llm))
    assert seen == [llm]


async def test_execute_wrapper_contains_failures(caplog: pytest.LogCaptureFixture) -> None:
    class Good(BaseAction):
        action_name = "good"

        async def execute(self) -> tuple[bool, str]:
            await self.send_text("hi")
            return True, "sent"

    class Bad(BaseAction):
        action_name = "bad"

        async def execute(self) -> tuple[bool, str]:
            raise KeyError("x")

    class Slow(BaseAction):
        action_name = "slow"

        async def execute(self) -> tuple[bool, str]:
            await asyncio.sleep(5)
            return True, ""

    ctx = make_ctx()
    modifier = ActionModifier([Good, Bad, Slow])
    report = await modifier.activate(ctx)
    good = await modifier.execute(report.actions["good"])
    assert (good.ok, good.reason, good.outcome) == (True, "sent", "success")
    bad = await modifier.execute(report.actions["bad"])
    assert (bad.ok, bad.outcome) == (False, "error") and "KeyError" in bad.reason
    slow = await modifier.execute(report.actions["slow"], timeout_s=0.05)
    assert (slow.ok, slow.outcome) == (False, "timeout")
    assert modifier.exec_counters[("bad", "error")] == 1
    assert [m.text for m in ctx.outbox] == ["hi"]


async def test_cancel_resistant_action_does_not_hang_the_round() -> None:
    """The round returns at its timeout even when a cancelled action keeps running: the action's
    clean-up waits on `release`, which is set only after the round has returned."""
    log: list[str] = []
    release = asyncio.Event()

    class Stubborn(BaseAction):
        action_name = "stubborn"

        async def go_activate(self, llm_judge_model: object = None) -> bool:
            log.append("start")
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                log.append("cancelled")
                await release.wait()
                log.append("raised")
                raise RuntimeError("raised while cancelled") from None
            return True

    report = await ActionModifier([Stubborn], timeout_s=0.05).activate(make_ctx())
    assert report.outcomes == {"stubborn": "timeout"}
    await wait_until_async(lambda: "cancelled" in log, what="the stubborn action cancelled")
    assert log == ["start", "cancelled"]  # the round returned; the action has not ended yet
    release.set()  # only now may it finish cleaning up (and raise)
    await wait_until_async(lambda: log[-1] == "raised", what="the stubborn action to finish")
    await asyncio.sleep(0)  # its late exception was retrieved: no "never retrieved" warning


def test_bad_settings() -> None:
    with pytest.raises(ValueError, match="timeout_s must be > 0"):
        ActionModifier([], timeout_s=0)


async def test_no_message_text_in_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    from actions import ActionActivationType

    class K(BaseAction):
        action_name = "k"
        activation_type = ActionActivationType.KEYWORD
        activation_keywords = ("pizza",)

    class J(BaseAction):
        action_name = "j"
        activation_type = ActionActivationType.LLM_JUDGE
        llm_judge_prompt = "hungry?"

    ctx = make_ctx("my password is hunter2 and I want pizza", llm=FakeLLM("k: yes\nj: yes"))
    report = await ActionModifier([K, J]).activate(ctx)
    assert report.activated == ["k", "j"]
    assert "hunter2" not in caplog.text
    assert "hunter2" not in repr(ctx) and "hunter2" not in repr(ctx.messages)


async def test_eager_and_suspending_actions_mix() -> None:
    classes = [
        action("sync_ok"),
        action("async_ok", delay=0.01),
        action("sync_err", exc=KeyError("k")),
        action("async_err", delay=0.01, exc=OSError("disk")),
        action("async_no", delay=0.01, result=False),
    ]
    modifier = ActionModifier(classes)
    report = await modifier.activate(make_ctx())
    assert report.activated == ["sync_ok", "async_ok"]
    assert report.inactive == {
        "sync_err": "error: KeyError: 'k'",
        "async_err": "error: OSError: disk",
        "async_no": "false",
    }
    assert report.durations_s["async_ok"] >= 0.009
    assert sum(modifier.counters.values()) == 5
