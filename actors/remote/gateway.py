"""`Gateway`: the Ray actor that owns a source, batches its events to the hosts, sends replies.

A thin shell over `GatewayCore`: the source runs in this process and offers events (never
blocking); a loop sends the due batches to the hosts (bounded in flight per host) and counts what
could not be delivered; `deliver()` takes the hosts' outgoing messages and sends them through the
source. Which host holds a guild comes from the `Directory`.

The plain logic lives outside Ray: the batching in `actors.routing.batching`, where events and
messages go in `actors.routing.routes`, the waits for what was offered to land in
`actors.routing.barriers`, the source and what the bot said in `actors.sources.configured` and
`actors.sources.said`. This module holds what needs Ray: the handles, the tasks, the calls.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
import warnings

import ray

from actors.clock import RuntimeClock
from actors.remote.directory import Directory
from actors.remote.host import NAMESPACE, metrics_target, rss_bytes
from actors.remote.limits import RemoteLimits
from actors.routing.barriers import drained, settled, until_landed
from actors.routing.batching import GatewayCore
from actors.routing.routes import HELD, PENDING, Routes, split_outbox, waiting_hosts
from actors.routing.shards import ShardMap
from actors.routing.wire import Line, Outbox
from actors.sources.base import Said, Source
from actors.sources.configured import add_counts, make_source
from actors.sources.said import SaidLog
from actors.sources.synthetic import SyntheticSource
from actors.stores.base import StateStore, StoreError, open_configured
from config import Config
from engine import Event
from metrics import GuildmindMetrics, new_registry, start_metrics_server

log = logging.getLogger(__name__)


@ray.remote(num_cpus=0, max_restarts=-1)
class Gateway:
    """One source's events to the hosts; the hosts' messages back out through the source."""

    def __init__(
        self,
        name: str,
        config: Config,
        clock: dict,
        directory: str,
        shards: ShardMap | None = None,
        limits: str = "",
    ) -> None:
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
        self.name, self.config = name, config
        self.clock = RuntimeClock.from_dict(clock)
        self.metrics = GuildmindMetrics(new_registry(), moods=config.mood_book().names())
        self.server = start_metrics_server(self.metrics.registry, host=config.metrics.host)
        self.dedicated = config.runtime.placement == "dedicated"
        self.routes = Routes(self.dedicated)
        g = config.gateway
        self.core = GatewayCore(
            name, route=self.routes.route, metrics=self.metrics, batch_max=g.batch_max,
            flush_ms=g.flush_ms, max_in_flight=g.max_in_flight, queue_max=g.queue_max,
            max_wait_ms=g.max_wait_ms,
        )  # fmt: skip
        self.directory = ray.get_actor(directory, namespace=NAMESPACE)
        with warnings.catch_warnings():  # Ray 2.60's own property trips its deprecation warning
            warnings.simplefilter("ignore", DeprecationWarning)
            restarted = ray.get_runtime_context().was_current_actor_reconstructed
        if restarted and shards is not None:  # shards may have been handed over since
            shards = ray.get(self.directory.shards.remote()) or shards
        # None: the one gateway, all shards; else the gateways' ranges (this one's is its own)
        self.shards = shards
        self._limits = RemoteLimits(ray.get_actor(limits, namespace=NAMESPACE)) if limits else None
        self._carried: dict = {}  # the counters of sources replaced by a handover
        self.source = self._make_source()
        gc.freeze()  # long-lived from here on: out of the collector's full passes (see GuildHost)
        self._attach()
        self.store = self._keep_sessions()
        self.said = SaidLog(keep=1_000)
        self._handles: dict[str, object] = {}  # the hosts, the other gateways: name → handle
        self.handed = 0  # messages handed to the gateway of their guild's shard
        self._tasks: list[asyncio.Task[None]] = []
        self._stopped = False
        self._start_lock = asyncio.Lock()
        self._erasing = 0  # members' erasures under way (a partition move waits for them)
        self._sending: set[asyncio.Task[None]] = set()
        self.delivered = self.failed = self.host_errors = self.applied = self.malformed = 0

    def _keep_sessions(self) -> StateStore | None:
        """The state store, for a source that keeps its shards' sessions there (cold resume)."""
        keep = getattr(self.source, "keep_sessions", None)
        if keep is None or not getattr(self.source, "resumable", False):
            return None
        try:
            store = open_configured(self.config)  # the Redis password: this process's environment
        except (StoreError, ValueError) as e:
            log.error("%s: no cold resume, the store cannot be opened: %s", self.name, e)
            return None
        keep(store.load_sessions, store.save_sessions, self.settle)
        return store

    def _who(self) -> dict:
        shards = self.shards
        mine = list(shards.ranges.get(self.name, ())) if shards is not None else None
        return {"name": self.name, "metrics": metrics_target(self.server), "shards": mine}

    def _make_source(self) -> Source:
        shards = self.shards
        mine = shards.ranges.get(self.name, ()) if shards is not None else ()
        count = shards.shard_count if shards is not None else 0
        return make_source(self.config, self.clock, mine, count, self._limits)

    def _attach(self) -> None:
        attach = getattr(self.source, "attach", None)
        if attach is not None:  # sources that talk to hosts (default channels, slash commands)
            attach(self.call_host, self.metrics, self.forget_user)

    async def take_shards(self, shards: ShardMap) -> list[int]:
        """A handover: from now on run the shards `shards` gives this gateway (its source is
        started again with them: its sessions are saved and left resumable, and the shards it
        keeps RESUME them (cold resume, when on; else identify anew); what it gave up is no
        longer heard here). Returns the shards it runs."""
        mine = list(shards.ranges.get(self.name, ()))
        before = self.shards.ranges.get(self.name, ()) if self.shards is not None else ()
        self.shards = shards
        if list(before) == mine or not self._tasks:
            return mine
        old, task = self.source, self._tasks[0]
        task.cancel()
        close = getattr(old, "close", None)
        if close is not None:
            await close()
        await asyncio.gather(task, return_exceptions=True)
        self._carried = add_counts(self._carried, old.stats())
        self.source = self._make_source()
        self._attach()
        keep = getattr(self.source, "keep_sessions", None)
        if self.store is not None and keep is not None:  # the shards it took resume, if stored
            keep(self.store.load_sessions, self.store.save_sessions, self.settle)
        self._tasks[0] = asyncio.create_task(self.source.run(self.offer))
        return mine

    def offer(self, event: Event, line: Line | None = None) -> bool:
        return self.core.offer(event, line)

    async def start(self) -> dict:
        """Learn the placement, start the source and the batching loop (once)."""
        async with self._start_lock:
            if not self._tasks:
                if not self.dedicated:
                    self.routes.set_table(await self.directory.table.remote())
                elif isinstance(self.source, SyntheticSource):
                    ids = [g.guild_id for g in self.source.traffic.guilds if self._mine(g.guild_id)]
                    self.routes.placed.update(await self.directory.place.remote(ids))
                self._tasks = [
                    asyncio.create_task(self.source.run(self.offer)),
                    asyncio.create_task(self._batches()),
                ]
        return self._who()

    async def info(self) -> dict:
        """Who and where this gateway is ({"name", "metrics": its /metrics target, "shards": the
        shards it runs, None for all}); after Ray restarted it, this starts it again."""
        if not self._tasks and not self._stopped:
            return await self.start()
        return self._who()

    async def _batches(self) -> None:
        pause = max(self.core.flush_s / 2, 0.001)
        while True:
            try:
                if self.dedicated and self.core.has(PENDING):
                    await self._place_pending()
                self._dispatch(self.core.due_batches(time.time()))
                for host, floor in self.core.stalled(time.monotonic()):
                    self._spawn(self._advance(host, floor))
            except Exception:
                log.exception("%s: batching failed; going on", self.name)
            await asyncio.sleep(pause)

    async def _advance(self, host: str, floor: int) -> None:
        try:
            await self._actor(host).advance.remote(self.name, self.core.epoch, floor)
        except Exception as e:  # the batches themselves are retried by Ray; this is a hint
            log.info("%s: could not tell %s its floor: %s", self.name, host, type(e).__name__)

    def _actor(self, name: str):
        """The handle of the named actor (a host, another gateway), looked up once."""
        handle = self._handles.get(name)
        if handle is None:
            handle = self._handles[name] = ray.get_actor(name, namespace=NAMESPACE)
        return handle

    def _spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    def _dispatch(self, batches) -> None:
        for host, batch in batches:  # (parked buffers are never cut: see buffer.PARKED)
            self._spawn(self._send_batch(host, batch))

    def _flush(self) -> None:
        """Cut and send every buffered batch the hosts have room for, partial ones too."""
        self._dispatch(self.core.due_batches(time.time(), all_now=True))

    async def hold(self, partitions: list[int], timeout_s: float = 30.0) -> None:
        """Hold new events of `partitions`; return once all earlier ones reached their hosts.

        Step 1 of a partition move (`actors.routing.rebalance`): what was buffered or in flight
        for the partitions' old hosts is delivered and applied there; later events wait here.
        """
        deadline = time.monotonic() + timeout_s
        while self._erasing and time.monotonic() < deadline:  # it asks every host as they are
            await asyncio.sleep(0.01)
        self.routes.hold(partitions)
        table, held, placed = self.routes.table, self.routes.held, self.routes.placed

        def waiting() -> set[str]:
            return waiting_hosts(self.core.events_buffered(), table, held, placed)

        if not await until_landed(self.core, self._flush, waiting, deadline):
            raise TimeoutError(f"{self.name}: partitions still in flight after {timeout_s}s")

    async def route_to(self, table: list[str]) -> None:
        """The last step of a move: the new table, and the held events to their new hosts."""
        self.routes.set_table(table)
        arrived = self.core.since(HELD)
        for event, line in self.core.take(HELD):
            self.core.offer(event, line, counted=True, arrived=arrived)

    async def _place_pending(self) -> None:
        arrived = self.core.since(PENDING)
        waiting = self.core.take(PENDING)
        ids = sorted({event.guild_id for event, _ in waiting})
        self.routes.placed.update(await self.directory.place.remote(ids))
        for event, line in waiting:
            self.core.offer(event, line, counted=True, arrived=arrived)

    async def _send_batch(self, host: str, batch) -> None:
        try:
            # what cannot be encoded is left out and counted; the rest goes under this number
            applied, _, bad = await self._actor(host).apply.remote(self.core.encode(batch))
            self.applied += applied
            self.malformed += bad
        except Exception as e:
            self.host_errors += 1
            log.error("%s: %d events for %s lost: %s", self.name, len(batch.events), host, e)
            self.core.drop(batch.events, "host_unavailable")  # each by its own type
        finally:
            self.core.done(host, batch.seq)

    def _mine(self, guild_id: int) -> bool:
        shards = self.shards
        return shards is None or shards.owner(guild_id) in (self.name, None)

    async def set_shards(self, shards: ShardMap) -> None:
        """The gateways' shard ranges changed (a handover): whose guild is whose, for sending."""
        self.shards = shards

    async def deliver(self, outbox: Outbox) -> None:
        """Send the bot's messages (from a host's round) through the source.

        A message of a guild whose shard another gateway runs is handed to that gateway: each
        channel's messages leave from one process, so discord.py's per-route rate-limit buckets
        (which live in its process) see all of them. A host sends to the gateway the guild's last
        event came from, or to gateway 0 for a guild that has had none since the host got it."""
        if self.shards is not None:
            outbox, others = split_outbox(outbox, self.shards, self.name)
            for owner, handed in others.items():
                self._spawn(self._hand_over(owner, handed))
        for message in outbox.messages:
            try:
                reason = await self.source.send(message)
            except Exception as e:
                log.error("%s: sending failed: %s", self.name, type(e).__name__)
                reason = "connection"
            if reason is None:
                self.delivered += 1
                self.metrics.message_sent(message.action)
            else:
                self.failed += 1
                self.metrics.send_failure(reason)
            self.said.add(Said(self.clock.now(), message, outbox.reason, reason))

    async def _hand_over(self, gateway: str, outbox: Outbox) -> None:
        try:
            await self._actor(gateway).deliver.remote(outbox)
            self.handed += len(outbox.messages)
        except Exception as e:
            log.error("%s: could not hand messages to %s: %s", self.name, gateway, e)
            for _ in outbox.messages:
                self.failed += 1
                self.metrics.send_failure("connection")

    async def said_since(self, cursor: int = 0) -> tuple[int, list[Said]]:
        """What the bot said (or failed to) after `cursor`, with why; and the next cursor.

        In memory only, the last 1,000 (for the demo's console)."""
        return self.said.since(cursor)

    async def call_host(self, guild_id: int, method: str, *args):
        """`method(guild_id, *args)` on the host that holds the guild; its answer."""
        host = self.routes.route(guild_id)
        if host == PENDING:
            self.routes.placed.update(await self.directory.place.remote([guild_id]))
            host = self.routes.placed[guild_id]
        return await getattr(self._actor(host), method).remote(guild_id, *args)

    async def forget_user(self, user_id: int, guild_id: int | None = None) -> dict:
        """Erase what guildmind holds about a member, in every guild (or in `guild_id`).

        Everything this gateway received before is first delivered and applied (an event still
        on its way would bring them back after the erasure); then every host that holds guilds
        (or the guild's) erases them and writes the guilds through, and this gateway drops the
        bot's lines that mention them. Returns {"guilds": how many held something, "failed":
        hosts that could not finish (the member may ask again: an erasure is idempotent)}.
        """
        deadline = time.monotonic() + 30.0
        while self.routes.held and time.monotonic() < deadline:  # a partition move under way: its
            await asyncio.sleep(0.01)  # guilds are between two hosts (one that failed: go on)
        self._erasing += 1
        try:
            deadline = time.monotonic() + 30.0
            while self.dedicated and self.core.has(PENDING) and time.monotonic() < deadline:
                await asyncio.sleep(0.005)  # the batching loop places them first
            if guild_id is not None:
                hosts = [self.routes.route(guild_id)]
                if hosts[0] == PENDING:
                    self.routes.placed.update(await self.directory.place.remote([guild_id]))
                    hosts = [self.routes.placed[guild_id]]
            else:
                hosts = await self.directory.hosts.remote()
            if not await drained(self.core, self._flush, hosts, deadline):
                log.warning("%s: erasing a member before every earlier event landed", self.name)
            only = None if guild_id is None else [guild_id]
            answers = await asyncio.gather(
                *(self._actor(h).forget_user.remote(user_id, only) for h in hosts),
                return_exceptions=True,
            )
        finally:
            self._erasing -= 1
        self.said.forget_user(user_id)
        done = failed = 0
        for host, answer in zip(hosts, answers, strict=True):
            if isinstance(answer, BaseException):
                failed += 1
                log.error("%s: %s could not erase a member: %s", self.name, host,
                          type(answer).__name__)  # fmt: skip
            else:
                done += answer
        return {"guilds": done, "failed": failed}

    async def settle(self, timeout_s: float = 30.0) -> bool:
        """Until every event offered before this call was applied by its host (or dropped and
        counted); False when that took longer than `timeout_s` seconds, or events wait parked
        (a placement, a partition move). The discord source saves a shard's sequence number
        only past such a barrier (cold resume: `actors.sources.discord.resume`)."""
        return await settled(self.core, self._flush, lambda: self._stopped, timeout_s)

    async def source_status(self) -> dict:
        """Whether the source is connected, and its fatal error (a sentence) if it stopped."""
        status = getattr(self.source, "status", None)
        return status() if status is not None else {"ready": True, "error": None}

    async def stats(self) -> dict:
        """Counters for the console, the load test and the tests."""
        return {
            "queued": self.core.queued,
            "offered": self.core.offered,
            "in_flight": self.core.in_flight(),
            "dropped": {f"{k}:{r}": n for (k, r), n in self.core.dropped.items()},
            "delivered": self.delivered,
            "failed": self.failed,
            "host_errors": self.host_errors,
            "applied": self.applied,
            "rss": rss_bytes(),
            "malformed": self.malformed,
            "handed": self.handed,
            **add_counts(self._carried, self.source.stats()),
        }

    async def sent(self) -> list:
        """What the bot sent, with times (synthetic source; the last 10,000), oldest first."""
        return list(getattr(self.source, "log", ()))

    async def set_load(self, factor: int) -> None:
        """Offer every synthetic event `factor` times (overload tests, load tests)."""
        self.source.load = factor

    async def stop(self) -> None:
        """Stop the source, send what is buffered, wait for batches in flight."""
        self._stopped = True
        for task in self._tasks:
            task.cancel()
        deadline = time.monotonic() + 10
        while (self.core.queued or self._sending) and time.monotonic() < deadline:
            self._flush()
            await asyncio.sleep(0.01)
        close = getattr(self.source, "close", None)
        if close is not None:
            await close()
        if self.store is not None:
            self.store.close()
        self.server.close()


__all__ = ["Directory", "Gateway"]
