"""What the gateway's discord.py client keeps in memory: no message, once read."""

from __future__ import annotations

import asyncio

from discord_testkit import SPECS, Collected, config

from actors.clock import ManualClock
from actors.sources.discord.endpoints import reset_discord_endpoints
from actors.sources.discord.source import make_discord_source
from engine import MessageEvent
from guildmind.emulator import Emulator
from guildmind.emulator.wiring import EMULATOR_TOKEN
from tests.fixtures.polling import wait_until_async


async def test_the_client_keeps_no_message_text_once_it_is_read() -> None:
    # discord.py's default keeps the last 1,000 messages, text and all, for as long as the
    # process runs: out of reach of the transcripts' hour, of /guildmind-forget-me, of anything
    emu = Emulator(SPECS, seed=3, bot_token=EMULATOR_TOKEN)
    got = Collected()
    async with emu:
        source = make_discord_source(config(emu), ManualClock(1_900_000_000.0))
        task = asyncio.create_task(source.run(got))
        try:
            await wait_until_async(lambda: source.status()["ready"], what="the source ready")
            g = emu.guilds[0]
            await emu.post_message(g.id, g.system_channel_id, g.human_ids[0], "my secret plans")
            await got.wait(lambda: got.of(MessageEvent))
            state = source.client._connection  # type: ignore[union-attr]
            assert state.max_messages is None and not state._messages
            assert not any("secret plans" in m.content for m in source.client.cached_messages)
        finally:
            task.cancel()
            await source.close()
            reset_discord_endpoints()
