"""What counts as conversation and what addresses the bot, from payloads seen in bug reports.

Each payload goes through the emulator's gateway into the real discord.py client and the
discord source (no Ray): system messages of every type discord.py knows and one it does not,
forwards, crossposts, replies to the bot, to others and to deleted messages, the bot's name in
several scripts, its role, and what must never be logged.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any

import discord
import pytest
from discord_inputkit import AT, live
from discord_testkit import config

from actors.clock import ManualClock
from actors.sources.discord.source import make_discord_source
from engine import AutonomousEngine, MessageEvent
from guildmind.emulator import Emulator
from guildmind.emulator.state import OMIT
from metrics import GuildmindMetrics, new_registry

T = discord.MessageType
WRITTEN = {
    T.default: "a person's message",
    T.reply: "a person's reply (to the bot: it addresses it)",
    T.chat_input_command: "the message of a slash command someone ran",
    T.context_menu_command: "the message of a context-menu command someone ran",
}
NOT_WRITTEN = {
    T.thread_starter_message: "Discord's copy of a thread's first message, not new words",
    T.poll_result: "Discord announcing a poll's result",
}
UNKNOWN = 99  # a type Discord has not invented yet
KINDS = [*T, UNKNOWN]
REFERS_TO_THE_BOT = {T.pins_add, T.reply, T.thread_starter_message, T.context_menu_command}
REFERS_TO_THE_BOT |= {T.poll_result}  # the old code took each of these for a reply to the bot


def reason(kind: Any) -> str:
    if kind == UNKNOWN:
        return "a type discord.py does not know: its is_system() says system, so not conversation"
    return WRITTEN.get(kind) or NOT_WRITTEN.get(kind) or "a notice Discord writes (is_system())"


def ref_to(message_id: int, s: Any) -> dict[str, str]:
    return {
        "message_id": str(message_id),
        "channel_id": str(s.general),
        "guild_id": str(s.guild.id),
    }


async def _post_every_type() -> dict[Any, tuple[Any, Any] | None]:
    async with live() as s:
        bots = await s.bot_says("a message of the bot's")
        posted = {}
        for kind in KINDS:
            value = kind if kind == UNKNOWN else kind.value
            fields: dict[str, Any] = {"type": value}
            if kind in REFERS_TO_THE_BOT:
                fields["message_reference"] = ref_to(bots, s)
                if kind in (T.reply, T.thread_starter_message, T.context_menu_command):
                    fields["referenced_message"] = s.emu.messages.get(bots)
            if kind is T.thread_created:
                fields["message_reference"] = {"channel_id": "1234", "guild_id": str(s.guild.id)}
            posted[kind] = await s.say(f"text of a {value} message", fields=fields)
        # Discord's own system user, writing a plain message (Community updates)
        author = {"id": "643945264868098049", "username": "Discord", "discriminator": "0000",
                  "avatar": None, "system": True}  # fmt: skip
        posted["system user"] = await s.say("a notice", fields={"author": author, "member": OMIT})
        await s.settle()
        assert s.source.stats()["malformed_payloads"] == 0
        return {kind: s.offered(mid) for kind, mid in posted.items()}


@pytest.fixture(scope="module")
def every_type() -> dict[Any, tuple[Any, Any] | None]:
    return asyncio.run(_post_every_type())  # one session for every type


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: getattr(k, "name", f"unknown_{k}"))
def test_only_messages_people_write_are_conversation(every_type, kind) -> None:
    offered = every_type[kind]
    if kind in WRITTEN:
        assert offered is not None, reason(kind)
        event, line = offered
        assert type(event) is MessageEvent and not event.author_is_bot, reason(kind)
        assert event.mentions_bot is (kind is T.reply), reason(kind)  # only a reply addresses
        assert line.content.startswith("text of a"), reason(kind)
    else:
        assert offered is None, reason(kind)  # no event, no transcript line, no reply round


def test_a_message_by_discords_own_system_user_is_not_conversation(every_type) -> None:
    assert every_type["system user"] is None


async def test_pins_joins_boosts_threads_and_poll_results_leave_the_engine_unmoved() -> None:
    """The report: five of these made `messages_since_appearance` 5 and could start a round."""
    async with live() as s:
        bots = await s.bot_says("hi")
        notices = [
            {"type": 6, "message_reference": ref_to(bots, s)},  # pinned the bot's message
            {"type": 7},  # joined
            {"type": 8},  # boosted
            {"type": 18, "message_reference": {"channel_id": "1234"}},  # started a thread
            {"type": 46, "message_reference": ref_to(bots, s)},  # a poll (by the bot) ended
        ]
        for fields in notices:
            await s.say("", fields=fields)
        await s.settle()
        engine = AutonomousEngine(rng=random.Random(0), started_at=AT - 3600)
        for event in s.got.of(MessageEvent):
            engine.apply(event)
        state = engine.state(s.guild.id)
        assert state is not None and state.messages_since_appearance == 0
        assert not any(e.mentions_bot for e in s.got.of(MessageEvent))
        assert s.source.stats()["not_conversation"] == 5
        for i in range(5):  # the control: five words from people do count
            await s.say(f"word {i}")
        await s.settle()
        for event in s.got.of(MessageEvent)[-5:]:
            engine.apply(event)
        assert state.messages_since_appearance == 5


async def test_a_forward_shows_the_forwarded_text_and_never_addresses_the_bot() -> None:
    async with live() as s:
        other = s.guild.human_ids[1]
        bots = await s.bot_says("I love this song")
        theirs = await s.say("Miku, listen to this", user=other, channel=s.random)
        with_mention = await s.say("see you", user=other, channel=s.random, mention_bot=True)
        forward_bots = await s.emu.forward_message(s.guild.id, s.general, s.user, bots)
        forward_theirs = await s.emu.forward_message(s.guild.id, s.general, s.user, theirs)
        forward_mention = await s.emu.forward_message(s.guild.id, s.general, s.user, with_mention)
        await s.settle()
        lines = {mid: s.offered(mid) for mid in (forward_bots, forward_theirs, forward_mention)}
    for event, _ in lines.values():  # counted (a person shared something), never for the bot
        assert not event.mentions_bot and not event.author_is_bot and event.author_id == s.user
    assert lines[forward_bots][1].content == "[forwarded] I love this song"
    assert lines[forward_theirs][1].content == "[forwarded] Miku, listen to this"  # not a call
    assert lines[forward_mention][1].content == "[forwarded] @Guildmind see you"


async def test_only_a_reply_to_the_bots_message_addresses_it() -> None:
    async with live() as s:
        home, away = s.guild, s.emu.guilds[1]
        bots = await s.bot_says("what's your favourite song?")
        bots_elsewhere = await s.bot_says("news!", guild=away)
        theirs = await s.say("mine is Tell Your World", user=s.guild.human_ids[1])
        cases = {
            "a reply to the bot": await s.say("World is Mine", reply_to=bots),
            "a reply to someone else": await s.say("nice", reply_to=theirs),
            # the replied-to message is gone: Discord sends referenced_message = null
            "a reply to the bot's deleted message": await s.say(
                "hm?", reply_to=bots, fields={"referenced_message": None}
            ),
            "a reply to someone's deleted message": await s.say(
                "hm?", reply_to=theirs, fields={"referenced_message": None}
            ),
            # Discord could not fetch it: no referenced_message at all
            "a reply to the bot, not resolved": await s.say(
                "and?", reply_to=bots, fields={"referenced_message": OMIT}
            ),
            "a reply to an unknown message": await s.say("and?", reply_to=4242),
        }
        crosspost = await s.emu.crosspost_message(home.id, s.general, bots_elsewhere)
        await s.settle()
        addressed = {name: s.offered(mid)[0].mentions_bot for name, mid in cases.items()}
        assert s.offered(crosspost) is None  # another server's announcement: not conversation
        assert s.source.stats()["not_conversation"] == 1
    assert addressed == {
        "a reply to the bot": True,
        "a reply to someone else": False,
        "a reply to the bot's deleted message": True,
        "a reply to someone's deleted message": False,
        "a reply to the bot, not resolved": True,
        "a reply to an unknown message": False,
    }


async def test_calling_the_bot_by_name_or_its_role_addresses_it_where_it_lives() -> None:
    async with live('names = ["Miku", "ミク"]\n') as s:
        texts = [
            "Miku, what do you think?", "ミク、どう思う？", "mikuuu!", "Mikuru is here",
            "see https://miku.example.com", "`miku.sing()` is broken", "hello everyone",
        ]  # fmt: skip
        said = {text: await s.say(text) for text in texts}
        role = s.guild.bot_role_id
        by_role = await s.say(f"<@&{role}> hi", fields={"mention_roles": [str(role)]})
        own = await s.bot_says("Miku here!")  # the bot saying its own name
        s.source.set_channels(s.guild.id, [s.general])  # the bot lives in #general only
        elsewhere = await s.say("Miku is my favourite singer", channel=s.random)
        mentioned_elsewhere = await s.say("hey", channel=s.random, mention_bot=True)
        await s.settle()
        addressed = {text: s.offered(mid)[0].mentions_bot for text, mid in said.items()}
        assert s.offered(by_role)[0].mentions_bot  # Discord offers the role for "@Miku" too
        assert not s.offered(own)[0].mentions_bot
        assert s.offered(elsewhere) is None  # about Miku, elsewhere: not for the bot
        assert s.offered(mentioned_elsewhere)[0].mentions_bot
    assert addressed == {
        "Miku, what do you think?": True,
        "ミク、どう思う？": True,
        "mikuuu!": True,
        "Mikuru is here": False,
        "see https://miku.example.com": False,
        "`miku.sing()` is broken": False,
        "hello everyone": False,
    }


def test_the_names_default_to_the_bots_name() -> None:
    emu = Emulator(seed=0)  # not started: only its addresses are read
    clock = ManualClock(AT)
    assert make_discord_source(config(emu), clock).names == ("Miku",)
    renamed = config(emu, extra='[runtime]\nbot_name = "Rin"\n')
    assert make_discord_source(renamed, clock).names == ("Rin",)
    named = config(emu, extra='names = ["Rin", "リン"]\n')
    assert make_discord_source(named, clock).names == ("Rin", "リン")


async def test_malformed_forwards_are_counted_and_no_content_is_ever_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # even debug logging (guildmind -v) writes no content
    secret = "the-secret-words-of-a-member"
    async with live() as s:
        metrics = GuildmindMetrics(new_registry())
        s.source.attach(None, metrics)  # type: ignore[arg-type]
        good = await s.say(f"{secret} Miku")
        await s.emu.forward_message(s.guild.id, s.general, s.user, good)
        forward = s.emu.messages.get(good)
        bad = {**s.emu.world.message_payload(
            message_id=s.emu.world.ids.live(s.emu.now()), channel=s.emu.world.channels[s.general],
            author_id=s.user, content="", now=s.emu.now(),
        ), "message_reference": {"type": 1, "message_id": str(good)},
            "message_snapshots": [{"no message": forward}]}  # fmt: skip
        await s.emu.dispatch_raw("MESSAGE_CREATE", bad, s.guild.id)
        await s.settle()  # the session goes on
        assert s.source.stats()["malformed_payloads"] == 1
        dropped = {"type": "message", "reason": "malformed"}
        assert metrics.registry.get_sample_value("guildmind_events_dropped_total", dropped) == 1
        assert s.offered(good)[1].content.startswith(secret)  # the transcript has it…
    assert caplog.records and secret not in caplog.text  # …no log line does
