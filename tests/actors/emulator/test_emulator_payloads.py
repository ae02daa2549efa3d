"""The shapes from Discord bug reports, as the emulator sends them and discord.py parses them.

Forwards, crossposts, system messages (and a type not invented yet), other bots, activities of
every type, the bot's own role, and what discord.py does with presences when the members intent
is off.
"""

from __future__ import annotations

import discord
from emulator_harness import SPECS, Bot, intents, running

from actors.sources.discord.endpoints import configure_discord_endpoints, reset_discord_endpoints
from guildmind.emulator import Emulator, GuildSpec
from tests.fixtures.polling import wait_until_async


async def test_a_forward_has_empty_content_and_the_text_in_its_snapshot(emu: Emulator) -> None:
    guild = emu.guilds[0]
    general, alice, bob = guild.system_channel_id, guild.human_ids[0], guild.human_ids[1]
    bot = Bot()
    async with running(bot, emu.token):
        original = await emu.post_message(guild.id, guild.channel_ids[1], alice, "look at this")
        forward = await emu.forward_message(guild.id, general, bob, original)
        await bot.wait_for_messages(2)
    message = bot.messages[1]
    assert message.id == forward and message.content == "" and message.author.id == bob
    assert message.type is discord.MessageType.default and not message.is_system()
    assert message.reference is not None and message.reference.message_id == original
    assert message.reference.type is discord.MessageReferenceType.forward
    assert [s.content for s in message.message_snapshots] == ["look at this"]
    assert message.flags.value & (1 << 14)  # HAS_SNAPSHOT


async def test_a_forward_without_the_message_content_intent_hides_the_forwarded_text_too(
    emu: Emulator,
) -> None:
    guild = emu.guilds[0]
    it = intents()
    it.message_content = False
    bot = Bot(intents=it)
    async with running(bot, emu.token):
        original = await emu.post_message(guild.id, guild.channel_ids[1], guild.human_ids[0], "x")
        await emu.forward_message(guild.id, guild.system_channel_id, guild.human_ids[1], original)
        await bot.wait_for_messages(2)
    assert [s.content for s in bot.messages[1].message_snapshots] == [""]


async def test_a_crosspost_is_flagged_and_written_by_a_webhook(emu: Emulator) -> None:
    home, other = emu.guilds[0], emu.guilds[1]
    bot = Bot()
    async with running(bot, emu.token):
        original = await emu.post_message(
            other.id, other.system_channel_id, other.human_ids[0], "patch notes"
        )
        copy = await emu.crosspost_message(home.id, home.system_channel_id, original)
        await bot.wait_for_messages(2)
    message = bot.messages[1]
    assert message.id == copy and message.content == "patch notes"
    assert message.flags.is_crossposted and message.webhook_id is not None
    assert not message.author.bot  # as Discord sends them now: the flag tells, not the author
    assert message.reference is not None and message.reference.message_id == original
    assert message.reference.guild_id == other.id


async def test_system_messages_and_an_unknown_type_parse_as_discord_py_knows_them(
    emu: Emulator,
) -> None:
    guild = emu.guilds[0]
    general, user = guild.system_channel_id, guild.human_ids[0]
    bot = Bot()
    async with running(bot, emu.token):
        pinned = await emu.post_message(guild.id, general, user, "pin me")
        ref = {"message_id": str(pinned), "channel_id": str(general), "guild_id": str(guild.id)}
        await emu.post_message(
            guild.id, general, user, "", fields={"type": 6, "message_reference": ref}
        )
        await emu.post_message(guild.id, general, user, "", fields={"type": 7})
        await emu.post_message(guild.id, general, user, "", fields={"type": 99})
        await bot.wait_for_messages(4)
    _, pin, joined, future = bot.messages
    assert pin.type is discord.MessageType.pins_add and pin.is_system()
    assert pin.reference is not None and pin.reference.message_id == pinned
    assert joined.type is discord.MessageType.new_member and joined.is_system()
    assert future.type.value == 99 and future.is_system()  # discord.py: unknown is system


async def test_other_bots_are_members_online_and_can_join() -> None:
    emu = Emulator([GuildSpec("Bots", users=2, bots=1)], seed=1)
    async with emu:
        configure_discord_endpoints(emu.api_base, emu.gateway_url)
        try:
            guild = emu.guilds[0]
            (other,) = guild.bot_ids
            assert other not in guild.human_ids and len(guild.human_ids) == 2
            bot = Bot()
            async with running(bot, emu.token):
                member = bot.get_guild(guild.id).get_member(other)  # type: ignore[union-attr]
                assert member is not None and member.bot
                assert member.status is discord.Status.online
                joined = await emu.member_join(guild.id, bot=True)
                await wait_until_async(lambda: bot.joins, what="the bot's join", timeout_s=2)
        finally:
            reset_discord_endpoints()
    assert bot.joins[0].id == joined and bot.joins[0].bot
    assert joined in guild.bot_ids and joined not in guild.human_ids


