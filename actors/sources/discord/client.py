"""The discord.py client a `DiscordSource` runs, and what is set on discord.py around it.

What belongs here: the `AutoShardedClient` subclass (events handed to the source, shard launches
and IDENTIFY pacing hooked), closing shards still starting, and keeping discord.py's payload
loggers from writing message text. The source itself (`source`) builds and runs the client.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

import discord
from discord.gateway import KeepAliveHandler

from actors.sources.discord.commands import command_tree

if TYPE_CHECKING:
    from actors.sources.discord.source import DiscordSource

# guildmind never speaks in voice: no warnings about voice libraries it does not need
discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
PAYLOAD_LOGGERS = ("discord.gateway", "discord.http")
"""discord.py's loggers that write whole payloads (message text) at DEBUG."""


def _no_payloads(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.INFO


def quiet_payload_loggers() -> None:
    # A filter, not a level: a level would also let their INFO lines through where the root
    # is at WARNING. A logger's filter applies to its own records, whatever the root's level.
    for name in PAYLOAD_LOGGERS:
        logger = logging.getLogger(name)
        if _no_payloads not in logger.filters:
            logger.addFilter(_no_payloads)


async def close_starting(client: discord.Client) -> None:
    """Close the websockets of `client`'s shards that were still starting when it closed.

    discord.py starts a shard's heartbeat thread at HELLO but closes only the shards that have
    finished starting: a client closed while a shard starts (an IDENTIFY refused and retried, a
    handover) would leave that socket open and its thread beating into a closed event loop."""
    state = client._connection
    for thread in threading.enumerate():
        if isinstance(thread, KeepAliveHandler) and getattr(thread.ws, "_connection", 0) is state:
            await thread.ws.close(code=1000)


class SourceClient(discord.AutoShardedClient):
    """discord.py's client, handing the events guildmind needs straight to the source: each
    event in `source.handlers` is handled synchronously, in the parser's call; a shard's launch
    may be a cold resume (`source.resume`); IDENTIFY waits for the bot's shared limits."""

    def __init__(self, source: DiscordSource, **options: Any) -> None:
        super().__init__(**options)
        self.source = source
        self.tree = command_tree(self, source)

    def dispatch(self, event: str, /, *args: Any, **kwargs: Any) -> None:
        # Handled synchronously in the parser's call: no task per event (the hot path).
        handler = self.source.handlers.get(event)
        if handler is not None:
            try:
                handler(*args)
            except Exception as e:
                self.source.handler_failed(event, e)
        super().dispatch(event, *args, **kwargs)

    async def launch_shard(self, gateway: Any, shard_id: int, *, initial: bool = False) -> None:
        if self.user is not None:  # (set by login) a replay's mentions of the bot are seen
            self.source.bot_id = self.user.id
        if not await self.source.resume.launch(self, shard_id, initial=initial):
            await super().launch_shard(gateway, shard_id, initial=initial)

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        # instead of discord.py's 5 s sleep (per process): the bot's shared limits
        await self.source.before_identify(self, shard_id or 0)
