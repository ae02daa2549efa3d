"""MoFox-Bot actions in guildmind rounds: activation and execution, with hand-built contexts.

The plugins are the MoFox-shaped fixtures of ``mofox_plugins/`` (only their imports point at
guildmind). Rounds run through `ActionModifier` and through the runtime's `RoundRunner`.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import random
from pathlib import Path
from typing import ClassVar

import msgspec
import pytest

from actions import (
    BUILTIN_ACTIONS,
    ActionContext,
    ActionModifier,
    ActionRegistry,
    ChatMessage,
    ContentWriter,
    RecordingObserver,
)
from actions.mofox import BaseAction
from actions.mofox.base.base_action import DEFAULT_JUDGE_QUESTION
from actions.mofox.chat import reply_target
from actors.loop.guild_loop import Round
from actors.loop.rounds import RoundRunner
from actors.loop.transcripts import Transcripts
from actors.routing.wire import Line
from engine import GuildState, MessageEvent
from metrics import GuildmindMetrics, new_registry
from tests.actions.actions_testkit import FakeLLM, decision

FIXTURES = Path(__file__).parent / "mofox_plugins"
NOW = 1_700_000_000.0


SEED_WAVES = 1
"""A seed whose first roll is below 0.5: ``wave`` activates."""


def registry(builtins: bool = True) -> ActionRegistry:
    r = ActionRegistry(BUILTIN_ACTIONS if builtins else ())
    assert r.load_folder(FIXTURES) == []
    return r


def only(*names: str) -> ActionRegistry:
    """The fixtures' registered actions `names`, alone."""
    full = registry()
    return ActionRegistry([full.get(n) for n in names])  # type: ignore[misc]


def ctx(*lines: tuple[str, str], llm=None, addressed=False, seed=1, **kw) -> ActionContext:
    """A round's context: (author, text) messages, ids 100, 101, ... and authors 10, 11, ..."""
    authors: dict[str, int] = {}
    messages = [
        ChatMessage(
            who, text, at=NOW - 60 + i, message_id=100 + i,
            author_id=authors.setdefault(who, 10 + len(authors)),
        )
        for i, (who, text) in enumerate(lines)
    ]  # fmt: skip
    return ActionContext(
        guild_id=1, channel_id=2, mood="neutral", messages=messages, llm=llm,
        rng=random.Random(seed), now=NOW, addressed=addressed, **kw,
    )  # fmt: skip


async def activated(c: ActionContext, *names: str) -> list[str]:
    report = await ActionModifier(registry()).activate(c, candidates=names or None)
    return report.activated


async def run(c: ActionContext, name: str, reg: ActionRegistry | None = None):
    modifier = ActionModifier(reg or registry())
    report = await modifier.activate(c, candidates=[name])
    assert report.activated == [name], report.inactive
    return await modifier.execute(report.actions[name])


# -- activation -------------------------------------------------------------------------------


async def test_the_guides_old_go_activate_signature_gets_the_transcript() -> None:
    assert await activated(ctx(("ana", "Hello there!")), "greet") == ["greet"]
    assert await activated(ctx(("ana", "你好呀")), "greet") == ["greet"]
    # the transcript is matched as guildmind matches keywords: whole words, people only
    assert await activated(ctx(("ana", "this is shipping")), "greet") == []
    bot = ActionContext(1, 2, "neutral", messages=[ChatMessage("bot", "hello", is_bot=True)])
    assert await activated(bot, "greet") == []


async def test_the_legacy_two_mode_types_read_focus_when_addressed_and_normal_otherwise() -> None:
    # normal chat (nobody addressed the bot): KEYWORD, no LLM asked
    judge = FakeLLM("tts_action: yes")
    assert await activated(ctx(("ana", "tts please"), llm=judge), "tts_action") == ["tts_action"]
    assert await activated(ctx(("ana", "nice weather"), llm=judge), "tts_action") == []
    assert judge.calls == []
    # focus chat (addressed): LLM_JUDGE, whatever the keywords
    yes = ctx(("ana", "bot, say something"), llm=judge, addressed=True)
    assert await activated(yes, "tts_action") == ["tts_action"]
    assert len(judge.calls) == 1
    no = ctx(("ana", "bot, tts please"), llm=FakeLLM("tts_action: no"), addressed=True)
    assert await activated(no, "tts_action") == []


