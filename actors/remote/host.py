"""`GuildHost`: the Ray actor holding many guilds, a thin shell over `HostCore`.

Async (many guilds' rounds at once), restarted by Ray when it dies (`max_restarts`), its calls
retried (`max_task_retries`): on restart `__init__` runs again and reloads the host's guilds from
the state store; the sequencer's `floor` keeps retried batches in order. Each host serves its own
`/metrics` on a free port and reports it through `info()`.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import warnings
from typing import TypedDict

import msgspec
import ray

from actions import OutgoingMessage
from actors.clock import RuntimeClock
from actors.loop import admin as host_admin
from actors.loop.assembly import action_registry, build_host_core
from actors.routing.ownership import Ownership
from actors.routing.wire import BatchReply, Outbox
from actors.stores.base import open_configured
from config import Config
from metrics import GuildmindMetrics, MetricsServer, new_registry, start_metrics_server

log = logging.getLogger(__name__)

NAMESPACE = "guildmind"


def rss_bytes() -> int:
    """This process's resident memory (Linux), 0 where /proc is not there."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def metrics_target(server: MetricsServer) -> str:
    """`host:port` Prometheus can scrape (the node's address when bound to all interfaces)."""
    try:
        return server.target()
    except ValueError:
        return server.target(ray.util.get_node_ip_address())


class HostInfo(TypedDict):
    """What a host's `info()` answers: the one contract the `Runtime` (placement, health checks,
    service discovery) and the load test read. Every host class the runtime is given (the
    benchmarks' counting host too) answers with `host_info()`, so a field added here reaches
    them all."""

    name: str  # the actor's name
    pid: int  # its process: a new pid means Ray restarted it
    node: str  # the Ray node it runs on: placement checks it landed where asked
    metrics: str  # host:port of its /metrics, for service discovery
    guilds: int  # guilds held now
    loaded: int  # guilds loaded from the store when it started
    rounds: int  # rounds running now
    rss: int  # resident bytes


def host_info(
    name: str, metrics: str, *, guilds: int = 0, loaded: int = 0, rounds: int = 0
) -> HostInfo:
    """This host's `HostInfo`; call it inside the host actor (its process, its node)."""
    return HostInfo(
        name=name, pid=os.getpid(), node=ray.get_runtime_context().get_node_id(),
        metrics=metrics, guilds=guilds, loaded=loaded, rounds=rounds, rss=rss_bytes(),
    )  # fmt: skip


def check_host_info(info: dict) -> HostInfo:
    """`info` if it has every `HostInfo` field; TypeError naming the missing ones otherwise."""
    missing = sorted(HostInfo.__required_keys__ - info.keys())
    if missing:
        raise TypeError(
            f"host {info.get('name', '?')!r} answered info() without {', '.join(missing)}; "
            "a host class must answer with actors.remote.host.host_info()."
        )
    return info  # type: ignore[return-value]


