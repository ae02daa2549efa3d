"""`Directory`: which host holds which partition (sharded) or guild (dedicated placement).

The one place that answers "where does guild G live?". Sharded: a fixed table of partition →
host name, read by gateways at start. Dedicated: every guild gets a `GuildHost` of its own,
created here on first use (the directory supervises those actors and stops them with `stop()`).
"""

from __future__ import annotations

import asyncio

import ray

from actors.remote.host import NAMESPACE
from actors.routing.ownership import Ownership
from actors.routing.partition import host_of_partition
from config import Config


def host_name(prefix: str, index: int) -> str:
    return f"{prefix}host-{index}"


def gateway_name(prefix: str, index: int = 0) -> str:
    return f"{prefix}gateway-{index}"


def guild_host_name(prefix: str, guild_id: int) -> str:
    return f"{prefix}guild-{guild_id}"


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
    ) -> None:
        self.prefix, self.config, self.clock, self.started_at = prefix, config, clock, started_at
        self.partitions = config.runtime.partitions
        self._table = [
            host_name(prefix, host_of_partition(p, hosts)) for p in range(self.partitions)
        ]
        self._dedicated: dict[int, object] = {}

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
                name = guild_host_name(self.prefix, gid)
                handle = GuildHost.options(name=name, namespace=NAMESPACE).remote(
                    name, self.config, self.clock, self.started_at,
                    Ownership(self.partitions, guild=gid), gateway=gateway_name(self.prefix),
                )  # fmt: skip
                self._dedicated[gid] = handle
                made.append(handle.info.remote())
        if made:
            await asyncio.gather(*made)
        return {gid: guild_host_name(self.prefix, gid) for gid in guild_ids}

    def dedicated(self) -> list[str]:
        return [guild_host_name(self.prefix, gid) for gid in self._dedicated]

    async def stop(self) -> None:
        """Stop the dedicated hosts (state written first)."""
        await asyncio.gather(
            *(h.stop.remote() for h in self._dedicated.values()), return_exceptions=True
        )
        for handle in self._dedicated.values():
            ray.kill(handle, no_restart=True)
        self._dedicated.clear()
