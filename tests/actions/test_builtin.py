"""Built-in actions, the planner and the content writer (templates, LLM, fallback)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from actions import (
    BUILTIN_ACTIONS,
    ActionContext,
    ActionModifier,
    ChatMessage,
    ContentWriter,
    LLMTimeout,
    PostSource,
    RecordingObserver,
    RulePlanner,
    TemplateBank,
    make_planner,
)
from actions.content import BUILTIN_CONTENT, REQUIRED_MOODS, build_prompt, default_templates
from actions.planner import LLMPlanner
from engine.decision import ACTIONS
from tests.actions.actions_testkit import FakeLLM, decision, make_ctx


def test_builtin_names_cover_engine_actions() -> None:
    assert [c.action_name for c in BUILTIN_ACTIONS] == [*ACTIONS, "reply"]


def test_templates_cover_every_action_and_mood() -> None:
    bank = default_templates()
    for action in BUILTIN_CONTENT:
        for mood in REQUIRED_MOODS:
            assert bank.banks[action][mood], (action, mood)
    assert bank.phrases("reply", "some-custom-mood") == bank.banks["reply"]["neutral"]
    assert bank.phrases("plugin_action", "bubbly") == bank.banks["generic"]["neutral"]


def test_template_bank_validation() -> None:
    with pytest.raises(ValueError, match="'x' needs a 'neutral' list"):
        TemplateBank({"x": {"bubbly": ["hi"]}})
    with pytest.raises(ValueError, match=r"'x'.'shy' must be a non-empty list"):
        TemplateBank({"x": {"neutral": ["hi"], "shy": []}})


@pytest.mark.parametrize("name", ACTIONS)
async def test_engine_action_activates_only_when_decided(name: str) -> None:
    modifier = ActionModifier(BUILTIN_ACTIONS)
    report = await modifier.activate(make_ctx("x", decision=decision(name)))
    assert report.activated == [name]
    report = await modifier.activate(make_ctx("x", decision=decision(None)))
    assert report.activated == []


async def test_reply_when_addressed() -> None:
    """The source decides what addresses the bot (its name included: `says_name`); `reply`
    follows ``ctx.addressed`` and does not read the name in the text again."""
    modifier = ActionModifier(BUILTIN_ACTIONS)
    assert (await modifier.activate(make_ctx("hi", addressed=True))).activated == ["reply"]
    addressed = make_ctx("ミクさん、どう思う？", bot_name="ミク", addressed=True)
    assert (await modifier.activate(addressed)).activated == ["reply"]
    # the name in a message the source did not count (forwarded text, code, a link) or in an
    # engine round after the named message was answered: no second reply
    for text in ["hey Miku, how are you?", "`miku.sing()`", "https://miku.example.com"]:
        ctx = make_ctx(text, bot_name="Miku")
        assert (await modifier.activate(ctx)).activated == []


async def test_planner_prefers_engine_choice_then_priority() -> None:
    modifier = ActionModifier(BUILTIN_ACTIONS)
    ctx = make_ctx("hey", decision=decision("join_conversation"), addressed=True)
    report = await modifier.activate(ctx)
    assert report.activated == ["join_conversation", "reply"]
    assert await RulePlanner().plan(ctx, report) == "join_conversation"
    ctx2 = make_ctx("hey", addressed=True)
    assert await RulePlanner().plan(ctx2, await modifier.activate(ctx2)) == "reply"
    empty = make_ctx("hey")
    assert await RulePlanner().plan(empty, await modifier.activate(empty)) is None


async def test_llm_planner_and_fallback() -> None:
    modifier = ActionModifier(BUILTIN_ACTIONS)
    ctx = make_ctx("hey", decision=decision("join_conversation"), addressed=True)
    report = await modifier.activate(ctx)
    assert await LLMPlanner(FakeLLM("reply")).plan(ctx, report) == "reply"
    garbage = LLMPlanner(FakeLLM("I'd say both"))
    ctx.observer = seen = RecordingObserver()
    assert await garbage.plan(ctx, report) == "join_conversation"
    assert [(r.purpose, r.outcome) for r in seen.requests] == [("plan", "garbage")]
    failing = LLMPlanner(FakeLLM(lambda *_: RuntimeError("x")))
    assert await failing.plan(ctx, report) == "join_conversation"
    assert isinstance(make_planner(), RulePlanner)
    with pytest.raises(ValueError, match="planner 'llm' needs an LLM"):
        make_planner("llm")
    with pytest.raises(ValueError, match="planner must be 'rules' or 'llm', got 'magic'"):
        make_planner("magic")


@pytest.mark.parametrize("name", [*ACTIONS, "reply"])
async def test_each_builtin_executes_with_templates(name: str) -> None:
    ctx = make_ctx(
        "hello",
        decision=decision(name, user_id=42, activity="Tetris"),
        addressed=True,
        mood="bubbly",
    )
    modifier = ActionModifier(BUILTIN_ACTIONS)
    report = await modifier.activate(ctx)
    result = await modifier.execute(report.actions[name])
    assert result.ok, result.reason
    (msg,) = ctx.outbox
    assert msg.action == name and msg.source == "template" and msg.text
    assert "{" not in msg.text
    if name == "engage_user":
        assert "<@42>" in msg.text and "Tetris" in msg.text
    if name == "reply":
        assert msg.reply_to == 100


async def test_share_tweet_from_local_file(tmp_path: Path) -> None:
    f = tmp_path / "posts.txt"
    f.write_text("# comment\nA fine post | https://example.org/fine\n", encoding="utf-8")
    ctx = make_ctx(decision=decision("share_tweet"), posts=PostSource(file=f))
    modifier = ActionModifier(BUILTIN_ACTIONS)
    report = await modifier.activate(ctx)
    assert (await modifier.execute(report.actions["share_tweet"])).ok
    assert "https://example.org/fine" in ctx.outbox[0].text


async def test_share_tweet_default_list() -> None:
    ctx = make_ctx(decision=decision("share_tweet"))
    modifier = ActionModifier(BUILTIN_ACTIONS)
    report = await modifier.activate(ctx)
    assert (await modifier.execute(report.actions["share_tweet"])).ok
    assert "https://" in ctx.outbox[0].text


async def test_writer_uses_llm_and_prompt_parts() -> None:
    llm = FakeLLM('Miku: "hello friends!"')
    ctx = make_ctx(
        "what a day",
        decision=decision("join_conversation", reason="momentum 0.8"),
        llm=llm,
        bot_name="Miku",
        persona="A cheerful singer.",
        mood="excited",
        observer=(seen := RecordingObserver()),
    )
    writer = ContentWriter(llm)
    written = await writer.write(ctx, "join_conversation")
    assert (written.text, written.source, written.llm_outcome) == (
        "hello friends!",
        "llm",
        "success",
    )
    prompt, system, purpose = llm.calls[0]
    assert purpose == "content" and "A cheerful singer." in system and "excited" in system
    assert "momentum 0.8" in prompt and "user 1: what a day" in prompt  # pseudonymised
    assert [(r.purpose, r.outcome) for r in seen.requests] == [("content", "success")]
    assert seen.fallbacks == []


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [
        ("", "empty"),
        ("   ", "empty"),
        (RuntimeError("500"), "error"),
        (LLMTimeout("t"), "timeout"),
    ],
)
async def test_writer_falls_back_to_templates(answer: object, outcome: str) -> None:
    llm = FakeLLM(lambda *_: answer)
    writer = ContentWriter(llm)
    seen = RecordingObserver()
    written = await writer.write(make_ctx("x", mood="shy", observer=seen), "break_silence")
    assert written.source == "template" and written.llm_outcome == outcome and written.fell_back
    assert written.text in default_templates().banks["break_silence"]["shy"]
    assert [(r.purpose, r.outcome) for r in seen.requests] == [("content", outcome)]
    assert seen.fallbacks == ["break_silence"]


async def test_writer_timeout_guard() -> None:
    writer = ContentWriter(FakeLLM("late", delay=5), timeout_s=0.05)
    written = await writer.write(make_ctx("x"), "reply")
    assert written.llm_outcome == "timeout" and written.source == "template"


async def test_writer_without_llm() -> None:
    writer = ContentWriter()
    seen = RecordingObserver()
    written = await writer.write(make_ctx("x", mood="asleep-ish", observer=seen), "reply")
    assert written.source == "template" and written.llm_outcome == "none"
    assert not written.fell_back and seen.requests == [] and seen.fallbacks == []


def test_build_prompt_quiet_channel() -> None:
    system, prompt = build_prompt(make_ctx(), "break_silence", {})
    assert "(the channel is quiet)" in prompt and "quiet for a while" in prompt
    assert "neutral" in system


async def test_builtins_concurrently_share_one_writer() -> None:
    ctxs = [make_ctx("x", decision=decision("fomo_response"), seed=i) for i in range(5)]
    modifier = ActionModifier(BUILTIN_ACTIONS)
    reports = await asyncio.gather(*(modifier.activate(c) for c in ctxs))
    results = await asyncio.gather(*(modifier.execute(r.actions["fomo_response"]) for r in reports))
    assert all(r.ok for r in results)
    assert all(len(c.outbox) == 1 for c in ctxs)


def test_the_addressing_message_is_the_one_that_addressed_the_bot_else_the_latest() -> None:
    chat = [
        ChatMessage("ann", "Miku, thoughts?", message_id=1, author_id=7),
        ChatMessage("bob", "lol", message_id=2, author_id=8),
        ChatMessage("Miku", "hi", message_id=3, author_id=99, is_bot=True),
    ]
    asked = ActionContext(1, 2, "neutral", messages=chat, addressed=True, addressed_by=1)
    assert asked.addressing_message is chat[0]
    assert asked.last_message is chat[1]  # the control: the newest human message is bob's
    unknown = ActionContext(1, 2, "neutral", messages=chat, addressed=True, addressed_by=42)
    assert unknown.addressing_message is chat[1]  # not in the transcript any more: the latest
    assert ActionContext(1, 2, "neutral", messages=chat).addressing_message is chat[1]
    assert ActionContext(1, 2, "neutral").addressing_message is None
