"""The discord source on its own (no Ray): the real discord.py client against the emulator."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import pytest
from discord_testkit import SPECS, Collected, config

from actions import OutgoingMessage as Out
from actors.clock import ManualClock
from actors.sources.discord.endpoints import reset_discord_endpoints
from actors.sources.discord.source import DiscordSource, make_discord_source
from engine import MemberJoinEvent, MessageEvent, PresenceEvent
from guildmind.emulator import Emulator
from guildmind.emulator.wiring import EMULATOR_TOKEN
from metrics import GuildmindMetrics, new_registry
from tests.fixtures.polling import wait_until_async

AT = 1_900_000_000.0  # the runtime clock's time, far from the wall clock's
SECRET = "MTIzNDU2.super-secret-token.xyz"


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    emulator = Emulator(SPECS, seed=3, bot_token=EMULATOR_TOKEN)
    async with emulator:
        try:
            yield emulator
        finally:
            reset_discord_endpoints()


@contextlib.asynccontextmanager
async def running(source: DiscordSource, offer=None) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(source.run(offer or Collected()))

    def ready() -> bool:
        assert not task.done(), f"the source stopped before it was ready: {source.error}"
        return source.status()["ready"]

    try:
        await wait_until_async(ready, what="the source to be ready", timeout_s=10, interval_s=0.02)
        yield task
    finally:
        await source.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


def msg(guild_id: int, channel_id: int, text: str, action: str) -> Out:
    return Out(guild_id=guild_id, channel_id=channel_id, text=text, action=action)


def source_for(emu: Emulator, **kw) -> DiscordSource:
    return make_discord_source(config(emu, **kw), ManualClock(AT))


async def test_messages_mentions_replies_presence_and_joins_become_engine_events(emu) -> None:
    got = Collected()
    source = source_for(emu)
    guild = emu.guilds[0]
    general, user = guild.system_channel_id, guild.human_ids[0]
    async with running(source, got):
        await got.wait(lambda: got.of(PresenceEvent))  # who is online when the guild arrives
        await emu.post_message(guild.id, general, user, "hello there")
        await emu.post_message(guild.id, general, user, "hey bot", mention_bot=True)
        await got.wait(lambda: len(got.of(MessageEvent)) == 2)
        assert await source.send(msg(guild.id, general, "hi!", "reply")) is None
        await got.wait(lambda: len(got.of(MessageEvent)) == 3)  # the bot's own, echoed
        bots = emu.sent[0].message_id
        await emu.post_message(guild.id, general, user, "you again", reply_to=bots)
        await emu.set_presence(guild.id, user, activity="Celeste")
        await emu.set_presence(guild.id, user, activity="Celeste")  # nothing new started
        joined = await emu.member_join(guild.id)
        await got.wait(lambda: got.of(MemberJoinEvent) and len(got.of(MessageEvent)) == 4)
    plain, mention, own, reply = got.of(MessageEvent)
    assert plain == MessageEvent(guild.id, general, user, AT, False, False)
    assert mention.mentions_bot and not mention.author_is_bot
    assert own.author_is_bot and own.author_id == emu.bot_id
    assert reply.mentions_bot  # a reply to the bot's message addresses it
    lines = [line for _, line in got.items if line is not None]
    assert lines[0].content == "hello there" and lines[0].at == AT  # runtime-clock times
    assert [p.activity for p in got.of(PresenceEvent)][-2:] == ["Celeste", None]
    assert got.of(MemberJoinEvent) == [MemberJoinEvent(guild.id, joined, AT)]


async def test_malformed_payloads_are_counted_logged_once_and_the_session_goes_on(
    emu, caplog: pytest.LogCaptureFixture
) -> None:
    got = Collected()
    source = source_for(emu)
    metrics = GuildmindMetrics(new_registry())
    source.attach(None, metrics)  # type: ignore[arg-type]
    guild = emu.guilds[1]
    good = emu.messages.create(guild.system_channel_id, guild.human_ids[0], "x", dispatch=False)
    async with running(source, got):
        for missing in ("channel_id", "author", "id"):
            await emu.dispatch_raw(
                "MESSAGE_CREATE", {k: v for k, v in good.items() if k != missing}, guild.id
            )
        await emu.post_message(guild.id, guild.system_channel_id, guild.human_ids[0], "still here")
        await got.wait(lambda: got.of(MessageEvent))
        assert source.status()["ready"]
    assert source.stats()["malformed_payloads"] == 3
    dropped = {"type": "message", "reason": "malformed"}
    assert metrics.registry.get_sample_value("guildmind_events_dropped_total", dropped) == 3
    warned = [r for r in caplog.records if "malformed" in r.getMessage()]
    assert len(warned) == 1 and "MESSAGE_CREATE" in warned[0].getMessage()


async def test_failed_sends_are_counted_by_reason_and_never_retried_forever(emu) -> None:
    source = source_for(emu)
    guild = emu.guilds[0]
    announcements = guild.channel_ids[-1]  # the bot may not write there
    async with running(source):
        send = source.send
        assert await send(msg(guild.id, announcements, "hi", "reply")) == "forbidden"
        assert await send(msg(guild.id, 4242, "hi", "reply")) == "not_found"
        emu.rate_limit_next(20, retry_after=0.01)
        async with asyncio.timeout(10):
            reason = await send(msg(guild.id, guild.system_channel_id, "hi", "x"))
        assert reason == "rate_limited"
    assert source.stats()["send_failed"] == 3


async def test_a_refused_token_is_one_sentence_that_never_shows_the_token(
    emu, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, capsys
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("DISCORD_TOKEN", SECRET)
    source = source_for(emu, kind="discord")
    async with asyncio.timeout(10):
        await source.run(Collected())
    assert "refused the bot token in $DISCORD_TOKEN" in (source.error or "")
    out = capsys.readouterr()
    seen = " ".join([caplog.text, out.out, out.err, source.error or "", repr(source)])
    assert SECRET not in seen and "super-secret" not in seen
    monkeypatch.delenv("DISCORD_TOKEN")
    source = source_for(emu, kind="discord")
    await source.run(Collected())
    assert "set the environment variable DISCORD_TOKEN" in (source.error or "")


async def test_refused_privileged_intents_say_which_and_where_to_enable_them() -> None:
    emu = Emulator(SPECS, bot_token=EMULATOR_TOKEN, refuse_intents=["presences"])
    async with emu:
        source = source_for(emu)
        try:
            async with asyncio.timeout(10):
                await source.run(Collected())
        finally:
            reset_discord_endpoints()
    error = source.error or ""
    assert "(message content, members, presences)" in error
    assert "Developer Portal → your application → Bot → Privileged Gateway Intents" in error
    assert "[source.discord.intents]" in error
