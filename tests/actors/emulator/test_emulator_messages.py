"""Messages both ways through the real discord.py client: mentions, sends, replies, 429, 403."""

from __future__ import annotations

import time

import discord
import pytest
from emulator_harness import Bot, running

from guildmind.emulator import Emulator


async def test_mention_reaches_on_message_with_the_bot_in_mentions(emu: Emulator) -> None:
    guild = emu.guilds[0]
    author = guild.human_ids[1]
    bot = Bot()
    async with running(bot, emu.token):
        await emu.post_message(guild.id, guild.system_channel_id, author, "plain hello")
        mid = await emu.post_message(
            guild.id, guild.system_channel_id, author, "are you there?", mention_bot=True
        )
        await bot.wait_for_messages(2)
        plain, mention = bot.messages
        assert plain.content == "plain hello" and bot.user not in plain.mentions
        assert mention.id == mid
        assert bot.user in mention.mentions
        assert mention.content == f"<@{emu.bot_id}> are you there?"
        assert mention.author.id == author and isinstance(mention.author, discord.Member)
        assert mention.guild is not None and mention.guild.id == guild.id
        assert mention.channel.id == guild.system_channel_id


async def test_bot_send_is_recorded_and_echoed_back(emu: Emulator) -> None:
    guild = emu.guilds[1]
    bot = Bot()
    async with running(bot, emu.token):
        channel = bot.get_channel(guild.channel_ids[1])
        assert isinstance(channel, discord.TextChannel)
        message = await channel.send("hello from the bot")
        sent = await emu.wait_sent(1, timeout=2)
        assert (sent.guild_id, sent.channel_id, sent.content) == (
            guild.id,
            guild.channel_ids[1],
            "hello from the bot",
        )
        assert sent.message_id == message.id and sent.message_reference is None
        assert abs(sent.at - time.time()) < 5  # speed 1: the emulated clock is the wall clock
        # Discord echoes the bot's own message on the gateway; the runtime must skip it.
        await bot.wait_for_messages(1)
        assert bot.messages[0].author == bot.user


async def test_reply_carries_the_message_reference(emu: Emulator) -> None:
    guild = emu.guilds[0]
    bot = Bot()
    async with running(bot, emu.token):
        mid = await emu.post_message(
            guild.id, guild.system_channel_id, guild.human_ids[0], "ping", mention_bot=True
        )
        await bot.wait_for_messages(1)
        reply = await bot.messages[0].reply("pong")
        sent = await emu.wait_sent(1, timeout=2)
        assert sent.message_reference is not None
        assert sent.message_reference["message_id"] == mid
        assert reply.reference is not None and reply.reference.message_id == mid
        assert reply.type is discord.MessageType.reply


async def test_429_once_then_discord_py_retries(emu: Emulator) -> None:
    channel_id = emu.guilds[0].system_channel_id
    emu.rate_limit_next(1, retry_after=0.05)
    bot = Bot()
    async with running(bot, emu.token):
        channel = bot.get_channel(channel_id)
        assert isinstance(channel, discord.TextChannel)
        await channel.send("after a 429")
    assert [s.content for s in emu.sent] == ["after a 429"]
    assert emu.counters.rest["status 429"] == 1
    assert emu.counters.rest["POST /channels/{channel_id}/messages"] == 2


async def test_bucket_exhaustion_makes_discord_py_wait() -> None:
    from actors.sources.discord.endpoints import (
        configure_discord_endpoints,
        reset_discord_endpoints,
    )

    # 2 sends per emulated second at speed 10: a 0.1 s real window.
    async with Emulator(send_limit=(2, 1.0), speed=10) as emu:
        configure_discord_endpoints(emu.api_base, emu.gateway_url)
        try:
            bot = Bot()
            async with running(bot, emu.token):
                channel = bot.get_channel(emu.guilds[0].system_channel_id)
                assert isinstance(channel, discord.TextChannel)
                for i in range(5):
                    await channel.send(f"n{i}")
        finally:
            reset_discord_endpoints()
    assert [s.content for s in emu.sent] == [f"n{i}" for i in range(5)]
    assert emu.counters.rest["status 429"] == 0  # the headers told discord.py to wait


async def test_send_without_permission_is_forbidden(emu: Emulator) -> None:
    guild = emu.guilds[0]
    bot = Bot()
    async with running(bot, emu.token):
        announcements = discord.utils.get(
            bot.get_guild(guild.id).text_channels, name="announcements"
        )  # type: ignore[union-attr]
        assert announcements is not None
        with pytest.raises(discord.Forbidden) as info:
            await announcements.send("not allowed here")
        assert info.value.code == 50013
        with pytest.raises(discord.NotFound) as missing:
            await bot.get_partial_messageable(1234).send("nowhere")
        assert missing.value.code == 10003
    assert emu.sent == []


async def test_client_without_message_content_intent_gets_blank_content(emu: Emulator) -> None:
    guild = emu.guilds[0]
    intents = discord.Intents.default()  # no privileged intents
    bot = Bot(intents=intents)
    async with running(bot, emu.token):
        await emu.post_message(guild.id, guild.system_channel_id, guild.human_ids[0], "secret")
        await emu.post_message(
            guild.id, guild.system_channel_id, guild.human_ids[0], "hey", mention_bot=True
        )
        await bot.wait_for_messages(2)
    assert [m.content for m in bot.messages] == ["", f"<@{emu.bot_id}> hey"]
