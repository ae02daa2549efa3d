"""The runtime's gateway actors: how many, which shards each runs, on which node.

    plan = shard_plan(config, nodes=2)         # ShardMap over gateway names, or None for one
    gateways = Gateways(prefix, config, clock, directory_name)
    gateways.start(plan, nodes=[driver_node, *others])
    await gateways.stats()                     # every gateway's counters, summed

`[runtime] gateways = N` (0: one per node that runs work) gateways, never more than there are
shards, each running a contiguous range of them (`actors.routing.shards`). Gateway 0 lives on the
driver's node (hard affinity, as the directory: they end with the driver anyway); the others are
spread over the other nodes with a soft affinity, so Ray restarts one elsewhere when its node goes.
A gateway elsewhere than the driver's node reads the bot token from its own node's environment.
"""

from __future__ import annotations

import asyncio
import logging

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from actors.remote.directory import gateway_name
from actors.remote.gateway import Gateway
from actors.remote.host import NAMESPACE
from actors.routing.shards import ShardMap, split_shards
from config import Config

log = logging.getLogger(__name__)


@ray.remote(num_cpus=0)
def _bot_gateway(config: Config) -> tuple[int, int]:
    from actors.sources.discord.sharding import fetch_bot_gateway  # discord.py only if needed

    answer = asyncio.run(fetch_bot_gateway(config))
    return answer.shards, answer.max_concurrency


def bot_gateway(config: Config, node_id: str, timeout_s: float = 60.0) -> tuple[int, int]:
    """(shard count, max_concurrency) as Discord recommends, asked from `node_id` (where the
    token is). Blocking. Raises what `fetch_bot_gateway` raises."""
    there = NodeAffinitySchedulingStrategy(node_id, soft=False)
    ask = _bot_gateway.options(scheduling_strategy=there)
    return ray.get(ask.remote(config), timeout=timeout_s)


def wanted_gateways(config: Config, nodes: int) -> int:
    """How many gateways `config` asks for on a cluster of `nodes` nodes that run work."""
    return config.runtime.gateways or max(1, nodes)


def shard_plan(
    config: Config, prefix: str, nodes: int, recommended: int | None = None
) -> ShardMap | None:
    """The gateways' shard ranges; None for one gateway running every shard (as configured).

    `recommended`: Discord's shard count (`bot_gateway`), needed only when the discord source
    has no `shard_count` and more than one gateway is wanted (else ValueError)."""
    wanted = wanted_gateways(config, nodes)
    if config.source.kind == "synthetic":
        count = config.source.synthetic.shards or wanted
        shards: list[int] = list(range(count))
    else:
        d = config.source.discord
        if wanted == 1:
            return None  # discord.py runs `shard_ids` of `shard_count` (or asks) by itself
        count = d.shard_count or recommended or 0
        if not count:
            raise ValueError("shard_plan: Discord's shard count is needed (see bot_gateway)")
        shards = list(d.shard_ids) or list(range(count))
    if wanted == 1 and config.source.kind == "synthetic" and not config.source.synthetic.shards:
        return None
    ranges = split_shards(shards, min(wanted, len(shards)))
    return ShardMap(count, {gateway_name(prefix, i): r for i, r in enumerate(ranges)})


