"""Discord's shards among the gateways: which shard a guild is on, which gateway owns a shard.

Pure arithmetic, the same in every process. A bot's guilds are split over `shard_count` gateway
sessions by Discord's formula (https://discord.com/developers/docs/events/gateway#sharding):

    shard_id = (guild_id >> 22) % shard_count

Each gateway actor owns a contiguous range of the shards it runs (discord.py's `shard_ids` with
`shard_count`); `split_shards` cuts them, `ShardMap` answers "whose is this guild". IDENTIFY is
limited per bucket (https://discord.com/developers/docs/events/gateway#sharding-max-concurrency):

    rate_limit_key = shard_id % max_concurrency
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard Discord sends a guild's events on (Discord's sharding formula)."""
    return (guild_id >> 22) % shard_count


def bucket_of(shard_id: int, max_concurrency: int) -> int:
    """The IDENTIFY rate-limit bucket of a shard (`rate_limit_key`, Discord's docs)."""
    return shard_id % max_concurrency


def split_shards(shards: Sequence[int], gateways: int) -> list[tuple[int, ...]]:
    """`shards` (in order) cut into `gateways` contiguous ranges, sizes differing by at most one.

    A gateway gets no shard when there are fewer shards than gateways (its range is empty).
    Raises ValueError for `gateways` < 1.
    """
    if gateways < 1:
        raise ValueError(f"gateways must be >= 1, got {gateways!r}")
    ordered = sorted(shards)
    size, extra = divmod(len(ordered), gateways)
    ranges, at = [], 0
    for i in range(gateways):
        n = size + (1 if i < extra else 0)
        ranges.append(tuple(ordered[at : at + n]))
        at += n
    return ranges


class ShardMap(msgspec.Struct, frozen=True):
    """Which gateway (by name) runs which shards of a bot with `shard_count` shards."""

    shard_count: int
    ranges: dict[str, tuple[int, ...]]  # gateway name → its shards

    def owner_of_shard(self, shard_id: int) -> str | None:
        """The gateway running `shard_id`, or None when no gateway runs it."""
        for name, shards in self.ranges.items():
            if shard_id in shards:
                return name
        return None

    def owner(self, guild_id: int) -> str | None:
        """The gateway that hears `guild_id` (and sends its messages), or None."""
        return self.owner_of_shard(shard_of(guild_id, self.shard_count))

    def moved(self, name: str, shards: tuple[int, ...], to: str) -> ShardMap:
        """This map after `shards` moved from gateway `name` to gateway `to`.

        Raises ValueError when `name` does not run all of `shards`."""
        have = self.ranges.get(name, ())
        missing = [s for s in shards if s not in have]
        if missing:
            raise ValueError(f"{name} does not run shards {missing!r}; it runs {list(have)!r}")
        ranges = dict(self.ranges)
        ranges[name] = tuple(s for s in have if s not in shards)
        ranges[to] = tuple(sorted((*ranges.get(to, ()), *shards)))
        return ShardMap(self.shard_count, ranges)


__all__ = ["ShardMap", "bucket_of", "shard_of", "split_shards"]
