"""The guild host's logic, without Ray: many guilds as virtual actors in one process.

A `HostCore` drives the guild loop (`actors.loop.guild_loop`) on the wall clock: it puts each
gateway's batches back in order and applies them (answering each once it is applied), runs the
rounds the loop asks for as tasks (at most one per guild, many guilds at once), fires the loop's
timers when told, commits what the rounds say (recorded, written through, then sent) and writes
dirty guilds behind. The Ray actor in `actors.remote.host` is a thin shell around it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable

import msgspec

from actions import OutgoingMessage
from actors.clock import Clock
from actors.loop.guild_loop import GuildLoop, Round
from actors.loop.replays import ReplayWindow
from actors.loop.rounds import RoundResult, RoundRunner
from actors.loop.transcripts import Transcripts
from actors.routing.sequencer import Sequencer
from actors.routing.wire import Batch, BatchReply, decode_batch
from actors.stores.base import StateStore
from actors.stores.writebehind import WriteBehind
from engine import Decision
from metrics import GuildmindMetrics

log = logging.getLogger(__name__)

FLUSH_CHUNK = 500  # guilds snapshotted per store write (a few ms on the event loop)

Send = Callable[[str, list[OutgoingMessage]], Awaitable[None]]
"""Hands outgoing messages to the gateway (by name) that owns their guilds."""


class HostCore:
    """The guild host without Ray: ordering, the guild loop, its rounds, persistence.

    Batches are put back in order per gateway (`Sequencer`) and applied to the `GuildLoop`;
    the rounds it asks for run as tasks on this event loop (`RoundRunner`), many guilds at once;
    what they say is recorded (the loop's `finish`), written through to the store and only then
    handed to the gateway; dirty guilds are written behind.

    Parameters
    ----------
    name:
        The host's name (the log prefix).
    loop:
        The guild loop holding every guild of this host (its engine, timers, rounds).
    runner:
        Runs the loop's rounds with the action system.
    store, clock, send, metrics:
        Persistence, the runtime clock (virtual time), where messages go, what is exported.
    write_behind_s:
        How often dirty guilds are written (real seconds).
    """

    def __init__(
        self,
        name: str,
        *,
        loop: GuildLoop,
        runner: RoundRunner,
        store: StateStore,
        clock: Clock,
        send: Send,
        metrics: GuildmindMetrics,
        write_behind_s: float = 2.0,
        replay_window: int = 65_536,
    ) -> None:
        self.name, self.loop, self.runner, self.store, self.clock = name, loop, runner, store, clock
        self.send, self.metrics = send, metrics
        self.engine = loop.engine
        self.sequencer = Sequencer()
        self.transcripts = Transcripts()
        self.replays = ReplayWindow(replay_window)  # messages replayed by a cold resume: once
        self.write_behind = WriteBehind(write_behind_s)
        loop.mark_dirty = self.write_behind.mark_dirty
        loop.mark_gone = self._gone
        self.owner: dict[int, str] = {}  # guild → the gateway its messages go back through
        self._outgoing: list[tuple[int, tuple[OutgoingMessage, ...]]] = []
        # batches that came before an earlier one of their link: answered once applied
        self._waiting: dict[tuple[str, int, int], asyncio.Future[BatchReply]] = {}
        self._committer: asyncio.Task[None] | None = None
        self._committing: set[int] = set()  # guilds whose recorded actions are being sent
        self.tasks: set[asyncio.Task[None]] = set()
        self.mood_counts: dict[str, int] = {}
        # (seconds from the oldest event's arrival at the gateway to its batch decided, events):
        # the load test's latency percentiles, weighted by events; bounded
        self.latencies: deque[tuple[float, int]] = deque(maxlen=200_000)
        metrics.set_guild_source(lambda: self.mood_counts)

    @property
    def last_decision(self) -> dict[int, Decision]:
        """Per guild, the last decision that made the bot speak."""
        return self.loop.last_decision

    # loading ------------------------------------------------------------------------------
    def load(self, owns: Callable[[int], bool]) -> int:
        """Restore every guild of this host's partitions from the store (at start or restart)."""
        return self.restore(self.read(owns))

    def read(self, owns: Callable[[int], bool]) -> dict[int, bytes]:
        """The stored snapshots of the guilds `owns` holds (blocking I/O: run it in a thread)."""
        return self.store.load([gid for gid in self.store.guild_ids() if owns(gid)])

    def restore(self, snapshots: dict[int, bytes]) -> int:
        """Take guilds from `read()` into the loop (on the event loop); how many were readable."""
        now = self.clock.now()
        loaded = 0
        for gid, data in snapshots.items():
            try:
                self.engine.restore(gid, data)
            except ValueError as e:
                log.error("%s: guild snapshot unreadable, starting it afresh: %s", self.name, e)
                continue
            loaded += 1
            self.loop.loaded(gid, now)
        self.count_moods()
        return loaded

    async def release(self, leaving: Callable[[int], bool], timeout_s: float | None = None) -> int:
        """Hand guilds over (a partition move): finish their rounds, write them through, forget.

        Returns how many guilds were written. Raises TimeoutError when their rounds do not end
        within `timeout_s` (default: a round's longest, twice, as one held answer may follow
        another, plus 10 s to commit), and then keeps them (nothing is lost; no move is made).
        """
        if timeout_s is None:
            timeout_s = 2 * self.runner.longest_s + 10.0
        gids = [gid for gid in self.engine.guild_ids() if leaving(gid)]
        going = set(gids)
        deadline = time.monotonic() + timeout_s
        # their rounds finish and their messages go out (recorded first); the other guilds' rounds
        # go on meanwhile, so wait for these guilds only
        while (
            self.loop.busy(going)
            or going & self._committing
            or any(gid in going for gid, _ in self._outgoing)
        ):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name}: rounds still running after {timeout_s}s")
            await asyncio.sleep(0.005)
        seq = self.write_behind.stamp()
        snapshots = {gid: self.engine.snapshot(gid) for gid in gids}
        if snapshots:
            await asyncio.to_thread(self.write_behind.save_through, self.store, snapshots, seq)
        for gid in gids:
            self.loop.forget(gid)
            self.write_behind.forget(gid)
            self.transcripts.forget(gid)
            self.owner.pop(gid, None)
        self.count_moods()
        return len(snapshots)

    # events -------------------------------------------------------------------------------
    async def apply_encoded(self, data: bytes) -> BatchReply:
        """`apply()` for a batch as a gateway sent it (msgpack).

        An event that cannot be decoded (an id that is not a snowflake, a wrong type) is skipped
        and counted (`malformed`, by its own type) and the rest of its batch applies, under its
        number; only a batch whose own fields cannot be read is refused whole."""
        try:
            batch, bad = decode_batch(data)
        except (msgspec.DecodeError, msgspec.ValidationError) as e:
            log.warning("%s: skipped a malformed batch: %s", self.name, e)
            self.metrics.dropped("other", "malformed")
            return BatchReply(0, malformed=1)
        reply = await self.apply(batch)
        if bad and not reply.duplicate:
            log.warning("%s: skipped %d undecodable events of a batch", self.name, len(bad))
            for kind in bad:
                self.metrics.dropped(kind, "malformed")
            reply = BatchReply(reply.applied, malformed=reply.malformed + len(bad))
        return reply

    async def apply(self, batch: Batch) -> BatchReply:
        """Apply a batch in its link's order; answer once it is applied (or was a repeat).

        A batch that comes before an earlier one of its link waits for it: its answer says it
        was applied only when it was, so a host that dies meanwhile leaves it in flight at the
        gateway, and Ray's retry brings it to the host's next incarnation. The reply counts this
        batch's events only (applied, and malformed ones skipped)."""
        ready, repeat = self.sequencer.offer(batch)
        if repeat:
            log.debug("%s: batch %s/%d seen before, ignored", self.name, batch.gateway, batch.seq)
            return BatchReply(0, duplicate=True)
        mine = self._apply_ready(ready, batch)
        if mine is not None:
            return mine
        waiter = asyncio.get_running_loop().create_future()
        self._waiting[(batch.gateway, batch.epoch, batch.seq)] = waiter
        return await waiter

    def advance(self, gateway: str, epoch: int, floor: int) -> int:
        """The gateway says nothing below `floor` of its link is in flight any more: apply what
        waited on a batch this host will never get. Returns how many batches that released."""
        ready = self.sequencer.advance(gateway, epoch, floor)
        self._apply_ready(ready, None)
        return len(ready)

    def _apply_ready(self, ready: list[Batch], batch: Batch | None) -> BatchReply | None:
        """Apply `ready` in order, answering the waiting calls; `batch`'s own reply, if in it."""
        mine: BatchReply | None = None
        for b in ready:
            reply = self._apply_in_order(b)
            if b is batch:
                mine = reply
            else:
                waiter = self._waiting.pop((b.gateway, b.epoch, b.seq), None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(reply)
        return mine

    def _apply_in_order(self, b: Batch) -> BatchReply:
        skipped = self.replays.skipped
        events, lines = self.replays.admit(b.events, b.lines)  # (a replayed message: once)
        if self.replays.skipped != skipped:
            self.metrics.dropped("message", "replayed", self.replays.skipped - skipped)
        quiet_words = self.engine.learning.quiet_words
        for line in lines:
            self.transcripts.add(line)
            if line.mentions_bot and quiet_words(line.content):  # "@Miku be quiet": less chatty
                self.loop.feedback(line.guild_id, "hushed", line.at)
        self.owner.update(dict.fromkeys([ev.guild_id for ev in events], b.gateway))
        latency = max(0.0, time.time() - b.sent_at)
        rejected = self.loop.rejected
        self._start(self.loop.apply(events, latency_s=latency))
        bad = self.loop.rejected - rejected
        self.metrics.event_to_decision_seconds.observe(latency)
        self.latencies.append((latency, len(events)))
        return BatchReply(len(events) - bad, malformed=bad)

    def next_timer(self) -> float | None:
        """When the earliest live timer is due (virtual time), or None."""
        return self.loop.next_timer()

    def fire_timers(self, now: float, limit: int = 10_000) -> None:
        """Fire the timers due by `now` (at most `limit`) and start the rounds they decide."""
        self._start(self.loop.due(now, limit=limit))

    # rounds -------------------------------------------------------------------------------
    def _start(self, rounds: list[Round]) -> None:
        for rnd in rounds:
            task = asyncio.get_running_loop().create_task(self._round(rnd))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _round(self, rnd: Round) -> None:
        t0 = time.perf_counter()
        result = RoundResult("failed")
        try:
            st = self.engine.state(rnd.guild_id)
            if st is not None:
                ledger = (st.llm_day, st.llm_tokens)
                try:
                    result = await self.runner.run(rnd, st, self.transcripts, self.clock.now())
                finally:
                    if (st.llm_day, st.llm_tokens) != ledger:  # its token ledger is persisted
                        self.write_behind.mark_dirty(rnd.guild_id)
                if result.outcome == "failed" and result.action is None:
                    log.info("%s: a guild has no channel to speak in yet", self.name)
        except Exception:
            log.exception("%s: an action round failed", self.name)
            result = RoundResult("error")
        finally:
            # recorded before its messages go out; and what came for the guild meanwhile next
            self._start(self.loop.finish(rnd, result.action if result.messages else None,
                                         self.clock.now()))  # fmt: skip
        if result.messages:
            self._queue(rnd.guild_id, result.messages)  # counted when its messages go out
        else:
            self.metrics.round(result.outcome)
        self.metrics.round_seconds.observe(time.perf_counter() - t0)

    def _queue(self, gid: int, messages: tuple[OutgoingMessage, ...]) -> None:
        self._outgoing.append((gid, messages))
        if self._committer is None or self._committer.done():
            self._committer = asyncio.get_running_loop().create_task(self._commit_outgoing())
            self.tasks.add(self._committer)
            self._committer.add_done_callback(self.tasks.discard)

    async def _commit_outgoing(self) -> None:
        """Group commit: write the guilds that acted through to the store, then send.

        The bot's action is recorded, and written through, before its message is sent: a crash
        in between can lose a message, never send one twice. One store write and one call per
        gateway serve every round that finished meanwhile.
        """
        try:
            while self._outgoing:
                items, self._outgoing = self._outgoing, []
                self._committing = {gid for gid, _ in items}
                t0 = time.perf_counter()
                seq = self.write_behind.stamp()
                snapshots = {
                    gid: self.engine.snapshot(gid) for gid, _ in items if gid in self.engine
                }  # (a guild deleted meanwhile has nothing to record)
                try:
                    refused = await asyncio.to_thread(
                        self.write_behind.save_through, self.store, snapshots, seq
                    )
                except Exception as e:
                    log.error(
                        "%s: could not record the bot's actions, not sending: %s", self.name, e
                    )
                    self.metrics.state_saves(saved=0, failed=len(snapshots))
                    for _ in items:
                        self.metrics.round("failed")
                    continue
                if refused:  # the store can never take these guilds: only their words stay home
                    log.error("%s: %d guilds' actions not recorded, not sending there",
                              self.name, len(refused))  # fmt: skip
                    items = [(gid, messages) for gid, messages in items if gid not in refused]
                    for _ in refused:
                        self.metrics.round("failed")
                saved = len(snapshots) - len(refused)
                self.metrics.state_saves(
                    saved=saved, failed=len(refused), seconds=time.perf_counter() - t0
                )
                by_gateway: dict[str, list[OutgoingMessage]] = {}
                for gid, messages in items:
                    by_gateway.setdefault(self.owner.get(gid, ""), []).extend(messages)
                    self.metrics.round("sent")
                for gateway, messages in by_gateway.items():
                    await self.send(gateway, messages)
        finally:
            self._committing = set()

    # privacy ------------------------------------------------------------------------------
    def _gone(self, guild_id: int) -> None:
        """The loop forgot a guild for good (the bot left it and its grace ran out)."""
        self.write_behind.mark_deleted(guild_id)
        self.transcripts.forget(guild_id)
        self.owner.pop(guild_id, None)
        log.info("%s: a guild the bot left %.0f days ago was deleted", self.name,
                 self.loop.left_grace_s / 86400)  # fmt: skip

    async def forget_user(self, user_id: int, guild_ids: list[int] | None = None) -> int:
        """Erase what this host holds about a member (in `guild_ids`, or every guild): the
        engine's data, messages held for an answer, transcript lines; the guilds whose state
        changed are written through before this returns, so the store forgets too (and no
        snapshot taken before can write it back: see `WriteBehind`). Returns how many guilds
        held something. Raises what the store raises: then call again (it is idempotent)."""
        changed = set(self.loop.forget_user(user_id, guild_ids))
        lines = self.transcripts.forget_user(user_id, guild_ids)
        if changed:
            seq = self.write_behind.stamp()
            snapshots = {gid: self.engine.snapshot(gid) for gid in changed}
            await asyncio.to_thread(self.write_behind.save_through, self.store, snapshots, seq)
        return len(changed.union(lines))

    # persistence --------------------------------------------------------------------------
    async def flush(self, *, force: bool = False) -> None:
        """Write dirty guilds (when the write-behind interval has passed, or now if `force`)."""
        wb = self.write_behind
        if not wb.pending or not (force or wb.due(time.monotonic())):
            return
        for _ in range(wb.pending // FLUSH_CHUNK + 1):  # guilds dirtied meanwhile wait their turn
            # in chunks: snapshots are taken on the event loop (consistent), so keep each short
            batch = wb.collect(self.engine.snapshot, limit=FLUSH_CHUNK)
            result = await asyncio.to_thread(wb.commit, self.store, batch)
            self.metrics.flush_result(result)
            if result.error:
                log.warning("%s: write-behind failed, will retry: %s", self.name, result.error)
                return
            if not wb.pending:
                return

    def housekeeping(self, now: float) -> None:
        """Forget idle transcripts; recount guilds by mood for the scrape-time gauges."""
        self.transcripts.expire(now)
        self.count_moods()

    def count_moods(self) -> None:
        """Recount the guilds by mood (read by the metrics at scrape time)."""
        self.mood_counts = self.loop.mood_counts()
