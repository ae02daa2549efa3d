"""A live discord source for the input tests: the real discord.py client, the emulator, no Ray.

    async with live() as s:
        mid = await s.say("hello")        # a member writes in #general
        await s.settle()                  # everything sent before is handled now
        event, line = s.offered(mid)      # what the source offered for it (or None)

`settle` relies on the gateway keeping order and on the source handling each event inside
discord.py's parser: once a later message is offered, every earlier payload was handled, so a
test can assert that something was *not* offered without sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator
from typing import Any

from discord_testkit import SPECS, Collected, config

from actions import OutgoingMessage
from actors.clock import ManualClock
from actors.routing.wire import Line
from actors.sources.discord.endpoints import reset_discord_endpoints
from actors.sources.discord.source import DiscordSource, make_discord_source
from guildmind.emulator import Emulator, Guild, GuildSpec
from guildmind.emulator.wiring import EMULATOR_TOKEN
from tests.fixtures.polling import wait_until_async

AT = 1_900_000_000.0  # the runtime clock's time


@contextlib.asynccontextmanager
async def running(source: DiscordSource, offer: Collected) -> AsyncIterator[None]:
    task = asyncio.create_task(source.run(offer))

    def ready() -> bool:
        assert not task.done(), f"the source stopped before it was ready: {source.error}"
        return source.status()["ready"]

    try:
        await wait_until_async(ready, what="the source to be ready", timeout_s=10, interval_s=0.02)
        yield
    finally:
        await source.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


class Live:
    """A running source on an emulator, and ways to talk in its first guild."""

    def __init__(self, emu: Emulator, source: DiscordSource, got: Collected) -> None:
        self.emu, self.source, self.got = emu, source, got
        self.guild = emu.guilds[0]
        self.general = self.guild.system_channel_id
        self.random = self.guild.channel_ids[1]
        self.user = self.guild.human_ids[0]
        self._settles = itertools.count()

    async def say(self, text: str, **kw: Any) -> int:
        """A member (`user`, default the first) writes in `channel` (default #general)."""
        user, channel = kw.pop("user", self.user), kw.pop("channel", self.general)
        return await self.emu.post_message(self.guild.id, channel, user, text, **kw)

    async def bot_says(self, text: str, guild: Guild | None = None) -> int:
        """The bot sends a message in a guild's #general (through the source: it knows its ids)."""
        guild = guild or self.guild
        out = OutgoingMessage(
            guild_id=guild.id, channel_id=guild.system_channel_id, text=text, action="reply"
        )
        assert await self.source.send(out) is None
        return self.emu.sent[-1].message_id

    def offered(self, message_id: int) -> tuple[Any, Line] | None:
        """The (event, line) the source offered for a message, or None."""
        return next(
            ((e, line) for e, line in self.got.items if line and line.message_id == message_id),
            None,
        )

    async def settle(self) -> None:
        """Wait until everything the emulator sent so far has been handled by the source."""
        # a mention: offered whichever channels count (it is dropped from `got` again)
        mid = await self.say(f"(settle {next(self._settles)})", mention_bot=True)
        await self.got.wait(lambda: self.offered(mid) is not None, what="the settle message")
        self.got.items = [
            (e, line) for e, line in self.got.items if not line or line.message_id != mid
        ]


@contextlib.asynccontextmanager
async def live(extra: str = "", specs: list[GuildSpec] | None = None) -> AsyncIterator[Live]:
    """A source (configured with `extra` TOML under [source.discord]) on a fresh emulator."""
    emu = Emulator(specs or SPECS, seed=3, bot_token=EMULATOR_TOKEN)
    async with emu:
        try:
            source = make_discord_source(config(emu, extra=extra), ManualClock(AT))
            got = Collected()
            async with running(source, got):
                yield Live(emu, source, got)
        finally:
            reset_discord_endpoints()
