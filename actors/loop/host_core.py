"""The guild host's logic, without Ray: many guilds as virtual actors in one process.

A `HostCore` holds the engine state of the guilds of its partitions, applies batches of events to
them in order, runs an action round when the engine decides or the bot is addressed (at most one
round per guild at a time, many guilds at once), fires time-based rules from a timer heap (each
guild knows when it could next act: no sweep over all guilds), rotates moods, and writes dirty
guilds behind. The Ray actor in `actors.remote.host` is a thin shell around it.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable

import msgspec

from actions import (
    ActionContext,
    ActionModifier,
    ContentWriter,
    OutgoingMessage,
    PostSource,
    Written,
)
from actions.planner import Planner, RulePlanner
from actors.clock import Clock
from actors.loop.transcripts import Transcripts
from actors.routing.sequencer import Sequencer
from actors.routing.wire import Batch, BatchReply, Line
from actors.stores.base import StateStore
from actors.stores.writebehind import WriteBehind
from engine import AutonomousEngine, Decision, MemberJoinEvent, MessageEvent, PresenceEvent
from metrics import GuildmindMetrics

log = logging.getLogger(__name__)

_EVENT_TYPE = {MessageEvent: "message", PresenceEvent: "presence", MemberJoinEvent: "member_join"}

FLUSH_CHUNK = 500  # guilds snapshotted per store write (a few ms on the event loop)

Send = Callable[[str, list[OutgoingMessage]], Awaitable[None]]
"""Hands outgoing messages to the gateway (by name) that owns their guilds."""


class HostCore:
    """Guild state, ordering, rounds, timers and persistence for the guilds of some partitions.

    Parameters
    ----------
    name:
        The host's name (a metrics label and the log prefix).
    engine:
        The decision engine holding every guild of this host.
    store, writer, modifier, planner, posts:
        Persistence and the action system's parts.
    clock:
        The runtime clock (virtual time; its speed compresses the demo and tests).
    adopt:
        `(engine, guild_id, at)`: set a newly seen guild's configured settings and mood.
    send:
        Where outgoing messages go.
    bot_name, persona:
        Who speaks.
    rotation_s:
        Mood rotation period per guild (virtual seconds; 0 never).
    """

    def __init__(
        self,
        name: str,
        *,
        engine: AutonomousEngine,
        store: StateStore,
        clock: Clock,
        modifier: ActionModifier,
        writer: ContentWriter,
        send: Send,
        metrics: GuildmindMetrics,
        adopt: Callable[[AutonomousEngine, int, float], None],
        planner: Planner | None = None,
        posts: PostSource | None = None,
        bot_name: str = "guildmind",
        persona: str = "",
        rotation_s: float = 3600.0,
        include_asleep: bool = False,
        write_behind_s: float = 2.0,
        seed: int | None = None,
    ) -> None:
        self.name, self.engine, self.store, self.clock = name, engine, store, clock
        self.modifier, self.writer, self.send, self.metrics = modifier, writer, send, metrics
        self.adopt, self.planner = adopt, planner or RulePlanner()
        self.posts, self.bot_name, self.persona = posts, bot_name, persona
        self.rotation_s, self.include_asleep = rotation_s, include_asleep
        self.rng = random.Random(seed)
        self.sequencer = Sequencer()
        self.transcripts = Transcripts()
        self.write_behind = WriteBehind(write_behind_s)
        self.owner: dict[int, str] = {}  # guild → the gateway its messages go back through
        self.in_round: set[int] = set()
        self._outgoing: list[tuple[int, list[OutgoingMessage]]] = []
        self._committer: asyncio.Task[None] | None = None
        self._committing: set[int] = set()  # guilds whose recorded actions are being sent
        self.tasks: set[asyncio.Task[None]] = set()
        self._timers: list[tuple[float, int]] = []  # (when, guild): the earliest is next
        self._timer_of: dict[int, float] = {}  # guild → its one live timer
        self.last_decision: dict[int, Decision] = {}  # per guild, the last one that acted
        self.mood_counts: dict[str, int] = {}
        self._judge_seen = (0, 0)  # the modifier's (judged, cache_hits) already exported
        # (seconds from the oldest event's arrival at the gateway to its batch decided, events):
        # the load test's latency percentiles, weighted by events; bounded
        self.latencies: deque[tuple[float, int]] = deque(maxlen=200_000)
        metrics.set_guild_source(lambda: self.mood_counts)

    # loading ------------------------------------------------------------------------------
    def load(self, owns: Callable[[int], bool]) -> int:
        """Restore every guild of this host's partitions from the store (at start or restart)."""
        ids = [gid for gid in self.store.guild_ids() if owns(gid)]
        now = self.clock.now()
        loaded = 0
        for gid, data in self.store.load(ids).items():
            try:
                self.engine.restore(gid, data)
            except ValueError as e:
                log.error("%s: guild snapshot unreadable, starting it afresh: %s", self.name, e)
                continue
            loaded += 1
            self._schedule(gid, now)
        self.count_moods()
        return loaded

    async def release(self, leaving: Callable[[int], bool], timeout_s: float = 30.0) -> int:
        """Hand guilds over (a partition move): finish their rounds, write them through, forget.

        Returns how many guilds were written. Raises when their rounds do not end in time, and
        then keeps them (nothing is lost; the move is not made).
        """
        gids = [gid for gid in self.engine.guild_ids() if leaving(gid)]
        going = set(gids)
        deadline = time.monotonic() + timeout_s
        # their rounds finish and their messages go out (recorded first); the other guilds' rounds
        # go on meanwhile, so wait for these guilds only
        while (
            going & self.in_round
            or going & self._committing
            or any(gid in going for gid, _ in self._outgoing)
        ):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name}: rounds still running after {timeout_s}s")
            await asyncio.sleep(0.005)
        snapshots = {gid: self.engine.snapshot(gid) for gid in gids}
        if snapshots:
            await asyncio.to_thread(self.write_behind.save_through, self.store, snapshots)
        for gid in gids:
            self.engine.forget(gid)
            self.write_behind.forget(gid)
            self.transcripts.forget(gid)
            for table in (self._timer_of, self.owner, self.last_decision):
                table.pop(gid, None)
        self.count_moods()
        return len(snapshots)

    # events -------------------------------------------------------------------------------
    def apply(self, batch: Batch) -> BatchReply:
        """Apply a batch (and any it released) in order; start rounds for what was decided."""
        repeats = self.sequencer.duplicates
        ready = self.sequencer.offer(batch)
        if not ready:
            duplicate = self.sequencer.duplicates > repeats
            if duplicate:
                log.debug(
                    "%s: batch %s/%d seen before, ignored", self.name, batch.gateway, batch.seq
                )
            return BatchReply(0, duplicate=duplicate)
        applied = malformed = 0
        for b in ready:
            a, m = self._apply_one(b)
            applied, malformed = applied + a, malformed + m
        return BatchReply(applied, malformed=malformed)

    def _apply_one(self, batch: Batch) -> tuple[int, int]:
        engine, metrics = self.engine, self.metrics
        owner, timer_of, dirty = self.owner, self._timer_of, self.write_behind.mark_dirty
        for line in batch.lines:
            self.transcripts.add(line)
        mentions: list[MessageEvent] = []
        quiet: dict[str, int] = {}  # decisions to stay quiet, by mood (counted once per batch)
        applied = malformed = 0
        decide_s = 0.0
        for ev in batch.events:
            gid = ev.guild_id
            try:
                if gid not in engine:
                    self.adopt(engine, gid, ev.at)
                counted = engine.apply(ev)
            except (ValueError, TypeError, AttributeError) as e:
                malformed += 1
                metrics.dropped(_EVENT_TYPE.get(type(ev), "other"), "malformed")
                log.warning("%s: skipped a malformed %s: %s", self.name, type(ev).__name__, e)
                continue
            applied += 1
            dirty(gid)
            owner[gid] = batch.gateway
            if type(ev) is MessageEvent:
                if ev.mentions_bot and not ev.author_is_bot:
                    if ev.at - engine.started_at >= engine.rules.startup_s:
                        mentions.append(ev)  # nothing at all is sent while starting up
                    continue
                if counted and gid not in self.in_round:  # its round will record what it did
                    t0 = time.perf_counter()
                    d = engine.check(gid, at=ev.at, triggered_by_message=True)
                    decide_s = time.perf_counter() - t0
                    if d is not None:
                        self._decided(d, batch.sent_at, decide_s)
                    else:
                        mood = engine.state(gid).mood  # type: ignore[union-attr]
                        quiet[mood] = quiet.get(mood, 0) + 1
                if gid not in timer_of:
                    self._schedule(gid, ev.at)
            else:
                self._schedule(gid, ev.at)  # presence and joins may open a time-based rule
        for ev in mentions:
            st = engine.state(ev.guild_id)
            mood = st.mood if st is not None else ""
            self.metrics.decision("reply", mood, "addressed", latency_s=time.time() - batch.sent_at)
            self._start_round(ev.guild_id, None, self._line_for(ev))
        for mood, n in quiet.items():
            metrics.decision(None, mood, "message", n=n)
        if quiet:  # one sample of the quiet checks per batch: a histogram call per event is not
            metrics.decide_seconds.observe(decide_s)  # worth it (the last check is as good as any)
        latency = max(0.0, time.time() - batch.sent_at)
        metrics.event_to_decision_seconds.observe(latency)
        self.latencies.append((latency, len(batch.events)))
        return applied, malformed

    def _line_for(self, ev: MessageEvent) -> Line:
        line = self.transcripts.find(ev.guild_id, ev.author_id, ev.at)
        return line or Line(ev.guild_id, ev.channel_id, 0, ev.author_id, "", "", ev.at, True)

    # decisions and rounds -----------------------------------------------------------------
    def _decided(self, d: Decision, sent_at: float | None, decide_s: float | None = None) -> None:
        latency = None if sent_at is None else max(0.0, time.time() - sent_at)
        self.metrics.decision(d.action, d.mood, d.trigger, decide_s=decide_s, latency_s=latency)
        self._start_round(d.guild_id, d, None)

    def _start_round(self, gid: int, d: Decision | None, line: Line | None) -> None:
        if gid in self.in_round:
            self.metrics.round("busy")  # one round per guild at a time: this one is dropped
            return
        self.in_round.add(gid)
        task = asyncio.get_running_loop().create_task(self._round(gid, d, line))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _round(self, gid: int, d: Decision | None, line: Line | None) -> None:
        t0 = time.perf_counter()
        try:
            outcome = await self._run_round(gid, d, line)
        except Exception:
            log.exception("%s: an action round failed", self.name)
            outcome = "error"
        finally:
            self.in_round.discard(gid)
        if outcome != "queued":  # a queued round is counted when its message goes out
            self.metrics.round(outcome)
        self.metrics.round_seconds.observe(time.perf_counter() - t0)
        self._schedule(gid, self.clock.now())

    async def _run_round(self, gid: int, d: Decision | None, line: Line | None) -> str:
        st = self.engine.state(gid)
        if st is None:
            return "silent"
        channel = line.channel_id if line else self._channel_for(gid)
        if not channel:
            log.info("%s: a guild has no channel to speak in yet", self.name)
            return "failed"
        ctx = ActionContext(
            guild_id=gid, channel_id=channel, mood=st.mood,
            messages=self.transcripts.recent(gid, channel), decision=d, llm=self.writer.llm,
            rng=self.rng, now=self.clock.now(), bot_name=self.bot_name, persona=self.persona,
            addressed=line is not None, writer=self.writer, posts=self.posts,
        )  # fmt: skip
        report = await self.modifier.activate(ctx)
        self.metrics.activations(report)
        self._count_judge()
        name = await self.planner.plan(ctx, report)
        if name is None:
            return "silent"
        action = report.actions[name]
        result = await self.modifier.execute(action)
        self._count_words(name, getattr(action, "last_written", None), result.duration_s)
        out = [m for m in ctx.outbox if m.text]
        if not out:
            return "failed"
        if line is not None and line.message_id:
            out = [m if m.reply_to else _reply(m, line.message_id) for m in out]
        now = self.clock.now()
        self.engine.record_action(gid, name, at=now)
        self.last_decision[gid] = d or Decision(
            guild_id=gid, at=now, action=name, reason="the bot was addressed", mood=st.mood,
            trigger="addressed",
        )  # fmt: skip
        self._outgoing.append((gid, out))
        if self._committer is None or self._committer.done():
            self._committer = asyncio.get_running_loop().create_task(self._commit_outgoing())
            self.tasks.add(self._committer)
            self._committer.add_done_callback(self.tasks.discard)
        return "queued"

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
                snapshots = {gid: self.engine.snapshot(gid) for gid, _ in items}
                try:
                    await asyncio.to_thread(self.write_behind.save_through, self.store, snapshots)
                except Exception as e:
                    log.error(
                        "%s: could not record the bot's actions, not sending: %s", self.name, e
                    )
                    self.metrics.state_saves(saved=0, failed=len(snapshots))
                    for _ in items:
                        self.metrics.round("failed")
                    continue
                self.metrics.state_saves(saved=len(snapshots), seconds=time.perf_counter() - t0)
                by_gateway: dict[str, list[OutgoingMessage]] = {}
                for gid, messages in items:
                    by_gateway.setdefault(self.owner.get(gid, ""), []).extend(messages)
                    self.metrics.round("sent")
                for gateway, messages in by_gateway.items():
                    await self.send(gateway, messages)
        finally:
            self._committing = set()

    def _count_judge(self) -> None:
        # The modifier's judge counters are shared by every round; export what is new since the
        # last look (no await in between, so concurrent rounds never count a verdict twice).
        stats, (llm, cache) = self.modifier.judge_stats, self._judge_seen
        self._judge_seen = (stats.judged, stats.cache_hits)
        self.metrics.judge_verdicts(llm=stats.judged - llm, cache=stats.cache_hits - cache)

    def _count_words(self, action: str, written: Written | None, seconds: float) -> None:
        if written is None or written.llm_outcome == "none":
            return  # a plugin's own words, or templates with no LLM configured
        self.metrics.llm_request("content", written.llm_outcome, seconds)
        if written.fell_back:
            self.metrics.template_fallback(action)

    def _channel_for(self, gid: int) -> int:
        st = self.engine.state(gid)
        assert st is not None
        if st.settings.channels:
            if st.last_channel in st.settings.channels:
                return st.last_channel
            return min(st.settings.channels)
        return (
            st.settings.default_channel
            or st.last_channel
            or self.transcripts.last_channel(gid)
            or 0
        )

    # timers -------------------------------------------------------------------------------
    def _schedule(self, gid: int, now: float) -> None:
        when = self.engine.next_wake(gid, at=now)
        if self.rotation_s:
            rotate = self._next_rotation(gid, now)
            when = rotate if when is None else min(when, rotate)
        if when is None:
            self._timer_of.pop(gid, None)
        elif self._timer_of.get(gid) != when:
            self._timer_of[gid] = when
            heapq.heappush(self._timers, (when, gid))

    def _next_rotation(self, gid: int, now: float) -> float:
        phase = (gid * 2654435761 % 2**32) / 2**32 * self.rotation_s  # staggered per guild
        return ((now - phase) // self.rotation_s + 1) * self.rotation_s + phase

    def next_timer(self) -> float | None:
        """When the earliest live timer is due (virtual time), or None."""
        while self._timers and self._timer_of.get(self._timers[0][1]) != self._timers[0][0]:
            heapq.heappop(self._timers)  # superseded
        return self._timers[0][0] if self._timers else None

    def fire_timers(self, now: float, limit: int = 10_000) -> int:
        """Run every timer due by `now`: rotate moods, decide, start rounds. Returns how many."""
        fired = 0
        timers, timer_of = self._timers, self._timer_of
        while timers and timers[0][0] <= now and fired < limit:
            when, gid = heapq.heappop(timers)
            if timer_of.get(gid) != when:
                continue
            del timer_of[gid]
            fired += 1
            if gid not in self.engine:
                continue
            if self.rotation_s and self._next_rotation(gid, when - 1e-6) <= now:
                self._rotate(gid, when)
            if gid not in self.in_round:
                t0 = time.perf_counter()
                d = self.engine.check(gid, at=now)
                if d is not None:
                    self._decided(d, None, time.perf_counter() - t0)
                    continue  # the round reschedules
                self.metrics.decision(None, self.engine.state(gid).mood, "timer")  # type: ignore[union-attr]
            self._schedule(gid, now)
        return fired

    def _rotate(self, gid: int, at: float) -> None:
        st = self.engine.state(gid)
        assert st is not None
        mood = self.engine.moods.next_mood(st.mood, self.rng, include_asleep=self.include_asleep)
        self.engine.update_mood(gid, mood, at=at)
        self.write_behind.mark_dirty(gid)

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
        counts: dict[str, int] = {}
        for gid in self.engine.guild_ids():
            st = self.engine.state(gid)
            if st is not None:
                counts[st.mood] = counts.get(st.mood, 0) + 1
        self.mood_counts = counts


def _reply(m: OutgoingMessage, message_id: int) -> OutgoingMessage:
    return msgspec.structs.replace(m, reply_to=message_id)
