"""The source a gateway runs, as the configuration says (synthetic traffic or Discord), and the
sum of two sources' counters (a gateway whose source was replaced by a shard handover).

Plain functions, no Ray: the `Gateway` actor (`actors.remote.gateway`) calls them.
"""

from __future__ import annotations

import msgspec

from actors.clock import RuntimeClock
from actors.routing.shards import shard_of
from actors.sources.base import Source
from actors.sources.synthetic import SyntheticSource
from actors.sources.traffic import SyntheticTraffic
from config import Config


def make_source(
    config: Config,
    clock: RuntimeClock,
    shards: tuple[int, ...] = (),
    shard_count: int = 0,
    limits=None,
) -> Source:
    """The configured source, running `shards` of `shard_count` (both empty/0: all of them);
    a Discord one paced by `limits` (the bot's shared limits; None: its own)."""
    kind = config.source.kind
    if kind == "synthetic":
        s = config.source.synthetic
        mine = frozenset(shards)
        only = (lambda gid: shard_of(gid, shard_count) in mine) if shard_count else None
        traffic = SyntheticTraffic(s.guilds, s.rate, seed=s.seed, start=clock.now(), only=only)
        return SyntheticSource(traffic, clock, bot_name=config.runtime.bot_name)
    from actors.sources.discord.source import (
        make_discord_source,  # discord.py loads only when needed
    )

    if shard_count:
        discord = msgspec.structs.replace(
            config.source.discord, shard_ids=tuple(shards), shard_count=shard_count
        )
        config = msgspec.structs.replace(
            config, source=msgspec.structs.replace(config.source, discord=discord)
        )
    return make_discord_source(config, clock, limits)


def add_counts(a: dict, b: dict) -> dict:
    """Two sources' `stats()` as one (numbers added)."""
    return {k: a.get(k, 0) + b.get(k, 0) for k in {**a, **b}}