async def test_activities_of_every_type_reach_discord_py_as_sent(emu: Emulator) -> None:
    guild = emu.guilds[0]
    user = guild.human_ids[0]
    sent = [
        {"name": "Twitch", "type": 1, "url": "https://twitch.tv/x", "details": "any%",
         "state": "Celeste"},
        {"name": "Hang Status", "type": 6, "state": "chilling"},
        {"name": "Spotify", "type": 2, "sync_id": "a", "session_id": "b", "details": "Song"},
    ]  # fmt: skip
    bot = Bot()
    async with running(bot, emu.token):
        await emu.set_presence(guild.id, user, activities=sent)
        await wait_until_async(lambda: bot.presences, what="the presence", timeout_s=2)
    stream, hang, spotify = bot.presences[0][1].activities
    assert isinstance(stream, discord.Streaming) and stream.game == "Celeste"
    assert stream.name == "any%"  # discord.py: a stream's name is its title
    assert hang.type not in list(discord.ActivityType) and int(hang.type) == 6
    assert hang.name == "Hang Status"
    assert isinstance(spotify, discord.Spotify)


async def test_the_bots_managed_role_carries_its_bot_id(emu: Emulator) -> None:
    guild = emu.guilds[0]
    bot = Bot()
    async with running(bot, emu.token):
        own = bot.get_guild(guild.id).self_role  # type: ignore[union-attr]
    assert own is not None and own.id == guild.bot_role_id and own.is_bot_managed()


async def _presences_seen(members: bool) -> tuple[int, int]:
    """Three presence updates: (on_presence_update calls, on_raw_presence_update calls)."""
    raw: list[discord.RawPresenceUpdateEvent] = []

    async def on_raw_presence_update(payload: discord.RawPresenceUpdateEvent) -> None:
        raw.append(payload)

    emu = Emulator(SPECS, seed=7)
    async with emu:
        configure_discord_endpoints(emu.api_base, emu.gateway_url)
        guild = emu.guilds[0]
        it = intents()
        it.members = members
        bot = Bot(intents=it)
        bot.on_raw_presence_update = on_raw_presence_update  # type: ignore[attr-defined]
        try:
            async with running(bot, emu.token):
                for user in guild.human_ids[:3]:
                    await emu.set_presence(guild.id, user, activity="Celeste")
                # the gateway keeps order: once this message is in, the updates were read
                await emu.post_message(guild.id, guild.system_channel_id, guild.human_ids[0], "x")
                await bot.wait_for_messages(1)
        finally:
            reset_discord_endpoints()
    return len(bot.presences), len(raw)


async def test_without_the_members_intent_discord_py_discards_presence_updates() -> None:
    """Why guildmind refuses presences = true with members = false (config.IntentsConfig)."""
    assert (await _presences_seen(members=True))[0] == 3  # the control: the updates do arrive
    # without it, only the raw event: no member, so neither who it is nor whether a bot
    assert await _presences_seen(members=False) == (0, 3)


async def test_a_large_guild_lists_its_online_members_and_the_rest_come_on_request() -> None:
    """Discord's GUILD_CREATE of a guild above the large threshold (250) lists only the members
    online; discord.py asks for the rest (chunking) when it may cache members."""
    emu = Emulator([GuildSpec("Large", users=300, online=0.1), GuildSpec("Small", users=9)])
    async with emu:
        configure_discord_endpoints(emu.api_base, emu.gateway_url)
        try:
            large, small = emu.guilds
            payload = emu.world.guild_create_payload(large, emu.now(), presences=True)
            assert payload["large"] and payload["member_count"] == 301
            listed = {int(m["user"]["id"]) for m in payload["members"]}
            assert listed == {emu.world.bot.id, *large.presences} and len(listed) == 31
            assert len(emu.world.guild_create_payload(large, emu.now(), False)["members"]) == 1
            small_payload = emu.world.guild_create_payload(small, emu.now(), presences=True)
            assert not small_payload["large"] and len(small_payload["members"]) == 10
            for chunk, cached in ((True, 301), (False, 31)):  # discord.py asks, or does not
                bot = Bot(chunk_guilds_at_startup=chunk)
                async with running(bot, emu.token, timeout=20):
                    guild = bot.get_guild(large.id)
                    assert guild is not None and guild.large
                    await wait_until_async(
                        lambda g=guild, n=cached: len(g.members) == n,
                        what=f"{cached} members cached",
                        timeout_s=10,
                    )
                    online = [m for m in guild.members if m.status is discord.Status.online]
                    assert len(online) == 31  # the presences came with GUILD_CREATE
        finally:
            reset_discord_endpoints()
