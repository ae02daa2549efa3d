"""What an LLM prompt carries of a guild's chat: the guild's policy, and never an id."""

from __future__ import annotations

import random

import pytest

from actions import ActionContext, ChatMessage, ContentWriter, PromptPolicy, PromptView
from engine import GuildSettings
from engine.decision import Decision
from tests.actions.actions_testkit import FakeLLM

NOW = 10_000.0
ALICE, BOB, CAROL = 111111111111111111, 222222222222222222, 333333333333333333


def chat() -> list[ChatMessage]:
    return [
        ChatMessage("Alice", "anyone up for a game?", NOW - 3000, 1, ALICE),  # 50 min ago
        ChatMessage("Alice", "hello?", NOW - 300, 2, ALICE),
        ChatMessage("Bob", f"<@{ALICE}> sure! ask alice's friend <@{CAROL}> too", NOW - 200, 3,
                    BOB),
        ChatMessage("Miku", "count me in <:miku:123456789012345678>", NOW - 150, 4, None, True),
        ChatMessage("Alice", "Bob, you're on. See <#444444444444444444> <@&555555555555555555>",
                    NOW - 100, 5, ALICE),
    ]  # fmt: skip


def ctx(policy: PromptPolicy, decision: Decision | None = None) -> ActionContext:
    return ActionContext(
        guild_id=1, channel_id=2, mood="neutral", messages=chat(), decision=decision,
        rng=random.Random(1), now=NOW, bot_name="Miku", prompt=policy,
    )  # fmt: skip


def test_by_default_authors_are_user_1_user_2_and_no_id_or_name_is_left() -> None:
    view = PromptView(ctx(PromptPolicy()))
    assert view.lines == [
        "user 1: hello?",
        "user 2: user 1 sure! ask user 1's friend someone too",
        "Miku: count me in :miku:",
        "user 1: user 2, you're on. See #channel @role",
    ]  # the first line is 50 min old: beyond the default 30
    text = "\n".join(view.lines)
    assert "Alice" not in text and "alice" not in text and "Bob" not in text
    assert not any(ch.isdigit() and len(w) > 6 for w in text.split() for ch in w)


def test_names_when_the_guild_allows_them_still_without_ids() -> None:
    view = PromptView(ctx(PromptPolicy(names=True, max_age_s=3600)))
    assert view.lines[0] == "Alice: anyone up for a game?"
    assert view.lines[2] == "Bob: Alice sure! ask alice's friend someone too"
    assert "111111111111111111" not in "\n".join(view.lines)


def test_lines_and_age_are_capped_and_the_transcript_can_be_withheld() -> None:
    assert [ln.split(":")[0] for ln in PromptView(ctx(PromptPolicy(lines=2))).lines] == [
        "Miku",
        "user 1",
    ]
    assert len(PromptView(ctx(PromptPolicy(max_age_s=120))).lines) == 1
    assert PromptView(ctx(PromptPolicy(transcript=False))).lines == []


def test_the_policy_comes_from_the_guilds_settings() -> None:
    s = GuildSettings(prompt_transcript=False, prompt_lines=3, prompt_max_age_s=600,
                      prompt_names=True)  # fmt: skip
    assert PromptPolicy.of(s) == PromptPolicy(False, 3, 600.0, True)
    assert "only why the bot speaks" in PromptPolicy.of(s).describe()


def engage(user: int) -> Decision:
    return Decision(guild_id=1, at=NOW, action="engage_user", user_id=user, activity="Celeste",
                    reason="a member started 'Celeste' 1m ago",
                    signals={"momentum": 0.1, "messages_hour": 4.0})  # fmt: skip


async def test_the_llm_greets_an_alias_and_the_member_gets_the_ping() -> None:
    llm = FakeLLM(lambda prompt, system, purpose: "Hey user 1, how is Celeste? user 2 says hi")
    writer = ContentWriter(llm)
    written = await writer.write(ctx(PromptPolicy(), engage(ALICE)), "engage_user")
    [(prompt, _, _)] = llm.calls
    assert "Greet user 1" in prompt and str(ALICE) not in prompt and "Alice" not in prompt
    assert written.text == f"Hey <@{ALICE}>, how is Celeste? Bob says hi"
    # someone who wrote nothing here gets an alias of their own, and the ping all the same
    llm2 = FakeLLM("Welcome to the game!")
    written = await ContentWriter(llm2).write(ctx(PromptPolicy(), engage(CAROL)), "engage_user")
    assert "Greet user 3" in llm2.calls[0][0] and str(CAROL) not in llm2.calls[0][0]
    assert written.text == f"<@{CAROL}> Welcome to the game!"


async def test_without_the_transcript_the_prompt_has_only_the_decisions_reason_and_signals() -> (
    None
):
    llm = FakeLLM("hi!")
    await ContentWriter(llm).write(
        ctx(PromptPolicy(transcript=False), engage(ALICE)), "engage_user"
    )
    [(prompt, _, _)] = llm.calls
    assert "not shared by this server" in prompt and "momentum 0.1, messages_hour 4" in prompt
    assert "Why you speak now: a member started 'Celeste'" in prompt
    for said in ("game?", "hello?", "sure!", "count me in", "you're on"):
        assert said not in prompt


@pytest.mark.parametrize("names", [False, True])
def test_restore_leaves_an_answer_without_aliases_alone(names: bool) -> None:
    view = PromptView(ctx(PromptPolicy(names=names)))
    assert view.restore("nothing to map here, user 99") == "nothing to map here, user 99"