class Gateways:
    """The driver's side of the gateway actors (made by `start`, stopped by `stop`)."""

    def __init__(
        self, prefix: str, config: Config, clock: dict, directory: str, limits: str = ""
    ) -> None:
        self.prefix, self.config, self.clock, self.directory = prefix, config, clock, directory
        self.limits = limits  # the `SharedLimits` actor's name ("": none, a synthetic source)
        self.handles: dict[str, object] = {}
        self.shards: ShardMap | None = None
        self._last: dict[str, dict] = {}  # each gateway's last `stats()`

    def start(self, plan: ShardMap | None, nodes: list[str]) -> list[dict]:
        """Make the gateways of `plan` (one if None), the first on `nodes[0]` (the driver's),
        the others spread over `nodes`; start them; their `start()` answers. Blocking."""
        self.shards = plan
        names = list(plan.ranges) if plan is not None else [gateway_name(self.prefix)]
        for i, name in enumerate(names):
            node = nodes[i % len(nodes)]
            strategy = NodeAffinitySchedulingStrategy(node, soft=i > 0)
            self.handles[name] = Gateway.options(
                name=name, namespace=NAMESPACE, scheduling_strategy=strategy
            ).remote(name, self.config, self.clock, self.directory, plan, self.limits)
        return ray.get([h.start.remote() for h in self.handles.values()], timeout=120)

    async def add(self, node_id: str) -> dict | None:
        """A gateway on `node_id` (a node that joined), when shards are free to move: the tail
        half of the largest range is handed over to it. Its `start()` answer, or None when no
        gateway runs two shards (or there is one gateway running all, `shards` None).

        The handover: the ranges are recorded in the directory first (a gateway Ray restarts
        meanwhile takes its new range), the giving gateway stops those shards (their sessions
        saved, left resumable), the new one starts them (a RESUME of the saved sessions with
        cold resume on, so Discord replays what it sent in between; else an IDENTIFY through
        the shared limits, and that is lost), and every gateway learns whose guild is whose."""
        plan = self.shards
        if plan is None:
            return None
        donor = max(plan.ranges, key=lambda n: len(plan.ranges[n]))
        have = plan.ranges[donor]
        if len(have) < 2:
            return None
        name = gateway_name(self.prefix, len(self.handles))  # never one used before
        new = plan.moved(donor, have[len(have) // 2 :], name)  # ranges stay contiguous
        await ray.get_actor(self.directory, namespace=NAMESPACE).set_shards.remote(new)
        await self.handles[donor].take_shards.remote(new)
        handle = Gateway.options(
            name=name, namespace=NAMESPACE,
            scheduling_strategy=NodeAffinitySchedulingStrategy(node_id, soft=True),
        ).remote(name, self.config, self.clock, self.directory, new, self.limits)  # fmt: skip
        self.handles[name] = handle
        answer = await handle.start.remote()
        self.shards = new
        await asyncio.gather(
            *(h.set_shards.remote(new) for n, h in self.handles.items() if n not in (donor, name))
        )
        log.info("%s took shards %s from %s", name, list(new.ranges[name]), donor)
        return answer

    @property
    def first(self):
        """Gateway 0 (the one every host falls back to)."""
        return next(iter(self.handles.values()), None)

    async def each(self, method: str, *args, timeout_s: float | None = None) -> list:
        """`method(*args)` on every gateway; their answers or exceptions, in order."""
        calls = [
            asyncio.wait_for(getattr(h, method).remote(*args), timeout_s)
            for h in self.handles.values()
        ]  # each on its own clock: one gateway restarting never hides the others' answers
        return await asyncio.gather(*calls, return_exceptions=True)

    async def stats(self, timeout_s: float = 10.0) -> dict:
        """Every gateway's `stats()` summed (numbers added, the `dropped` counts merged).

        A gateway that does not answer (Ray restarting it) counts with its last answer, so the
        driver rides out a restart; one that never answered raises its error."""
        answers = await self.each("stats", timeout_s=timeout_s)
        for name, answer in zip(self.handles, answers, strict=True):
            if not isinstance(answer, BaseException):
                self._last[name] = answer
            elif name not in self._last:
                raise answer
        return merge_stats([self._last[name] for name in self.handles])

    def stop_refs(self) -> list:
        return [h.stop.remote() for h in self.handles.values()]

    def kill(self) -> None:
        for handle in self.handles.values():
            ray.kill(handle, no_restart=True)
        self.handles.clear()


def merge_stats(answers: list[dict]) -> dict:
    """Gateways' `stats()` as one: numbers summed, dicts of numbers merged by key and summed."""
    total: dict = {}
    for answer in answers:
        for key, value in answer.items():
            if isinstance(value, dict):
                into = total.setdefault(key, {})
                for k, v in value.items():
                    into[k] = into.get(k, 0) + v
            else:
                total[key] = total.get(key, 0) + value
    return total


__all__ = ["Gateways", "bot_gateway", "merge_stats", "shard_plan", "wanted_gateways"]
