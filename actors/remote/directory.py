"""`Directory`: which host holds which partition (sharded) or guild (dedicated placement).

The one place that answers "where does guild G live?". Sharded: a fixed table of partition →
host name, read by gateways at start. Dedicated: every guild gets a `GuildHost` of its own,
created here on first use (the directory supervises those actors and stops them with `stop()`),
and at start for every guild in the state store, so that each stored guild has a host whose
timers forget its personal data and delete it when the bot has left it.

Names are opaque. An actor's name becomes the `process` label of everything its process exports
and the `host` label of `guildmind_host_restarts_total`, so a dedicated host is named after a
keyed hash of its guild id (`guild_host_name`), never the id: the key is the runtime's own,
given to the directory when it is made, so a directory Ray restarts finds the same names.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os

import ray

from actors.remote.host import NAMESPACE
from actors.routing.ownership import Ownership
from actors.routing.partition import host_of_partition
from actors.routing.shards import ShardMap
from config import Config


def host_name(prefix: str, index: int) -> str:
    return f"{prefix}host-{index}"


def gateway_name(prefix: str, index: int = 0) -> str:
    return f"{prefix}gateway-{index}"


_LETTERS = str.maketrans("0123456789abcdef", "abcdefghijklmnop")


def guild_host_name(prefix: str, guild_id: int, key: bytes) -> str:
    """The dedicated host of `guild_id`: 16 letters of a keyed hash, never a digit of the id
    (64 bits: names do not collide among the guilds a dedicated deployment holds)."""
    digest = hmac.new(key, str(guild_id).encode(), hashlib.sha256).digest()[:8]
    return f"{prefix}guild-{digest.hex().translate(_LETTERS)}"


@ray.remote(num_cpus=0, max_restarts=-1)
class Directory:
    """Partition → host (sharded), guild → its own host (dedicated)."""

    def __init__(
        self,
        prefix: str,
        config: Config,
        clock: dict,
        started_at: float,
        hosts: int,
        key: bytes = b"",
    ) -> None:
        self.prefix, self.config, self.clock, self.started_at = prefix, config, clock, started_at
        self.key = key or os.urandom(16)  # the runtime passes its own: stable across restarts
        self.partitions = config.runtime.partitions
        self._table = [
            host_name(prefix, host_of_partition(p, hosts)) for p in range(self.partitions)
        ]
        self._dedicated: dict[int, tuple[str, object]] = {}  # guild → (host name, handle)
        self._shards: ShardMap | None = None  # the gateways' shard ranges, after a handover

    def shards(self) -> ShardMap | None:
        """The gateways' shard ranges as last handed over (None: as they were made); a gateway
        that Ray restarted asks, since its constructor's range may be stale."""
        return self._shards

    def set_shards(self, shards: ShardMap) -> None:
        """Record the gateways' shard ranges (a handover)."""
        self._shards = shards

    def table(self) -> list[str]:
        """Host name by partition (sharded placement)."""
        return list(self._table)

    def partitions_of(self, host: str) -> list[int]:
        """The partitions `host` holds now (a restarted host asks: some may have moved)."""
        return [p for p, h in enumerate(self._table) if h == host]

    def set_table(self, table: list[str]) -> None:
        """Record a new placement (the last step of a partition move)."""
        if len(table) != self.partitions:
            raise ValueError(f"a table needs {self.partitions} partitions, got {len(table)}")
        self._table = list(table)

    async def place(self, guild_ids: list[int]) -> dict[int, str]:
        """Dedicated placement: the host of each guild, creating the missing ones."""
        from actors.remote.host import (
            GuildHost,  # imported here: Ray would pickle a captured actor class
        )

        made = []
        for gid in guild_ids:
            if gid not in self._dedicated:
                name = guild_host_name(self.prefix, gid, self.key)
                try:  # made before Ray restarted this directory: the same name, the same host
                    handle = await asyncio.to_thread(ray.get_actor, name, namespace=NAMESPACE)
                except ValueError:
                    handle = GuildHost.options(name=name, namespace=NAMESPACE).remote(
                        name, self.config, self.clock, self.started_at,
                        Ownership(self.partitions, guild=gid), gateway=gateway_name(self.prefix),
                    )  # fmt: skip
                    made.append(handle.info.remote())
                self._dedicated[gid] = (name, handle)
        if made:
            await asyncio.gather(*made)
        return {gid: self._dedicated[gid][0] for gid in guild_ids}

    async def place_stored(self) -> int:
        """Dedicated placement: a host for every guild in the state store (at start), so each
        keeps its deadlines (personal data, a guild left) without waiting for an event."""
        from actors.stores.base import open_configured

        def stored() -> list[int]:
            store = open_configured(self.config)
            try:
                return list(store.guild_ids())
            finally:
                store.close()

        ids = await asyncio.to_thread(stored)
        await self.place(ids)
        return len(ids)

    def dedicated(self) -> list[str]:
        return [name for name, _ in self._dedicated.values()]

    def hosts(self) -> list[str]:
        """Every host that may hold guilds now (a member's erasure asks them all)."""
        if self.config.runtime.placement == "dedicated":
            return sorted(name for name, _ in self._dedicated.values())
        return sorted(set(self._table))

    async def stop(self) -> None:
        """Stop the dedicated hosts (state written first)."""
        handles = [handle for _, handle in self._dedicated.values()]
        await asyncio.gather(*(h.stop.remote() for h in handles), return_exceptions=True)
        for handle in handles:
            ray.kill(handle, no_restart=True)
        self._dedicated.clear()
