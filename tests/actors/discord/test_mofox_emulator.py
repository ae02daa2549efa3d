"""MoFox-Bot plugins on the wire: the real discord.py client against the emulator.

What a MoFox action sends leaves through the Discord source as discord.py sends it: a sticker is
an uploaded image, a reply references the message it answers.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from discord_testkit import SPECS, Collected, config

from actions import OutgoingMessage
from actors.clock import ManualClock
from actors.remote.runtime import Runtime
from actors.sources.discord.endpoints import reset_discord_endpoints
from actors.sources.discord.source import DiscordSource, make_discord_source
from guildmind.emulator import Emulator, GuildSpec
from guildmind.emulator.records import Attachment
from guildmind.emulator.wiring import EMULATOR_TOKEN, pointed_at, wait_connected
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


# -- the whole runtime: Ray, the gateway's discord.py client, a guild host, the plugins ----------

FIXTURES = Path(__file__).resolve().parents[2] / "actions" / "mofox_plugins"
SPEED = 60.0  # the 120 s start-up gate passes in 2 s
EXTRA = """
[runtime]
speed = {speed}
hosts = 1
data_dir = "{data}"
plugin_dirs = ["{plugins}"]
[metrics]
port = 0
[mood_rotation]
interval_s = 0
[defaults]
quiet_hours = false
"""


@pytest.mark.usefixtures("ray_session")
async def test_mofox_plugins_answer_through_the_runtime(tmp_path: Path) -> None:
    """A MoFox plugin in ``runtime.plugin_dirs`` (beside a native one) answers a greeting with
    its config.toml's words as a reply to it, and sends its sticker as an uploaded image."""
    emu = Emulator([GuildSpec("MoFox", users=3, chatter="dead")], seed=13,
                   bot_token=EMULATOR_TOKEN)  # fmt: skip
    await emu.start()
    extra = EXTRA.format(speed=SPEED, data=tmp_path, plugins=FIXTURES)
    rt = Runtime(pointed_at(config(emu, extra=extra), emu))
    emu.use_clock(rt.clock.now, rt.clock.speed)
    try:
        await asyncio.to_thread(rt.start)
        status = await wait_connected(rt.gateway, 30)
        assert status["ready"], status
        await wait_until_async(lambda: rt.clock.now() > rt.started_at + 121,
                               what="the start-up gate", timeout_s=20)  # fmt: skip
        g = emu.guilds[0]
        general, ana, bo = g.system_channel_id, g.human_ids[0], g.human_ids[1]

        hello = await emu.post_message(g.id, general, ana, "hello there", mention_bot=True)
        [greeting] = await replies(emu, hello)
        assert greeting.content == "Hello from config.toml!" and greeting.attachments == ()

        await wait_until_async(lambda: rt.clock.now() > greeting.at + 31,
                               what="the gap between the bot's actions", timeout_s=20)  # fmt: skip
        # another channel: its transcript has no "hello" (keywords match the recent messages)
        other = next(c for c in g.channel_ids if c != general)
        asked = await emu.post_message(g.id, other, bo, "a sticker please", mention_bot=True)
        [sticker] = await replies(emu, asked)
        assert sticker.content == "" and [a.filename for a in sticker.attachments] == [
            "sticker.png"
        ]
        _, said = await rt.gateway.said_since.remote(0)
        mine = [s.message.action for s in said if s.message.guild_id == g.id]
        assert mine[-2:] == ["greet", "sticker"]
    finally:
        await asyncio.to_thread(rt.stop)
        await emu.stop()


async def replies(emu: Emulator, message_id: int, timeout: float = 20.0) -> list:
    def answered() -> list:
        return [
            s for s in emu.sent
            if int((s.message_reference or {}).get("message_id") or 0) == message_id
        ]  # fmt: skip

    await emu.wait_until(lambda: bool(answered()), timeout)
    return answered()