async def test_the_judge_without_a_prompt_asks_about_the_description_and_requirements() -> None:
    judge = FakeLLM("comfort: 是")
    c = ctx(("ana", "I feel so down today"), llm=judge, addressed=True)
    assert await activated(c, "comfort") == ["comfort"]
    [(prompt, _system, purpose)] = judge.calls
    assert purpose == "judge"
    assert "- comfort: Comfort someone who feels low." in prompt
    assert "use when: someone is sad; someone needs support" in prompt
    assert f"question: {DEFAULT_JUDGE_QUESTION}" in prompt
    assert "user 1: I feel so down today" in prompt  # pseudonymised


async def test_mode_enable_and_chat_type_allow_keep_an_action_out_of_rounds() -> None:
    judge = FakeLLM("comfort: yes")
    # comfort is FOCUS-only: not offered, and the LLM is not asked, when nobody addressed the bot
    assert await activated(ctx(("ana", "I feel low"), llm=judge), "comfort") == []
    assert judge.calls == []
    # whisper is for private chats: a guild channel never offers it (its activation is ALWAYS)
    assert await activated(ctx(("ana", "psst"), addressed=True), "whisper") == []


async def test_legacy_keyword_and_random_types_and_the_namespaced_reply() -> None:
    c = ctx(("ana", "a question for you"), addressed=True)
    assert "greetings_plugin.reply" in await activated(c)
    assert await activated(ctx(("ana", "poke bo")), "poke_user") == ["poke_user"]
    waves = [bool(await activated(ctx(("a", "x"), seed=s), "wave")) for s in range(200)]
    assert 70 < sum(waves) < 130  # random_activation_probability = 0.5, on the context's RNG


# -- execution --------------------------------------------------------------------------------


async def test_execute_has_log_prefix_action_data_config_and_a_reply_to_the_right_message(
    caplog,
) -> None:
    caplog.set_level(logging.INFO)
    c = ctx(("ana", "hi all"), ("bo", "hello everyone"), decision=decision("break_silence"))
    result = await run(c, "greet")
    assert (result.ok, result.reason) == (True, "greeted because a test rule")  # action_data
    assert "[greet] greeting bo (a test rule)" in caplog.text  # log_prefix, user_nickname
    [out] = c.outbox
    assert out.text == "Hello from config.toml!"  # get_config("greeting.message"): the file
    assert out.reply_to == 101  # reply_to="bo:hello everyone" → bo's message
    assert (out.action, out.kind, out.source) == ("greet", "text", "plugin")


def test_reply_to_accepts_mofox_forms_and_finds_the_message() -> None:
    c = ctx(("ana", "first"), ("bo", "hello   Everyone, how are you?"), ("ana", "second"))
    assert reply_target(c, "bo:hello everyone, how are you?") == 101
    assert reply_target(c, "bo：hello everyone") == 101  # MoFox's full-width colon, a prefix
    assert reply_target(c, "ana:first") == 100
    assert reply_target(c, "ana:") == 102  # the sender's latest
    assert reply_target(c, "bo(11)") == 101  # "sender(user id)"
    assert reply_target(c, "102") == 102 and reply_target(c, 100) == 100
    assert reply_target(c, {"message_id": "101"}) == 101
    assert reply_target(c, "cy:hello") is None and reply_target(c, "") is None


async def test_an_unmatched_reply_to_posts_a_plain_message_and_says_so(caplog) -> None:
    class Answer(BaseAction):
        action_name = "answer"

        async def execute(self):
            ok = await self.send_text("sure", reply_to="nobody:nothing")
            return ok, "answered"

    c = ctx(("ana", "hi"))
    result = await run(c, "answer", ActionRegistry([Answer]))
    assert result.ok and c.outbox[0].reply_to is None
    assert "[answer] reply_to names no message of the recent transcript" in caplog.text


async def test_an_emoji_is_posted_and_a_sticker_image_is_uploaded() -> None:
    c = ctx(("a", "x"), seed=SEED_WAVES)
    assert (await run(c, "wave")).ok
    assert [(m.text, m.kind, m.attachment) for m in c.outbox] == [("👋", "emoji", None)]
    s = ctx(("ana", "send a sticker"))
    result = await run(s, "sticker")
    assert (result.ok, result.reason) == (True, "sent a sticker")
    [out] = s.outbox
    assert (out.text, out.kind, out.filename) == ("", "image", "sticker.png")
    assert out.attachment is not None and out.attachment.startswith(b"\x89PNG\r\n\x1a\n")
    assert "<" in repr(out) and "bytes" in repr(out)  # the repr shows the size, not the bytes


