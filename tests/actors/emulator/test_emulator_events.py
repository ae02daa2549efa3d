"""Presence, member joins, synthetic chatter, and what discord.py does with malformed events."""

from __future__ import annotations

import asyncio
import random

import discord
import pytest
from emulator_harness import Bot, running

from guildmind.emulator import LEVELS, ChatterProcess, Emulator
from tests.fixtures.polling import wait_until_async


async def test_presence_update_reaches_on_presence_update_with_the_activity(emu: Emulator) -> None:
    guild = emu.guilds[0]
    user = guild.human_ids[-1]  # starts offline
    bot = Bot()
    async with running(bot, emu.token):
        await emu.set_presence(guild.id, user, status="online", activity="Project DIVA Mega Mix")
        await wait_until_async(lambda: bot.presences, what="a presence update at the client",
                               timeout_s=2, interval_s=0.01)  # fmt: skip
        before, after = bot.presences[0]
        assert after.id == user and after.guild.id == guild.id
        assert after.status is discord.Status.online
        assert after.activity is not None and after.activity.name == "Project DIVA Mega Mix"
        assert before.activity is None


async def test_member_join_reaches_on_member_join(emu: Emulator) -> None:
    guild = emu.guilds[2]
    bot = Bot()
    async with running(bot, emu.token):
        new_id = await emu.member_join(guild.id)
        await wait_until_async(lambda: bot.joins, what="a member join at the client",
                               timeout_s=2, interval_s=0.01)  # fmt: skip
        member = bot.joins[0]
        assert member.id == new_id and member.guild.id == guild.id
        assert bot.get_guild(guild.id).member_count == guild.spec.users + 2  # type: ignore[union-attr]
        # The newcomer can talk right away.
        await emu.post_message(guild.id, guild.system_channel_id, new_id, "hi all")
        await bot.wait_for_messages(1)
        assert bot.messages[0].author.id == new_id


@pytest.mark.parametrize(
    ("broken", "error"),
    [
        ({"drop": "channel_id"}, KeyError),
        ({"drop": "author"}, AttributeError),
        ({"drop": "id"}, KeyError),
    ],
)
async def test_malformed_message_create_escapes_client_start(
    emu: Emulator, broken: dict[str, str], error: type[Exception]
) -> None:
    """Pins discord.py 2.7.1: a parser error is not caught, it ends ``Client.start()``.

    ``DiscordWebSocket.received_message`` calls the parser with no try/except and
    ``Client.connect`` only catches connection errors, so a MESSAGE_CREATE without
    ``channel_id`` (KeyError), ``author`` (AttributeError from ``Message.__init__``) or
    ``id`` (KeyError) propagates out of ``start()``. The client is left *not* closed (its
    HTTP session and heartbeat thread still run) and it receives nothing more. The runtime
    must therefore guard the parsers itself (or restart the client) to survive bad input.
    """
    guild = emu.guilds[0]
    bot = Bot()
    async with running(bot, emu.token) as task:
        good_id = await emu.post_message(guild.id, guild.system_channel_id, guild.human_ids[0], "x")
        bad = dict(emu.messages.get(good_id) or {})
        del bad[broken["drop"]]
        await emu.dispatch_raw("MESSAGE_CREATE", bad)
        with pytest.raises(error):
            await asyncio.wait_for(task, 2)
        assert not bot.is_closed()
        # A client connected now (the control) receives the next message; the broken one never
        # does, though the emulator sent it to both sessions.
        witness = Bot()
        async with running(witness, emu.token):
            lost = await emu.post_message(
                guild.id, guild.system_channel_id, guild.human_ids[0], "lost"
            )
            await witness.wait_for_messages(1)
            assert [m.id for m in witness.messages] == [lost]
        assert [m.id for m in bot.messages] == [good_id]


async def test_message_in_unknown_channel_is_tolerated(emu: Emulator) -> None:
    guild = emu.guilds[0]
    bot = Bot()
    async with running(bot, emu.token) as task:
        good_id = await emu.post_message(guild.id, guild.system_channel_id, guild.human_ids[0], "x")
        odd = {**(emu.messages.get(good_id) or {}), "channel_id": "42", "id": str(good_id + 1)}
        await emu.dispatch_raw("MESSAGE_CREATE", odd)
        await emu.dispatch_raw("NO_SUCH_EVENT", {"whatever": 1})
        await bot.wait_for_messages(2)
        assert not task.done()
        assert isinstance(bot.messages[1].channel, discord.PartialMessageable)


async def test_chatter_at_high_speed_reaches_the_client(emu: Emulator) -> None:
    bot = Bot()
    async with running(bot, emu.token):
        emu.speed = 3600  # one emulated hour per real second
        emu.start_chatter()
        await emu.wait_until(
            lambda: (
                emu.counters.events["MESSAGE_CREATE"] >= 20
                and emu.counters.events["PRESENCE_UPDATE"] >= 3
            ),
            timeout=4,
        )
        await emu.stop_chatter()
        await bot.wait_for_messages(20)
        await wait_until_async(lambda: bot.presences, what="a presence update at the client",
                               timeout_s=2, interval_s=0.01)  # fmt: skip
    chatty = {m.guild.id for m in bot.messages if m.guild is not None}
    dead = next(g.id for g in emu.guilds if g.spec.chatter == "dead")
    assert dead not in chatty and len(chatty) >= 2


def test_chatter_process_is_seeded_and_bursty() -> None:
    def story(seed: int) -> list[tuple[float, str]]:
        process = ChatterProcess(LEVELS["normal"], users=8, rng=random.Random(seed))
        return [process.next_event() for _ in range(2000)]

    assert story(1) == story(1) != story(2)
    events = story(3)
    minutes = sum(wait for wait, _ in events) / 60
    messages = sum(kind == "message" for _, kind in events)
    # Busy 12 min at 5/min, quiet 40 min at 0.1/min: about 1.2 messages per minute overall.
    assert 0.6 < messages / minutes < 2.0
    assert {kind for _, kind in events} >= {"message", "switch", "presence"}
    dead = ChatterProcess(LEVELS["dead"], users=8, rng=random.Random(0))
    assert all(dead.next_event()[1] != "message" for _ in range(500))
