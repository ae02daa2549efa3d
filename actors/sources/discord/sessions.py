"""A `DiscordSource`'s shard sessions: where they are kept, and the cold resume's wiring.

What belongs here: the source's side of `resume.ColdResume` (which resumes each shard's Discord
session after a restart instead of identifying anew): the shard events it follows, the guilds a
cold-resumed shard never announced (no GUILD_CREATE comes), the replayed messages marked, the
client marked ready once every shard is back. The sessions' bookkeeping itself is `resume`'s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord

from actors.sources.discord.resume import ColdResume, Load, Save, Settle
from engine import valid_id

if TYPE_CHECKING:
    from actors.sources.discord.client import SourceClient


class ShardSessions:
    """`DiscordSource`'s cold-resume wiring (a mixin: the state is the source's own, set in its
    `__init__`)."""

    resume: ColdResume
    client: SourceClient | None
    call_host: Any
    _asked: set[int]

    @property
    def resumable(self) -> bool:
        """Whether this source keeps its shards' sessions (`source.discord.cold_resume`)."""
        return self.resume.enabled

    def keep_sessions(self, load: Load, save: Save, settle: Settle) -> None:
        """Where the shards' sessions are kept, and the gateway's barrier (cold resume)."""
        self.resume.attach(load, save, settle)

    def _uncached_guild(self, message: discord.Message) -> int | None:
        """The guild of a message discord.py has no guild for, when its shard was cold-resumed
        (no GUILD_CREATE came: see `resume`); None for any other guild-less message."""
        client, gid = self.client, getattr(message.channel, "guild_id", None)
        if not (self.resume.cold and client is not None and valid_id(gid)):
            return None
        if (gid >> 22) % (client.shard_count or 1) not in self.resume.cold:
            return None
        if gid not in self._asked and self.call_host is not None:
            self._asked.add(gid)  # where the bot lives there (what GUILD_CREATE would tell)
            self._spawn(self._tell_default(gid, 0))
        return gid

    def _resuming(self, client: SourceClient) -> bool:
        # a reply to a message Discord replays comes before RESUMED: REST works since the login
        return bool(self.resume.cold) and client.user is not None and not client.is_closed()

    def _replayed(self, guild_id: int) -> bool:
        client = self.client
        return client is not None and self.resume.replayed(guild_id, client.shard_count or 1)

    def _on_shard_connect(self, shard_id: int) -> None:
        self.resume.connected(shard_id)

    def _on_shard_resumed(self, shard_id: int) -> None:
        if self.resume.resumed(shard_id):
            self._all_ready()

    def _on_shard_ready(self, shard_id: int) -> None:
        if self.resume.ready(shard_id):
            self._all_ready()

    def _all_ready(self) -> None:
        # every shard RESUMED or ready: discord.py waits for a READY from each, which a resumed
        # shard never gets, so its client is marked ready here (what its "ready" handler does)
        client = self.client
        if client is not None and self.resume.cold and not client.is_ready():
            client._handle_ready()
            self._on_ready()