async def test_what_discord_cannot_do_is_refused_and_counted_not_posted(caplog) -> None:
    # send_custom("tts_text"): no Discord post; store_action_info(): accepted, stores nothing
    seen = RecordingObserver()
    c = ctx(("ana", "tts please"), observer=seen)
    result = await run(c, "tts_action")
    assert c.outbox == []
    assert (result.ok, result.outcome) == (False, "failure")
    assert result.reason == "TTS done; not supported on Discord: send_custom('tts_text')"
    assert "[tts_action] send_custom('tts_text') is not supported on Discord" in caplog.text
    assert seen.refusals == [("tts_action", "send_custom")]  # reported: the runtime counts it
    # send_command(): a QQ adapter command
    p = ctx(("ana", "poke bo"))
    result = await run(p, "poke_user")
    assert p.outbox == [] and result.outcome == "failure"
    assert result.reason == "poked 10; not supported on Discord: send_command('SEND_POKE')"


async def test_other_refused_sends_return_false() -> None:
    class Many(BaseAction):
        action_name = "many"

        async def execute(self):
            results = [
                await self.send_emoji("not an emoji, not an image"),
                await self.send_image(base64.b64encode(b"plain bytes, no image").decode()),
                await self.send_custom("voice", "UklGRg=="),
                (await self.wait_for_new_message(5))[0],
                (await self.call_action("greet"))[0],
                await self.send_custom("text", "and some words"),
            ]
            return True, repr(results)

    c = ctx(("ana", "hi"))
    result = await run(c, "many", ActionRegistry([Many]))
    assert result.reason.startswith("[False, False, False, False, False, True]; not supported")
    assert result.ok  # words were sent; what was refused is named in the reason
    assert result.reason.endswith(
        "send_emoji, send_image, send_custom('voice'), wait_for_new_message, call_action('greet')"
    )
    assert [m.text for m in c.outbox] == ["and some words"]


async def test_a_mofox_service_api_call_is_an_execution_error_naming_it() -> None:
    seen = RecordingObserver()
    result = await run(ctx(("ana", "remind me at noon"), observer=seen), "set_reminder")
    assert result.outcome == "error"
    assert "MoFoxAPIUnsupported: MoFox's llm_api.get_available_models() is not available" in (
        result.reason
    )
    assert seen.refusals == [("set_reminder", "service_api")]


async def test_a_service_api_call_the_plugin_catches_is_still_counted_and_named() -> None:
    from actions.mofox.apis import send_api

    class Careful(BaseAction):
        action_name = "careful"

        async def execute(self):
            try:
                await send_api.text_to_stream("hi", self.chat_id)
            except Exception as e:  # as MoFox plugins do
                return False, f"send failed: {type(e).__name__}"
            return True, "sent"

    seen = RecordingObserver()
    result = await run(ctx(("ana", "hi"), observer=seen), "careful", ActionRegistry([Careful]))
    assert (result.ok, result.outcome) == (False, "failure")
    assert result.reason == (
        "send failed: MoFoxAPIUnsupported; not supported on Discord: send_api.text_to_stream()"
    )
    assert seen.refusals == [("careful", "service_api")]


class Say(BaseAction):
    """Says what MoFox's planner put in its parameters (the TTS voice plugin's dict form too)."""

    action_name = "say"
    action_description = "Say something to the chat."
    action_parameters: ClassVar[dict] = {
        "content": "What to say.",
        "style": {"type": "string", "description": "How to say it.", "required": False},
    }

    async def execute(self):
        content = self.action_data.get("content")
        if not content:
            return False, "no content given"
        await self.send_text(f"{content} ({self.action_data.get('style', 'plain')})")
        return True, "said"


def by_purpose(**answers: str) -> FakeLLM:
    return FakeLLM(lambda prompt, system, purpose: answers.get(purpose, ""))


async def test_action_parameters_are_filled_by_the_llm_as_mofoxs_planner_does() -> None:
    llm = by_purpose(plan='```json\n{"content": "Good morning!", "style": "cheerful", "x": 1}\n```')
    seen = RecordingObserver()
    c = ctx(("ana", "say good morning to everyone"), llm=llm, observer=seen)
    result = await run(c, "say", ActionRegistry([Say]))
    assert result.ok and [m.text for m in c.outbox] == ["Good morning! (cheerful)"]
    [(prompt, system, purpose)] = llm.calls
    assert purpose == "plan" and "JSON object" in system
    assert "- content: What to say." in prompt
    assert "- style (string, optional): How to say it." in prompt
    assert "user 1: say good morning to everyone" in prompt
    assert [(r.purpose, r.outcome) for r in seen.requests] == [("plan", "success")]


