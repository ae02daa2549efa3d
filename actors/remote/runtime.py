"""`Runtime`: starts (or joins) Ray, creates the directory, hosts and gateways, and watches them.

    runtime = Runtime(config)
    runtime.start()                  # a light local Ray, or the cluster at RAY_ADDRESS/--address
    await runtime.watch(stop_event)  # health checks, restarts noticed, discovery kept current
    runtime.stop()                   # the source stops, buffers drain, every guild is written

The driver process also serves Prometheus' service discovery (`/sd`) and its own `/metrics`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import uuid
from dataclasses import dataclass, field

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from actors.clock import RuntimeClock
from actors.remote.cluster import (
    init_ray,
    node_of_task,
    shipped_code,
    takes_work,
    wait_name_free,
)
from actors.remote.directory import Directory, gateway_name, host_name
from actors.remote.gateways import Gateways, bot_gateway, shard_plan, wanted_gateways
from actors.remote.host import NAMESPACE, GuildHost, check_host_info
from actors.remote.limits import SharedLimits
from actors.routing.ownership import Ownership
from actors.routing.partition import host_of_partition
from actors.routing.rebalance import apply_moves, plan_moves
from config import Config
from metrics import DiscoveryServer, GuildmindMetrics, TargetDirectory, new_registry

log = logging.getLogger(__name__)

PLACEMENT_WAIT_S = 20.0  # how long a host is started again while Ray puts it on another node
NODE_PASSES = 3  # looks at a node that joined before it is left idle if no host lands there


@dataclass
class _Watched:
    handle: object
    role: str
    pid: int | None = None
    info: dict = field(default_factory=dict)


class Runtime:
    """One deployment of guildmind on Ray (a local one, or a cluster's)."""

    def __init__(self, config: Config, *, prefix: str | None = None, host_class=None) -> None:
        self.config = config
        self.host_class = host_class or GuildHost  # benchmarks swap in a trivial host
        self.prefix = prefix if prefix is not None else f"gm-{uuid.uuid4().hex[:6]}-"
        self.clock = RuntimeClock(config.runtime.speed)
        self.started_at = self.clock.now()
        self.metrics = GuildmindMetrics(new_registry(), moods=config.mood_book().names())
        self.targets = TargetDirectory()
        self.discovery: DiscoveryServer | None = None
        self.hosts: dict[str, _Watched] = {}
        self.gateway: object | None = None  # gateway 0 (of `gateways`)
        self.gateways: Gateways | None = None
        self.limits: object | None = None  # the bot's shared Discord limits (SharedLimits)
        self.directory: object | None = None
        self._owns_ray = False
        self._nodes: set[str] | None = None  # alive nodes seen (scale-out follows new ones)
        self._tries: dict[str, int] = {}  # nodes that joined: passes at placing hosts there
        self._gatewayed: set[str] = set()  # nodes that joined and were offered a gateway
        self._named = 0  # host names used (host-0 … host-N-1)
        self.last_move: dict = {}  # the last scale-out: hosts after it, partitions, step times

    # start --------------------------------------------------------------------------------
    def start(self) -> None:
        self._owns_ray = init_ray(self.config.runtime.address, shipped_code(self.config.runtime))
        alive = [n["NodeID"] for n in ray.nodes() if n.get("Alive")]
        # only nodes that run work now: a node still starting would make soft placements spill
        ready = ray.get([node_of_task.options(scheduling_strategy=NodeAffinitySchedulingStrategy(
            node, soft=False)).remote() for node in alive], timeout=60)  # fmt: skip
        self._nodes = set(ready)
        cfg = self.config
        n = cfg.runtime.hosts or max(1, int(ray.cluster_resources().get("CPU", 1)))
        clock = self.clock.to_dict()
        directory_name = f"{self.prefix}directory"
        # The directory and gateway 0 live on the driver's node (the head, on a cluster): a worker
        # node leaving takes guild hosts and other gateways only, which Ray restarts elsewhere.
        # Hard affinity costs nothing: they are the driver's actors and end with it anyway (a
        # soft one let Ray put them on any node). See `actors.remote.gateways` for the others.
        here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)
        self.directory = Directory.options(
            name=directory_name, namespace=NAMESPACE, scheduling_strategy=here
        ).remote(self.prefix, cfg.for_host(), clock, self.started_at, n, os.urandom(16))  # key
        if cfg.runtime.placement == "sharded":
            mine: list[set[int]] = [set() for _ in range(n)]
            for p in range(cfg.runtime.partitions):
                mine[host_of_partition(p, n)].add(p)
            # round robin over the nodes, each host checked to be there (see `_placed`)
            nodes = sorted(self._nodes)
            made = {host_name(self.prefix, i): (mine[i], nodes[i % len(nodes)]) for i in range(n)}
            handles = [self._new_host(name, ps, node) for name, (ps, node) in made.items()]
            infos = ray.get([h.info.remote() for h in handles], timeout=120)
            for (name, (ps, node)), handle, info in zip(made.items(), handles, infos, strict=True):
                placed = self._placed(name, ps, node, handle, info)
                if placed is None:  # Ray would not put it there: anywhere, then
                    handle = self._new_host(name, ps, None)
                    placed = handle, ray.get(handle.info.remote(), timeout=120)
                self._watch(name, *placed)
            self._named = n
        driver = ray.get_runtime_context().get_node_id()
        recommended = None
        discord = cfg.source.kind != "synthetic"
        if discord and not cfg.source.discord.shard_count and wanted_gateways(cfg, len(ready)) > 1:
            recommended, _ = bot_gateway(cfg, driver)  # Discord's count, to split it
        limits = ""
        if discord:  # one pace for all the bot's gateways (IDENTIFY, REST), on the driver's node
            limits = f"{self.prefix}limits"
            self.limits = SharedLimits.options(
                name=limits, namespace=NAMESPACE, scheduling_strategy=here
            ).remote(cfg.source.discord, cfg.runtime.speed)
        self.gateways = Gateways(self.prefix, cfg.for_gateway(), clock, directory_name, limits)
        nodes = [driver, *sorted(self._nodes - {driver})]
        for gw in self.gateways.start(shard_plan(cfg, self.prefix, len(nodes), recommended), nodes):
            self.targets.add(gw["name"], gw["metrics"], role="gateway")
        self.gateway = self.gateways.first
        self.discovery = DiscoveryServer(
            self.targets, self.metrics.registry, host=cfg.metrics.host, port=cfg.metrics.port
        )
        self.discovery.start()
        if cfg.runtime.placement == "dedicated":
            # every stored guild gets its host now: its deadlines run without an event
            ray.get(self.directory.place_stored.remote(), timeout=300)
            self._watch_dedicated()

    def _new_host(self, name: str, partitions: set[int], node_id: str | None):
        """A host actor on `node_id` if Ray agrees (soft affinity), else where Ray spreads it."""
        cfg = self.config
        strategy = (
            "SPREAD" if node_id is None else NodeAffinitySchedulingStrategy(node_id, soft=True)
        )
        return self.host_class.options(
            name=name, namespace=NAMESPACE, scheduling_strategy=strategy
        ).remote(
            name, cfg.for_host(), self.clock.to_dict(), self.started_at,
            Ownership(cfg.runtime.partitions, frozenset(partitions)),
            directory=f"{self.prefix}directory", gateway=gateway_name(self.prefix),
        )  # fmt: skip

    def _placed(
        self, name: str, partitions: set[int], node_id: str | None, handle, info: dict
    ) -> tuple[object, dict] | None:
        """The host (`handle`, just started, serving nothing yet) on `node_id`, or None.

        A soft node affinity is best effort: a node that joined seconds ago often passes an actor
        on to another node (Ray's scheduler spills it back), which would leave the node idle. A
        host that landed elsewhere is stopped and started again, a little later each time; None
        (and nothing left running) when it has not landed there within `PLACEMENT_WAIT_S`.
        Blocking: call it in a thread from async code.
        """
        deadline = time.monotonic() + PLACEMENT_WAIT_S
        pause = 0.5
        while node_id is not None and check_host_info(info)["node"] != node_id:
            ray.kill(handle, no_restart=True)
            wait_name_free(name)
            if time.monotonic() + pause > deadline:
                log.warning("%s: Ray would not place it on node %s", name, node_id)
                return None
            log.info("%s landed on another node than asked; starting it again", name)
            time.sleep(pause)
            pause = min(2 * pause, 4.0)
            handle = self._new_host(name, partitions, node_id)
            info = ray.get(handle.info.remote(), timeout=120)
        return handle, info

    def _watch(self, name: str, handle, info: dict) -> None:
        w = self.hosts[name] = _Watched(handle, "host")
        self.metrics.host_seen(name)
        self._seen(w, info)

    async def add_hosts(self, count: int, *, node_id: str | None = None) -> dict[int, tuple]:
        """Scale out: `count` new hosts (on `node_id` if given), partitions moved to them.

        Follows `actors.routing.rebalance`: hold at the gateway, release from the old hosts (written
        through), acquire on the new ones (loaded), new table, held events routed on. Returns
        the moves made (partition → (old host, new host)).
        """
        if self.config.runtime.placement != "sharded" or count < 1:
            return {}
        t0 = time.monotonic()
        took: dict[str, float] = {}  # step -> seconds since the scale-out began

        def stage(what: str) -> None:
            took[what] = round(time.monotonic() - t0, 3)

        names = [host_name(self.prefix, self._named + i) for i in range(count)]
        self._named += count  # a name is never used twice, even for a host that was not placed
        handles = [self._new_host(name, set(), node_id) for name in names]
        infos = await asyncio.gather(*(h.info.remote() for h in handles))
        for name, handle, info in zip(names, handles, infos, strict=True):
            placed = await asyncio.to_thread(self._placed, name, set(), node_id, handle, info)
            if placed is not None:
                self._watch(name, *placed)
        stage("started")
        table = await self.directory.table.remote()
        moves = plan_moves(table, list(self.hosts))
        if not moves:
            return moves
        by_old: dict[str, list[int]] = {}
        by_new: dict[str, list[int]] = {}
        for partition, (old, new) in moves.items():
            by_old.setdefault(old, []).append(partition)
            by_new.setdefault(new, []).append(partition)
        await asyncio.gather(*(g.hold.remote(sorted(moves)) for g in self._gateway_handles()))
        stage("held")
        await asyncio.gather(*(self.hosts[h].handle.release.remote(ps) for h, ps in by_old.items()))
        stage("released")
        await asyncio.gather(*(self.hosts[h].handle.acquire.remote(ps) for h, ps in by_new.items()))
        stage("acquired")
        new_table = apply_moves(table, moves)
        await self.directory.set_table.remote(new_table)
        await asyncio.gather(*(g.route_to.remote(new_table) for g in self._gateway_handles()))
        stage("routed")
        self.metrics.partitions_moved(len(moves))
        self.last_move = {"hosts": len(self.hosts), "partitions": len(moves), "took_s": took}
        log.info(
            "scaled out to %d hosts: %d partitions moved (%s)", len(self.hosts), len(moves),
            ", ".join(f"{step} {t:.2f}s" for step, t in took.items()),
        )  # fmt: skip
        return moves

    def _gateway_handles(self) -> list:
        return list(self.gateways.handles.values()) if self.gateways is not None else []

    def _seen(self, w: _Watched, info: dict) -> None:
        check_host_info(info)
        if w.pid is not None and info["pid"] != w.pid:
            log.warning("%s restarted (pid %s → %s)", info["name"], w.pid, info["pid"])
            self.metrics.host_restart(info["name"])
        w.pid, w.info = info["pid"], info
        self.targets.add(info["name"], info["metrics"], role=w.role)

    def _watch_dedicated(self) -> None:
        self._adopt(ray.get(self.directory.dedicated.remote()))
        for w in self.hosts.values():
            self._seen(w, ray.get(w.handle.info.remote()))

    def _adopt(self, names: list[str]) -> None:
        """Watch the dedicated hosts the directory made (one per guild, as its events come)."""
        for name in names:
            if name not in self.hosts:
                self.hosts[name] = _Watched(ray.get_actor(name, namespace=NAMESPACE), "host")
                self.metrics.host_seen(name)

    # running ------------------------------------------------------------------------------
    async def check(self, timeout_s: float = 10.0) -> None:
        """Ask every host who it is: notice restarts, keep service discovery current.

        The gateway is asked too: one that Ray restarted starts its source again on that call.
        """
        if self.gateways is not None:
            for gw in await self.gateways.each("info", timeout_s=timeout_s):
                if isinstance(gw, BaseException):
                    log.warning("a gateway is not answering (%s); Ray restarts it",
                                type(gw).__name__)  # fmt: skip
                else:
                    self.targets.add(gw["name"], gw["metrics"], role="gateway")
        if self.config.runtime.placement == "dedicated" and self.directory is not None:
            self._adopt(await self.directory.dedicated.remote())  # guilds seen since the last look
        for name, w in list(self.hosts.items()):
            try:
                info = await asyncio.wait_for(w.handle.info.remote(), timeout_s)
            except Exception as e:
                log.warning("%s is not answering (%s); Ray restarts it", name, type(e).__name__)
                self.targets.remove(name)
                continue
            self._seen(w, info)

    async def follow_nodes(self) -> int:
        """Scale out onto nodes that joined since the last look: as many new hosts as the node
        has CPUs (at least one), partitions rebalanced onto them; returns how many were added.
        With `runtime.gateways = 0` the node also gets a gateway, when a gateway has shards to
        hand over (`Gateways.add`).

        (`runtime.hosts` is how many hosts to start with; a node that leaves takes nothing away:
        Ray restarts its hosts on the others, and they keep their partitions.)"""
        if self.config.runtime.placement != "sharded":
            return 0
        alive = {n["NodeID"]: n for n in ray.nodes() if n.get("Alive")}
        if self._nodes is None:
            self._nodes = set(alive)
            return 0
        added = 0
        for node_id, node in alive.items():
            if node_id in self._nodes or not await takes_work(node_id):
                continue  # a node that just joined may not run workers yet: next look
            count = max(1, int(node.get("Resources", {}).get("CPU", 1)))
            before = len(self.hosts)
            auto = not self.config.runtime.gateways and self.gateways is not None
            if auto and node_id not in self._gatewayed:
                self._gatewayed.add(node_id)
                gw = await self.gateways.add(node_id)  # one per node, when shards can move
                if gw is not None:
                    self.targets.add(gw["name"], gw["metrics"], role="gateway")
            await self.add_hosts(count, node_id=node_id)
            landed = len(self.hosts) - before
            added += landed
            self._tries[node_id] = self._tries.get(node_id, 0) + 1
            if landed or self._tries[node_id] >= NODE_PASSES:
                self._nodes.add(node_id)  # followed (or, after a few passes, given up on)
                if not landed:
                    log.warning("node %s joined but takes no guild host; left idle", node_id)
        return added

    async def watch(self, stop: asyncio.Event, every_s: float = 2.0) -> None:
        """Health checks and scale-out onto new nodes, until `stop` is set.

        Scale-out runs beside the health checks (placing a host and moving partitions can take
        seconds), one at a time; a move under way is let finish when `stop` is set."""
        scaling: asyncio.Task | None = None
        while not stop.is_set():
            await self.check()
            if scaling is None or scaling.done():
                scaling = asyncio.create_task(self._follow_nodes_logged())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every_s)
        if scaling is not None:
            await scaling

    async def _follow_nodes_logged(self) -> None:
        try:
            await self.follow_nodes()
        except Exception:
            log.exception("scaling out onto a new node failed; will look again")

    async def stats(self) -> dict:
        """Every gateway's counters, summed (`Gateways.stats`)."""
        return await self.gateways.stats()

    async def guild(self, guild_id: int) -> dict | None:
        """A guild's state, from whichever host holds it."""
        for w in self.hosts.values():
            found = await w.handle.guild.remote(guild_id)
            if found is not None:
                return found
        return None

    # stop ---------------------------------------------------------------------------------
    def stop(self) -> None:
        """Stop the source, drain the buffers, write every guild, stop the actors."""
        if self.gateways is not None:
            _quietly(*self.gateways.stop_refs())
        _quietly(*(w.handle.stop.remote() for w in self.hosts.values()))
        if self.directory is not None:
            _quietly(self.directory.stop.remote())
        if self.gateways is not None:
            self.gateways.kill()
        for handle in [self.directory, self.limits, *(w.handle for w in self.hosts.values())]:
            if handle is not None:
                ray.kill(handle, no_restart=True)
        self.hosts.clear()
        self.gateway = self.directory = self.gateways = self.limits = None
        if self.discovery is not None:
            self.discovery.close()
            self.discovery = None
        if self._owns_ray:
            ray.shutdown()


def _quietly(*refs) -> None:
    try:
        ray.get(list(refs), timeout=30)
    except Exception as e:
        log.warning("stopping: %s", e)