@ray.remote(max_restarts=-1, max_task_retries=-1, num_cpus=0)
class GuildHost:
    """Holds the guilds of some partitions (or one guild) and runs their rounds."""

    def __init__(
        self,
        name: str,
        config: Config,
        clock: dict,
        started_at: float,
        owns: Ownership,
        directory: str | None = None,
        gateway: str = "",
    ) -> None:
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
        with warnings.catch_warnings():  # Ray 2.60's own property trips its deprecation warning
            warnings.simplefilter("ignore", DeprecationWarning)
            restarted = ray.get_runtime_context().was_current_actor_reconstructed
        if directory is not None and restarted:  # partitions may have moved since it was made
            mine = ray.get(ray.get_actor(directory, namespace=NAMESPACE).partitions_of.remote(name))
            owns = Ownership(owns.partitions, frozenset(mine))
        self.name, self.owns = name, owns
        # where messages of guilds that have had no event here yet go (loaded at a start, a
        # restart or a move, their timers can fire first)
        self.gateway = gateway
        registry = action_registry(config.runtime.plugin_dirs)
        self.metrics = GuildmindMetrics(
            new_registry(), actions=registry.names, moods=config.mood_book().names()
        )
        self.server = start_metrics_server(self.metrics.registry, host=config.metrics.host)
        self.store = open_configured(config)  # the Redis password: this process's environment
        self.clock = RuntimeClock.from_dict(clock)
        self.core = build_host_core(
            name, config, store=self.store, clock=self.clock, started_at=started_at,
            send=self._send, metrics=self.metrics, registry=registry,
        )  # fmt: skip
        self.loaded = self.core.load(owns)
        # What exists now (modules, the loaded guilds) lives as long as the process: keep it out
        # of the collector's full passes, which otherwise stalled the loop ~80 ms (p99 latency).
        gc.freeze()
        self._gateways: dict[str, object] = {}
        self._loops: list[asyncio.Task[None]] = []

    def _ensure_loops(self) -> None:
        if not self._loops:  # after a restart too: the first call starts them again
            self._loops = [asyncio.create_task(f()) for f in (self._timers, self._upkeep)]

    async def apply(self, data: bytes) -> tuple[int, bool, int]:
        """Apply an encoded `Batch`; returns (events applied, was a repeat, events skipped)."""
        self._ensure_loops()
        reply: BatchReply = await self.core.apply_encoded(data)  # bad events skipped, counted
        return reply.applied, reply.duplicate, reply.malformed

    async def advance(self, gateway: str, epoch: int, floor: int) -> int:
        """`gateway` has nothing below `floor` in flight to this host (a stale floor freed)."""
        return self.core.advance(gateway, epoch, floor)

    async def info(self) -> HostInfo:
        """Who and where this host is, for the runtime's health checks and service discovery."""
        self._ensure_loops()
        return host_info(
            self.name, metrics_target(self.server), guilds=len(self.core.engine),
            loaded=self.loaded, rounds=len(self.core.tasks),
        )  # fmt: skip

    async def guild(self, guild_id: int) -> dict | None:
        """One guild's mood, signals and last decision (status views, tests)."""
        st = self.core.engine.state(guild_id)
        if st is None:
            return None
        last = self.core.last_decision.get(guild_id)
        return {
            "mood": st.mood,
            "last_action": st.last_action,
            "last_action_at": st.last_action_at,
            "messages_since_appearance": st.messages_since_appearance,
            "signals": self.core.engine.signals(guild_id, at=self.clock.now()),
            "last_decision": msgspec.to_builtins(last) if last else None,
        }

    async def load_report(self, reset: bool = False) -> dict:
        """For the load test: latency samples, decision counts, resident memory."""
        samples = list(self.core.latencies)
        if reset:
            self.core.latencies.clear()
        decisions = {
            (s.labels["action"], s.labels["mood"], s.labels["trigger"]): s.value
            for family in self.metrics.decisions_total.collect()
            for s in family.samples
            if s.name.endswith("_total") and s.value
        }
        return {"latencies": samples, "decisions": decisions, "rss": rss_bytes()}

    # what guild admins change (slash commands) and the gateway tells -------------------------
    async def status(self, guild_id: int) -> dict | None:
        """Mood, settings, signals and last decision (with its reason), or None if unknown."""
        return host_admin.status(self.core, guild_id)

    async def set_default_channel(self, guild_id: int, channel_id: int) -> list[int]:
        """The guild's default channel (used when none is configured); the channels that count."""
        self._ensure_loops()
        return await host_admin.set_default_channel(self.core, guild_id, channel_id)

    async def set_mood(self, guild_id: int, mood: str) -> dict:
        """Set a guild's mood (persisted); the new status, or {"error": sentence}."""
        self._ensure_loops()
        try:
            return await host_admin.set_mood(self.core, guild_id, mood)
        except ValueError as e:
            return {"error": str(e)}

    async def configure(self, guild_id: int, changes: dict) -> dict:
        """Change a guild's settings (persisted); the new status, or {"error": sentence}."""
        self._ensure_loops()
        try:
            return await host_admin.configure(self.core, guild_id, changes)
        except ValueError as e:
            return {"error": str(e)}

    async def left(self, guild_id: int) -> bool:
        """The bot was removed from this guild: its members' data goes now, the guild after
        the grace period (`privacy.left_grace_s`); False when this host has not got it."""
        self._ensure_loops()
        return await host_admin.left(self.core, guild_id)

    async def forget_user(self, user_id: int, guild_ids: list[int] | None = None) -> int:
        """Erase a member's data held here (in `guild_ids`, or every guild), written through
        before the answer; how many guilds held some. Idempotent: Ray retries it on the next
        incarnation when this host dies in the call, which reloads and erases again."""
        self._ensure_loops()
        return await self.core.forget_user(user_id, guild_ids)

    async def release(self, partitions: list[int]) -> int:
        """A partition move: write these partitions' guilds through and forget them."""
        leaving = Ownership(self.owns.partitions, frozenset(partitions))
        released = await self.core.release(leaving)
        self.owns = Ownership(self.owns.partitions, self.owns.mine - leaving.mine)
        return released

    async def acquire(self, partitions: list[int]) -> int:
        """A partition move: take these partitions and load their guilds from the store."""
        self._ensure_loops()
        joining = Ownership(self.owns.partitions, frozenset(partitions))
        self.owns = Ownership(self.owns.partitions, self.owns.mine | joining.mine)
        return self.core.restore(await asyncio.to_thread(self.core.read, joining))

    async def guild_ids(self) -> list[int]:
        """The guilds this host holds now."""
        return list(self.core.engine.guild_ids())

    async def flush(self) -> None:
        """Write every dirty guild now."""
        await self.core.flush(force=True)

    async def stop(self) -> None:
        """Finish rounds, write every dirty guild, stop serving metrics."""
        for task in self._loops:
            task.cancel()
        if self.core.tasks:
            await asyncio.wait(list(self.core.tasks), timeout=5)
        await self.core.flush(force=True)
        self.store.close()
        self.server.close()

    async def _send(self, gateway: str, messages: list[OutgoingMessage]) -> None:
        gateway = gateway or self.gateway  # "": the guild has had no event here yet
        handle = self._gateways.get(gateway)
        try:
            if handle is None:
                handle = self._gateways[gateway] = ray.get_actor(gateway, namespace=NAMESPACE)
            last = self.core.last_decision.get(messages[0].guild_id) if messages else None
            await handle.deliver.remote(Outbox(messages, last.reason if last else ""))
        except Exception as e:
            log.error("%s: could not hand messages to %s: %s", self.name, gateway, e)
            for _ in messages:
                self.metrics.send_failure("connection")

    async def _timers(self) -> None:
        core, clock = self.core, self.clock
        while True:
            now = clock.now()
            due = core.next_timer()
            if due is not None and due <= now:
                core.fire_timers(now, limit=500)
                await asyncio.sleep(0)  # let batches in between
                continue
            wait = 0.25 if due is None else min(0.25, clock.real_seconds(due - now))
            await asyncio.sleep(max(wait, 0.002))

    async def _upkeep(self) -> None:
        beat = 0
        while True:
            await asyncio.sleep(0.5)
            try:
                await self.core.flush()
                beat += 1
                if beat % 10 == 0:
                    self.core.housekeeping(self.clock.now())
            except Exception:
                log.exception("%s: upkeep failed; trying again", self.name)