async def test_without_an_llm_or_a_readable_answer_action_data_has_no_parameters() -> None:
    assert (await run(ctx(("ana", "hi")), "say", ActionRegistry([Say]))).reason == (
        "no content given"
    )
    seen = RecordingObserver()
    garbled = ctx(("ana", "hi"), llm=by_purpose(plan="sure thing!"), observer=seen)
    result = await run(garbled, "say", ActionRegistry([Say]))
    assert result.reason == "no content given"
    assert [(r.purpose, r.outcome) for r in seen.requests] == [("plan", "garbage")]


async def test_the_tts_action_gets_its_text_and_is_still_refused_on_discord() -> None:
    llm = by_purpose(plan='{"text": "Hello!!"}')
    c = ctx(("ana", "tts please"), llm=llm)
    result = await run(c, "tts_action")
    assert result.reason == "TTS done; not supported on Discord: send_custom('tts_text')"
    assert c.outbox == [] and len(llm.calls) == 1


async def test_mofox_execute_results_are_read_as_mofox_reads_them() -> None:
    class Bare(BaseAction):
        action_name = "bare"

        async def execute(self):
            await self.send_text("done")
            return True  # MoFox's call_action accepts a bare bool too

    class Nothing(BaseAction):
        action_name = "nothing"

        async def execute(self):
            return None

    reg = ActionRegistry([Bare, Nothing])
    assert (await run(ctx(("a", "x")), "bare", reg)).ok
    result = await run(ctx(("a", "x")), "nothing", reg)
    assert (result.ok, result.reason) == (False, "execute() returned NoneType, expected a tuple")


async def test_instance_attributes_are_mofoxs() -> None:
    seen = {}

    class Look(BaseAction):
        action_name = "look"

        async def execute(self):
            seen.update(
                chat_id=self.chat_id, platform=self.platform, group_id=self.group_id,
                user_id=self.user_id, is_group=self.is_group, target_id=self.target_id,
                message=self.action_message["processed_plain_text"],
                message_id=self.action_message["message_id"], reasoning=self.reasoning,
                stream_user=self.chat_stream.user_info.user_nickname, config=self.get_config(),
                chat_content=self.chat_content, has_message=self.has_action_message,
            )  # fmt: skip
            return True, ""

    c = ctx(("ana", "hi"), ("bo", "yo"), addressed=True)
    await run(c, "look", ActionRegistry([Look]))
    assert seen == {
        "chat_id": "discord:1:2", "platform": "discord", "group_id": "1", "user_id": "11",
        "is_group": True, "target_id": "1", "message": "yo", "message_id": "101",
        "reasoning": "addressed", "stream_user": "bo", "config": {},
        "chat_content": "ana: hi\nbo: yo", "has_message": True,
    }  # fmt: skip


# -- whole rounds through the runtime's RoundRunner ----------------------------------------------


class World:
    """One guild, channel 77: a transcript, a state, and a runner over `reg`."""

    def __init__(self, reg: ActionRegistry, llm=None) -> None:
        self.metrics = GuildmindMetrics(new_registry(process_metrics=False), actions=reg.names)
        self.runner = RoundRunner(
            modifier=ActionModifier(reg), writer=ContentWriter(llm), metrics=self.metrics,
            rng=random.Random(3),
        )  # fmt: skip
        self.transcripts = Transcripts()
        self.state = GuildState(mood="neutral", last_channel=77)

    def said(self, author_id: int, author: str, text: str, at: float, message_id: int) -> None:
        self.transcripts.add(Line(5, 77, message_id, author_id, author, text, at))

    def refusals(self, action: str, feature: str) -> float:
        labels = {"action": action, "feature": feature}
        value = self.metrics.registry.get_sample_value("guildmind_plugin_refusals_total", labels)
        return value or 0.0

    def executions(self, action: str, outcome: str) -> float:
        labels = {"action": action, "outcome": outcome}
        value = self.metrics.registry.get_sample_value("guildmind_action_executions_total", labels)
        return value or 0.0


