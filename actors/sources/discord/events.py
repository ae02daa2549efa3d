"""What a `DiscordSource` does with the events discord.py dispatches (its `handlers`).

What belongs here: messages, presence changes and member joins turned into engine events
(`normalise`) and offered to the gateway; which channels count in each guild (where the bot
lives); the hosts told when the bot becomes available in a guild (its default channel) or is
removed from one; the slash commands registered once ready; a handler's failure counted. The
shards' cold-resume wiring is in `sessions`, the client itself in `client`.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import discord

from actors.clock import Clock
from actors.sources.base import Offer
from actors.sources.discord import normalise as norm
from engine import valid_id

if TYPE_CHECKING:
    from actors.sources.discord.client import SourceClient

log = logging.getLogger(__name__)

DISPATCHED_KINDS = {
    "message": "message",
    "presence_update": "presence",
    "member_join": "member_join",
}
"""discord.py's event (what a handler gets) → the metrics' event type label."""


class SourceEvents:
    """`DiscordSource`'s event handlers (a mixin: the state is the source's own, set in its
    `__init__`)."""

    clock: Clock
    offer: Offer
    client: SourceClient | None
    call_host: Any
    bot_id: int
    names: tuple[str, ...]
    channels: dict[int, frozenset[int]]
    counts: collections.Counter[str]
    handlers: dict[str, Callable[..., None]]
    _own: dict[int, None]
    _synced: bool
    _tasks: set[asyncio.Task[Any]]

    def handler_failed(self, event: str, error: Exception) -> None:
        # discord.py took a mangled payload (content, flags or mentions of the wrong type) that
        # the source cannot read: that payload is skipped and counted, like one discord.py refused
        self.counts["handler_errors"] += 1
        kind = DISPATCHED_KINDS.get(event, "other")
        self._skipped(f"a {event} event the source could not read", kind, "malformed", error)

    def _on_message(self, message: discord.Message) -> None:
        guild = message.guild
        guild_id = guild.id if guild is not None else self._uncached_guild(message)
        if guild_id is None:
            if getattr(message.channel, "guild_id", None) is not None:  # not a direct message
                self._skipped("a message of a guild the bot is not in", "message",
                              "unknown_guild", None)  # fmt: skip
            else:
                self.counts["direct"] += 1  # the bot speaks in guilds only
            return
        if not norm.is_conversation(message):
            self.counts["not_conversation"] += 1  # a pin, a join, a boost…: nobody spoke
            return
        autonomous = self.autonomous(guild_id, message.channel.id)
        # Its name is heard only where the bot lives: elsewhere people talk *about* Miku.
        names = self.names if autonomous else ()
        addressed = norm.addresses_bot(message, self.bot_id, self._own, names)
        if not (autonomous or addressed):
            return  # not where the bot lives, and not for it: nothing would count it
        event = norm.message_event(
            message, bot_id=self.bot_id, at=self.clock.now(), addressed=addressed,
            guild_id=guild_id, replayed=self._replayed(guild_id),
        )  # fmt: skip
        if event is None:
            return
        self.counts["messages"] += 1
        self.offer(event, norm.line(message, event))

    def autonomous(self, guild_id: int, channel_id: int) -> bool:
        """True when the bot lives in that channel (all of a guild's, until told otherwise)."""
        counted = self.channels.get(guild_id)
        return not counted or channel_id in counted

    def _on_presence(self, before: discord.Member, after: discord.Member) -> None:
        event = norm.presence_event(before, after, at=self.clock.now())
        if event is not None:
            self.counts["presences"] += 1
            self.offer(event, None)

    def _on_join(self, member: discord.Member) -> None:
        event = norm.join_event(member, at=self.clock.now())
        if event is not None:
            self.counts["joins"] += 1
            self.offer(event, None)

    def _on_guild(self, guild: discord.Guild) -> None:
        if not valid_id(guild.id):  # no host could keep it: the stores refuse such an id
            self._skipped("a guild whose id is no snowflake", "other", "invalid_id", None)
            return
        for event in norm.online_members(guild, at=self.clock.now()):
            self.offer(event, None)
        channel = norm.default_channel(guild)
        if self.call_host is not None:  # (also when it has no channel: the bot is back there)
            self._spawn(self._tell_default(guild.id, channel or 0))

    def _on_removed(self, guild: discord.Guild) -> None:
        # discord.py dispatches guild_remove only for a GUILD_DELETE that is not an outage
        # (an unavailable guild is guild_unavailable): the bot was removed, or the guild deleted
        self.channels.pop(guild.id, None)
        if self.call_host is not None:
            self._spawn(self._tell_left(guild.id))

    async def _tell_left(self, guild_id: int) -> None:
        assert self.call_host is not None
        try:
            await self.call_host(guild_id, "left")
        except Exception as e:
            log.error("discord: could not tell a host the bot left a guild: %s", type(e).__name__)

    async def _tell_default(self, guild_id: int, channel_id: int) -> None:
        assert self.call_host is not None
        try:
            counted = await self.call_host(guild_id, "set_default_channel", channel_id)
        except Exception as e:
            log.error("discord: could not tell a host a guild's channel: %s", type(e).__name__)
            return
        self.channels[guild_id] = frozenset(counted)

    def set_channels(self, guild_id: int, counted: list[int]) -> None:
        """A slash command changed where the bot lives."""
        self.channels[guild_id] = frozenset(counted)

    def _on_ready(self) -> None:
        assert self.client is not None and self.client.user is not None
        self.bot_id = self.client.user.id
        if not self._synced:
            self._synced = True
            self._spawn(self._sync_commands())

    async def _sync_commands(self) -> None:
        assert self.client is not None
        try:
            await self.client.tree.sync()
        except discord.HTTPException as e:
            log.error("discord: could not register the slash commands (HTTP %s)", e.status)
