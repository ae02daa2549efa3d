"""Where a gateway sends things: each guild's events to the host that holds it, each of the
bot's outgoing messages to the gateway that runs its guild's shard.

Plain state and lookups, no Ray: the `Gateway` actor (`actors.remote.gateway`) asks the
`Directory` for the partition table or a guild's placement and keeps the answers here.
"""

from __future__ import annotations

from collections.abc import Iterable

from actors.routing.partition import partition_of
from actors.routing.shards import ShardMap
from actors.routing.wire import Outbox
from engine import Event

PENDING = "\0pending"  # the buffer of events whose guild has no host yet (dedicated placement)
HELD = "\0held"  # events of partitions being moved to another host (see actors.routing.rebalance)


class Routes:
    """guild id → the name of the host a gateway sends its events to (`route`).

    Hashed placement: the partition table (`table`, partition → host), a guild's partition by
    `partition_of`; a partition being moved (`held`) routes to `HELD`. Dedicated placement
    (`dedicated`): the hosts the `Directory` placed each guild on (`placed`); a guild not placed
    yet routes to `PENDING`.
    """

    def __init__(self, dedicated: bool) -> None:
        self.dedicated = dedicated
        self.table: list[str] = []
        self.placed: dict[int, str] = {}
        self.held: set[int] = set()
        self._routes: dict[int, str] = {}

    def route(self, guild_id: int) -> str:
        """The host `guild_id`'s events go to, or `PENDING` / `HELD` (buffers that wait)."""
        if self.dedicated:
            return self.placed.get(guild_id, PENDING)
        if self.held and partition_of(guild_id, len(self.table)) in self.held:
            return HELD
        host = self._routes.get(guild_id)
        if host is None:  # the hash is the costly part: once per guild
            host = self._routes[guild_id] = self.table[partition_of(guild_id, len(self.table))]
        return host

    def hold(self, partitions: Iterable[int]) -> None:
        """From now on, events of `partitions` route to `HELD` (a partition move)."""
        self.held = set(partitions)
        self._routes.clear()

    def set_table(self, table: list[str]) -> None:
        """A new partition table; no partition held any more."""
        self.table, self.held = list(table), set()
        self._routes.clear()


def waiting_hosts(
    events: Iterable[Event], table: list[str], held: set[int], placed: dict[int, str]
) -> set[str]:
    """The hosts `table` gives the `events` of partitions in `held` (guilds not in `placed`):
    those whose events must land before a partition move goes on."""
    return {
        table[partition_of(e.guild_id, len(table))]
        for e in events
        if e.guild_id not in placed and partition_of(e.guild_id, len(table)) in held
    }


def split_outbox(outbox: Outbox, shards: ShardMap, name: str) -> tuple[Outbox, dict[str, Outbox]]:
    """`outbox` as (what the gateway `name` sends itself, gateway → what it hands that gateway).

    Each message goes to the gateway that runs its guild's shard (`shards`); one whose shard
    nobody runs stays here. `outbox` itself when nothing is for another gateway."""
    others: dict[str, list] = {}
    for message in outbox.messages:
        owner = shards.owner(message.guild_id)
        if owner is not None and owner != name:
            others.setdefault(owner, []).append(message)
    if not others:
        return outbox, {}
    keep = [m for m in outbox.messages if shards.owner(m.guild_id) in (name, None)]
    handed = {owner: Outbox(messages, outbox.reason) for owner, messages in others.items()}
    return Outbox(keep, outbox.reason), handed
