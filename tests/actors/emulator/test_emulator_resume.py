"""Reconnects, RESUME with replay, invalidated sessions, and sharding, with real clients."""

from __future__ import annotations

import asyncio

import discord
from emulator_harness import Bot, intents, running

from actors.sources.discord.endpoints import configure_discord_endpoints, reset_discord_endpoints
from guildmind.emulator import Emulator, GuildSpec
from tests.fixtures.polling import wait_until_async


class ResumeBot(Bot):
    def __init__(self, **options: object) -> None:
        super().__init__(**options)
        self.resumed = 0

    async def on_resumed(self) -> None:
        self.resumed += 1


async def test_forced_reconnect_resumes_and_keeps_guilds(emu: Emulator) -> None:
    guild = emu.guilds[0]
    bot = ResumeBot()
    async with running(bot, emu.token):
        session = next(iter(emu.gateway.sessions.values()))
        assert await emu.force_reconnect() == 1
        await emu.wait_until(lambda: emu.counters.events["RESUMED"] == 1, timeout=3)
        assert emu.counters.ops["RESUME"] == 1
        assert emu.counters.ops["IDENTIFY"] == 1  # no new session
        assert list(emu.gateway.sessions.values()) == [session]
        assert sorted(g.id for g in bot.guilds) == sorted(g.id for g in emu.guilds)
        await emu.post_message(guild.id, guild.system_channel_id, guild.human_ids[0], "still here?")
        await bot.wait_for_messages(1)
        assert bot.messages[0].content == "still here?"
        await wait_until_async(lambda: bot.resumed, what="on_resumed at the client",
                               timeout_s=2, interval_s=0.01)  # fmt: skip


async def test_events_missed_while_disconnected_are_replayed(emu: Emulator) -> None:
    guild = emu.guilds[1]
    bot = ResumeBot()
    async with running(bot, emu.token):
        await emu.disconnect(4000)  # abnormal close: discord.py resumes
        for i in range(5):
            await emu.post_message(guild.id, guild.system_channel_id, guild.human_ids[0], f"m{i}")
        await bot.wait_for_messages(5)
        assert [m.content for m in bot.messages] == [f"m{i}" for i in range(5)]
        assert emu.gateway.replayed >= 5  # they came by replay, not live
        assert emu.counters.ops["RESUME"] == 1 and emu.counters.ops["IDENTIFY"] == 1


async def test_invalid_session_makes_the_client_identify_again(emu: Emulator) -> None:
    guild = emu.guilds[0]
    bot = ResumeBot()
    async with running(bot, emu.token):
        await emu.invalidate_session(resumable=False)
        await emu.wait_until(lambda: emu.counters.ops["IDENTIFY"] == 2, timeout=3)
        await emu.wait_until(lambda: emu.counters.events["GUILD_CREATE"] == 2 * len(emu.guilds), 3)
        assert emu.counters.ops["RESUME"] == 0
        assert len(emu.gateway.sessions) == 1
        await emu.post_message(guild.id, guild.system_channel_id, guild.human_ids[0], "again")
        await bot.wait_for_messages(1)
        assert len(bot.guilds) == len(emu.guilds)


class ShardedBot(discord.AutoShardedClient):
    def __init__(self) -> None:
        super().__init__(intents=intents(), guild_ready_timeout=0.05)
        self.ready = asyncio.Event()
        self.messages: list[discord.Message] = []

    async def on_ready(self) -> None:
        self.ready.set()

    async def on_message(self, message: discord.Message) -> None:
        self.messages.append(message)

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        return None  # skip discord.py's 5 s pause between shard IDENTIFYs


async def test_two_shards_split_the_guilds() -> None:
    specs = [GuildSpec(f"G{i}", users=2, chatter="quiet") for i in range(8)]
    # two IDENTIFY buckets: the bot skips discord.py's pause, each shard has a bucket of its own
    async with Emulator(specs, seed=3, shards=2, max_concurrency=2) as emu:
        configure_discord_endpoints(emu.api_base, emu.gateway_url)
        try:
            bot = ShardedBot()
            async with running(bot, emu.token):
                assert bot.shard_count == 2  # from GET /gateway/bot
                assert emu.counters.ops["IDENTIFY"] == 2
                expected = {g.id: (g.id >> 22) % 2 for g in emu.guilds}
                assert {g.id: g.shard_id for g in bot.guilds} == expected
                assert set(expected.values()) == {0, 1}
                sessions = sorted(
                    (s.shard_id, s.shard_count) for s in emu.gateway.sessions.values()
                )
                assert sessions == [(0, 2), (1, 2)]
                # Each guild's events arrive once, on its own shard. Then a second message in
                # every guild: each shard's connection delivers in order, so once all of those
                # are in, any copy of a first message would be in too.
                for text in ("hi", "bye"):
                    for g in emu.guilds:
                        await emu.post_message(g.id, g.system_channel_id, g.human_ids[0], text)

                def got(text: str) -> list[tuple[int, int | None]]:
                    return sorted((m.guild.id, m.guild.shard_id) for m in bot.messages
                                  if m.content == text and m.guild is not None)  # fmt: skip

                await wait_until_async(
                    lambda: len(got("bye")) == len(specs), timeout_s=2, interval_s=0.01,
                    what="every guild's second message",
                )  # fmt: skip
                assert got("hi") == got("bye") == sorted(expected.items())
                assert len(bot.messages) == 2 * len(specs)
                assert emu.counters.events["MESSAGE_CREATE"] == 2 * len(specs)
        finally:
            reset_discord_endpoints()