async def test_a_round_where_the_bot_is_greeted_answers_with_the_mofox_action() -> None:
    w = World(registry())
    w.said(9, "ana", "hello @bot!", NOW - 5, 4242)
    w.said(8, "bo", "hi from me too", NOW - 2, 4243)  # after the mention: not who asked
    rnd = Round(5, NOW, addressed=(MessageEvent(5, 77, 9, NOW - 5, False, True),))
    result = await w.runner.run(rnd, w.state, w.transcripts, NOW)
    assert (result.outcome, result.action) == ("spoke", "greet")  # priority 30 beats reply's 20
    [out] = result.messages
    # the action's message (MoFox's action_message) is the one that addressed the bot
    assert (out.channel_id, out.text, out.reply_to) == (77, "Hello from config.toml!", 4242)
    assert w.executions("greet", "sent") == 1


async def test_a_round_whose_action_discord_cannot_do_is_counted_as_failed() -> None:
    w = World(only("greet", "comfort", "tts_action"))
    w.said(9, "ana", "could you read it aloud", NOW - 5, 4242)
    quiet = msgspec.structs.replace(decision("break_silence"), guild_id=5, at=NOW)
    rnd = Round(5, NOW, decision=quiet)
    result = await w.runner.run(rnd, w.state, w.transcripts, NOW)
    assert (result.outcome, result.action, result.messages) == ("failed", "tts_action", ())
    assert w.executions("tts_action", "failed") == 1
    assert w.refusals("tts_action", "send_custom") == 1


async def test_refusals_are_counted_by_action_and_feature_even_when_words_went_out() -> None:
    class Chatty(BaseAction):
        action_name = "chatty"
        priority = 50

        async def execute(self):
            await self.send_text("words")
            await self.send_command("SEND_POKE")
            await self.send_custom("music", "song")
            return True, "chatted"

    w = World(ActionRegistry([Chatty]))
    w.said(9, "ana", "hey", NOW - 5, 4242)
    rnd = Round(5, NOW, addressed=(MessageEvent(5, 77, 9, NOW - 5, False, True),))
    result = await w.runner.run(rnd, w.state, w.transcripts, NOW)
    assert (result.outcome, [m.text for m in result.messages]) == ("spoke", ["words"])
    assert w.executions("chatty", "sent") == 1
    assert (w.refusals("chatty", "send_command"), w.refusals("chatty", "send_custom")) == (1, 1)
    w.metrics.plugin_refusal("nobody", "dance")  # bounded labels: both read as "other"
    assert w.refusals("other", "other") == 1


async def test_a_round_that_sends_a_sticker_hands_the_image_to_the_runtime() -> None:
    w = World(only("greet", "sticker", "tts_action"))
    w.said(9, "ana", "sticker time", NOW - 5, 4242)
    rnd = Round(5, NOW, addressed=(MessageEvent(5, 77, 9, NOW - 5, False, True),))
    result = await w.runner.run(rnd, w.state, w.transcripts, NOW)
    assert (result.outcome, result.action) == ("spoke", "sticker")
    [out] = result.messages
    assert out.attachment and out.filename == "sticker.png"
    assert out.reply_to == 4242  # an addressed round answers the mention


@pytest.mark.parametrize("seed", range(3))
async def test_mofox_actions_activate_concurrently_with_the_rest(seed: int) -> None:
    slow = FakeLLM("tts_action: yes\ncomfort: yes", delay=0.01)
    c = ctx(("ana", "hello, I feel low, tts please, a question"), llm=slow, addressed=True,
            seed=seed)  # fmt: skip
    report = await ActionModifier(registry(), timeout_s=1.0).activate(c)
    assert {"reply", "greet", "greetings_plugin.reply", "tts_action", "comfort"} <= set(
        report.activated
    )
    assert len(slow.calls) == 1  # the two judged MoFox actions share one judge call
    await asyncio.sleep(0)


async def test_a_subclass_calling_super_execute_is_read_once() -> None:
    class Base(BaseAction):
        action_name = "base_say"

        async def execute(self):
            await self.send_custom("voice", "x")
            return True, "base"

    class Child(Base):
        action_name = "child_say"

        async def execute(self):
            ok, why = await super().execute()
            await self.send_text("child words")
            return ok, f"child after {why}"

    c = ctx(("ana", "hi"))
    result = await run(c, "child_say", ActionRegistry([Child]))
    assert (result.ok, result.reason) == (
        True, "child after base; not supported on Discord: send_custom('voice')"
    )  # fmt: skip
