"""The hello_world plugin: the guide's examples, loaded through the registry and exercised."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from actions import ActionModifier, ActionRegistry, RulePlanner
from tests.actions.actions_testkit import FakeLLM, make_ctx

PLUGINS = Path(__file__).resolve().parents[2] / "plugins"
NAMES = [
    "greeting",
    "comfort",
    "random_emoji",
    "flexible",
    "advanced",
    "always_active",
    "never_active",
    "old_style",
    "new_style",
]


@pytest.fixture(scope="module")
def modifier() -> ActionModifier:
    registry = ActionRegistry()
    assert registry.load_folder(PLUGINS) == []
    assert registry.names == NAMES
    return ActionModifier(registry)


def at(hour: int) -> float:
    return datetime(2026, 3, 2, hour, 30, tzinfo=UTC).timestamp()


async def test_greeting_and_old_vs_new_style(modifier: ActionModifier) -> None:
    report = await modifier.activate(make_ctx("Hello everyone", seed=5, now=at(22)))
    assert {"greeting", "old_style", "new_style", "always_active"} <= set(report.activated)
    report = await modifier.activate(make_ctx("good night", seed=5, now=at(22)))
    assert not {"greeting", "old_style", "new_style"} & set(report.activated)
    assert report.inactive["never_active"] == "false"


async def test_comfort_by_judge_with_one_call(modifier: ActionModifier) -> None:
    llm = FakeLLM("comfort: 是\nadvanced: no")
    report = await modifier.activate(make_ctx("I feel so sad, help me please", now=at(10), llm=llm))
    assert "comfort" in report.activated and "advanced" not in report.activated
    assert len(llm.calls) == 1 and "- advanced" in llm.calls[0][0]
    llm2 = FakeLLM("comfort: 不是")
    report = await modifier.activate(make_ctx("what a great day", now=at(10), llm=llm2))
    assert "comfort" not in report.activated


async def test_advanced_time_window(modifier: ActionModifier) -> None:
    llm = FakeLLM("advanced: yes\ncomfort: no")
    assert (
        "advanced"
        in (
            await modifier.activate(make_ctx("can anyone help me with this?", now=at(10), llm=llm))
        ).activated
    )
    assert (
        "advanced"
        not in (
            await modifier.activate(make_ctx("can anyone help me with this?", now=at(20), llm=llm))
        ).activated
    )
    assert (
        "advanced" not in (await modifier.activate(make_ctx("help", now=at(10), llm=llm))).activated
    )
    late_tz = make_ctx(
        "can anyone help me with that?",
        now=at(10),
        llm=llm,
        config={"advanced": {"timezone": "America/Los_Angeles"}},
    )
    assert "advanced" not in (await modifier.activate(late_tz)).activated


async def test_random_emoji_about_ten_percent(modifier: ActionModifier) -> None:
    hits = 0
    for seed in range(300):
        report = await modifier.activate(make_ctx("x", seed=seed), ["random_emoji"])
        hits += report.activated == ["random_emoji"]
    assert 15 <= hits <= 50
    ctx = make_ctx("x", seed=1)
    report = await modifier.activate(ctx, ["always_active", "random_emoji"])
    ok = await modifier.execute(modifier.classes[2](ctx))
    assert ok.ok and ctx.outbox[-1].kind == "emoji"
    assert report.outcomes["always_active"] == "activated"


async def test_flexible_keyword_and_execute(modifier: ActionModifier) -> None:
    ctx = make_ctx("send an EMOJI please", seed=0)
    report = await modifier.activate(ctx, ["flexible", "greeting"])
    assert report.activated == ["flexible"]
    result = await modifier.execute(report.actions[await RulePlanner().plan(ctx, report)])
    assert result.ok and ctx.outbox[0].text.startswith("A flexible")


def test_importable_as_a_package() -> None:
    import plugins.hello_world as hw

    registry = ActionRegistry()
    registry.setup_plugin(hw.setup, "plugins.hello_world")
    assert registry.names == NAMES
