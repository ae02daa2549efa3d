"""Which partition a guild belongs to: a stable hash, the same in every process and every run."""

from __future__ import annotations

_MASK = (1 << 64) - 1


def partition_of(guild_id: int, partitions: int) -> int:
    """The guild's partition in [0, partitions): splitmix64 of the id, modulo the count.

    Discord ids are snowflakes whose low bits are mostly zero and whose high bits are a timestamp,
    so the id itself would spread badly; the mix spreads them evenly and never changes.
    """
    z = (guild_id + 0x9E3779B97F4A7C15) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return (z ^ (z >> 31)) % partitions


def host_of_partition(partition: int, hosts: int) -> int:
    """The default placement of a partition on `hosts` hosts (round robin)."""
    return partition % hosts
