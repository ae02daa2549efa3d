"""Which guilds a host holds: the partitions it was given, or one guild (dedicated placement)."""

from __future__ import annotations

import msgspec

from actors.routing.partition import partition_of


class Ownership(msgspec.Struct, frozen=True):
    """A host's share of the guilds; call it with a guild id."""

    partitions: int
    mine: frozenset[int] = frozenset()  # partition numbers (sharded placement)
    guild: int | None = None  # the one guild of a dedicated host

    def __call__(self, guild_id: int) -> bool:
        if self.guild is not None:
            return guild_id == self.guild
        return partition_of(guild_id, self.partitions) in self.mine
