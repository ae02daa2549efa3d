"""Test helpers: real discord.py clients that record what they see, run and closed cleanly.

A uniquely named module (not ``conftest``) so ``from emulator_harness import ...`` cannot pick
up another directory's conftest."""

from __future__ import annotations

import asyncio
import contextlib
import warnings
from collections.abc import AsyncIterator

# discord.py 2.7.1 imports the stdlib audioop, which warns on import (DeprecationWarning)
# and filterwarnings=error turns that into an ImportError. Ignore just that warning here;
# a pyproject filter ("ignore:'audioop' is deprecated:DeprecationWarning") would be cleaner.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)
    import discord

from guildmind.emulator import GuildSpec

SPECS = [
    GuildSpec("Alpha", users=5, chatter="busy"),
    GuildSpec("Beta", users=3, chatter="normal"),
    GuildSpec("Gamma", users=4, chatter="quiet"),
    GuildSpec("Delta", users=2, chatter="dead"),
]


def intents() -> discord.Intents:
    it = discord.Intents.none()
    it.guilds = it.guild_messages = it.message_content = it.members = it.presences = True
    return it


class Bot(discord.Client):
    """A real discord.Client that records what it sees, for assertions."""

    def __init__(self, **options: object) -> None:
        options.setdefault("intents", intents())
        options.setdefault("guild_ready_timeout", 0.05)
        super().__init__(**options)  # type: ignore[arg-type]
        self.ready = asyncio.Event()
        self.messages: list[discord.Message] = []
        self.presences: list[tuple[discord.Member, discord.Member]] = []
        self.joins: list[discord.Member] = []
        self.got_message = asyncio.Event()

    async def on_ready(self) -> None:
        self.ready.set()

    async def on_message(self, message: discord.Message) -> None:
        self.messages.append(message)
        self.got_message.set()

    async def on_presence_update(self, before: discord.Member, after: discord.Member) -> None:
        self.presences.append((before, after))

    async def on_member_join(self, member: discord.Member) -> None:
        self.joins.append(member)

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        # discord.py sleeps 5 s before every non-initial IDENTIFY; the emulator has no limit.
        return None

    async def wait_for_messages(self, n: int, timeout: float = 3.0) -> None:
        async with asyncio.timeout(timeout):
            while len(self.messages) < n:
                self.got_message.clear()
                await self.got_message.wait()


@contextlib.asynccontextmanager
async def running(
    client: discord.Client, token: str, timeout: float = 5.0
) -> AsyncIterator[asyncio.Task[None]]:
    """Run ``client.start(token)`` in a task until on_ready, and close it cleanly after."""
    task = asyncio.create_task(client.start(token))
    ready = asyncio.create_task(client.ready.wait())  # type: ignore[attr-defined]
    try:
        done, _ = await asyncio.wait({task, ready}, timeout=timeout, return_when="FIRST_COMPLETED")
        if task in done:
            task.result()  # re-raise why the client stopped
        if ready not in done:
            raise TimeoutError(f"The client was not ready within {timeout}s.")
        yield task
    finally:
        ready.cancel()
        await client.close()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(task, 2.0)
