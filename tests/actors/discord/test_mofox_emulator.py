"""MoFox-Bot plugins on the wire: the real discord.py client against the emulator.

What a MoFox action sends leaves through the Discord source as discord.py sends it: a sticker is
an uploaded image, a reply references the message it answers.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from discord_testkit import SPECS, Collected, config

from actions import OutgoingMessage
from actors.clock import ManualClock
from actors.sources.discord.endpoints import reset_discord_endpoints
from actors.sources.discord.source import DiscordSource, make_discord_source
from guildmind.emulator import Emulator
from guildmind.emulator.records import Attachment
from guildmind.emulator.wiring import EMULATOR_TOKEN
from tests.fixtures.polling import wait_until_async

AT = 1_900_000_000.0
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    emulator = Emulator(SPECS, seed=5, bot_token=EMULATOR_TOKEN)
    async with emulator:
        try:
            yield emulator
        finally:
            reset_discord_endpoints()


@contextlib.asynccontextmanager
async def ready(emu: Emulator) -> AsyncIterator[DiscordSource]:
    source = make_discord_source(config(emu), ManualClock(AT))
    task = asyncio.create_task(source.run(Collected()))
    try:
        await wait_until_async(
            lambda: source.status()["ready"], what="the source to be ready", timeout_s=10,
            interval_s=0.02,
        )  # fmt: skip
        yield source
    finally:
        await source.close()
        task.cancel()
        with contextlib.suppress(BaseException):
            await task


async def test_an_image_message_is_uploaded_as_a_file_with_its_reply(emu: Emulator) -> None:
    guild = emu.guilds[0]
    general, user = guild.system_channel_id, guild.human_ids[0]
    async with ready(emu) as source:
        asked = await emu.post_message(guild.id, general, user, "a sticker please")
        sticker = OutgoingMessage(
            guild_id=guild.id, channel_id=general, text="", action="sticker", kind="image",
            attachment=PNG, filename="sticker.png", reply_to=asked,
        )  # fmt: skip
        assert await source.send(sticker) is None
    [sent] = emu.sent
    assert sent.content == "" and sent.attachments == (Attachment("sticker.png", len(PNG)),)
    assert int(sent.message_reference["message_id"]) == asked  # type: ignore[index]
