"""Scale-out: which partitions move when hosts are added, and the order a move happens in.

`plan_moves` is pure: given the current table (partition → host) and the hosts there will be,
it moves as few partitions as it can so that every host ends up with ⌊P/H⌋ or ⌈P/H⌉ of them.

A move (`Runtime.add_hosts`) keeps every event and applies none twice:
1. the gateways *hold* the moving partitions: new events for them wait in the gateway, while
   everything buffered or in flight for their old hosts is delivered and applied there;
2. the old hosts *release* the partitions: finish those guilds' rounds, write them through to
   the store, forget them;
3. the new hosts *acquire* them: load those guilds from the store;
4. the directory records the new table, and the gateways route the held events to the new hosts.
"""

from __future__ import annotations

from collections import defaultdict


def plan_moves(table: list[str], hosts: list[str]) -> dict[int, tuple[str, str]]:
    """partition → (old host, new host) for the partitions that move to balance `hosts`."""
    if not hosts:
        raise ValueError("plan_moves needs at least one host")
    owned: dict[str, list[int]] = defaultdict(list)
    for partition, host in enumerate(table):
        owned[host].append(partition)
    n, count = len(table), len(hosts)
    # the first P mod H hosts (in `hosts` order) may keep one more than the rest
    quota = {h: n // count + (1 if i < n % count else 0) for i, h in enumerate(hosts)}
    spare: list[tuple[int, str]] = []
    for host, parts in owned.items():
        keep = quota.get(host, 0)
        spare += [(p, host) for p in parts[keep:]]  # hosts leaving give everything up
    moves: dict[int, tuple[str, str]] = {}
    for host in hosts:
        need = quota[host] - min(len(owned.get(host, ())), quota[host])
        for _ in range(need):
            partition, old = spare.pop()
            moves[partition] = (old, host)
    return moves


def apply_moves(table: list[str], moves: dict[int, tuple[str, str]]) -> list[str]:
    """The table after `moves`."""
    new = list(table)
    for partition, (_, host) in moves.items():
        new[partition] = host
    return new
