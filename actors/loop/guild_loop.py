"""The guild loop: the one place where a guild's events, timers, moods and rounds meet.

Pure and clock-free, in the manner of SimPy and h11: time comes in as data (each event's `at`,
the `now` given to `due()` and `finish()`), and what the loop wants done comes out as `Round`s
for its shell to run. Three shells drive this same code: the guild host (`actors.loop.host_core`,
on the wall clock, rounds run by the action system), `guildmind simulate` (virtual time, many
guilds over many hours) and `guildmind scenario` (a story). So what the simulation shows about
the bot is what the runtime does.

For each guild the loop keeps, beside the engine's state:

- at most one round at a time. Events that arrive while it runs are applied as usual; a message
  that addresses the bot is *held* and answered when the round ends (several held ones are
  answered together, and the round says so); a counted message makes the guild check again then.
  A guild paused by its admins, or asleep, answers nobody (not even a mention).
- one timer: the earliest of the engine's `next_wake`, the guild's next mood rotation
  (staggered per guild), the moment its personal data stops being needed (the engine's
  `personal_until`: then it is dropped and the guild marked dirty, so the store forgets too,
  also in a guild that hears nothing more) and, for a guild the bot was removed from, the end of
  its grace period (then the guild is forgotten and the shell deletes it from the store), in one
  heap for all guilds, so time never costs a sweep.

What does not belong here: Ray, asyncio, the action system, the state store, the clock. The shell
persists the guilds the loop marks dirty (`mark_dirty`) and exports what it reports through the
`LoopObserver` port.
"""

from __future__ import annotations

import heapq
import logging
import random
from collections.abc import Callable, Iterable
from typing import Protocol

import msgspec

from engine import (
    ASLEEP,
    AutonomousEngine,
    Decision,
    Event,
    MemberJoinEvent,
    MessageEvent,
    PresenceEvent,
)

log = logging.getLogger(__name__)

EVENT_TYPE = {MessageEvent: "message", PresenceEvent: "presence", MemberJoinEvent: "member_join"}
"""Metric label of each inbound event type."""

_GOLDEN = 2654435761  # Knuth's multiplicative hash: spreads guild ids over the rotation period


class Round(msgspec.Struct, frozen=True, gc=False):
    """An action round the loop asks its shell to run for one guild.

    Either the engine decided (`decision`), or people addressed the bot (`addressed`: the messages,
    oldest first; more than one when they came while an earlier round ran). `at` is when the loop
    asked for it (seconds since the epoch).
    """

    guild_id: int
    at: float
    decision: Decision | None = None
    addressed: tuple[MessageEvent, ...] = ()

    @property
    def trigger(self) -> str:
        """ "addressed", or the decision's trigger ("message", "timer")."""
        return "addressed" if self.decision is None else self.decision.trigger


class LoopObserver(Protocol):
    """What the loop reports (the host wires `metrics.GuildmindMetrics`; a simulation counts)."""

    def decision(
        self,
        action: str | None,
        mood: str,
        trigger: str,
        *,
        decide_s: float | None = None,
        latency_s: float | None = None,
        n: int = 1,
    ) -> None:
        """`n` decisions to take `action` (None: stay quiet) in a guild in `mood`."""

    def dropped(self, type: str, reason: str, n: int = 1) -> None:
        """`n` events of `type` were not applied, for `reason` ("malformed")."""


class _Unobserved:
    def decision(self, action, mood, trigger, *, decide_s=None, latency_s=None, n=1) -> None:
        pass

    def dropped(self, type, reason, n=1) -> None:
        pass


Adopt = Callable[[AutonomousEngine, int, float], None]
"""`(engine, guild_id, at)`: give a guild seen for the first time its settings and mood."""


class GuildLoop:
    """The guilds of one host (or one simulated world): events and time in, rounds out.

    Parameters
    ----------
    engine:
        Holds every guild's signals, mood and settings, and decides.
    adopt:
        Called for a guild the engine does not hold yet, before its first event is applied.
    observer:
        Receives decisions and dropped events.
    rotation_s:
        Each guild's mood changes every `rotation_s` seconds (0: never), at a phase of its own.
    include_asleep:
        Whether rotation may pick the `asleep` mood.
    rng:
        Picks the next mood (the engine keeps its own for the rules' dice).
    mark_dirty:
        Called with a guild id whenever the guild's state changed (write-behind).
    timer:
        Optional `() -> float` (seconds) to time the engine's checks (`decide_s`); None: untimed.
    left_grace_s:
        How long a guild the bot was removed from is kept (a re-invite within it resumes it).
    mark_gone:
        Called with a guild id when the loop forgot a guild for good (its grace ran out): the
        shell deletes it from the store.
    """

    def __init__(
        self,
        engine: AutonomousEngine,
        *,
        adopt: Adopt | None = None,
        observer: LoopObserver | None = None,
        rotation_s: float = 0.0,
        include_asleep: bool = False,
        rng: random.Random | None = None,
        mark_dirty: Callable[[int], None] | None = None,
        timer: Callable[[], float] | None = None,
        left_grace_s: float = 7 * 86400.0,
        mark_gone: Callable[[int], None] | None = None,
    ) -> None:
        if rotation_s < 0:
            raise ValueError(f"rotation_s must be >= 0 (0: never), got {rotation_s!r}")
        if left_grace_s < 0:
            raise ValueError(f"left_grace_s must be >= 0, got {left_grace_s!r}")
        self.left_grace_s = left_grace_s
        self.mark_gone = mark_gone or (lambda _gid: None)
        self.engine = engine
        self.adopt = adopt
        self.observer: LoopObserver = observer or _Unobserved()
        self.rotation_s, self.include_asleep = rotation_s, include_asleep
        self.rng = rng or random.Random()
        self.mark_dirty = mark_dirty or (lambda _gid: None)
        self.timer = timer
        self.running: dict[int, Round] = {}  # guild → its round now
        self.held: dict[int, list[MessageEvent]] = {}  # guild → messages for the bot, kept
        self.recheck: set[int] = set()  # guilds that got counted messages during their round
        self.last_decision: dict[int, Decision] = {}  # guild → the last decision that spoke
        self.rejected = 0  # malformed events skipped, in all (reported to the observer too)
        self._timers: list[tuple[float, int]] = []  # (when, guild); stale entries are skipped
        self._timer_of: dict[int, float] = {}  # guild → its one live timer

    # events -------------------------------------------------------------------------------
    def apply(self, events: Iterable[Event], *, latency_s: float | None = None) -> list[Round]:
        """Apply events in order; the rounds to start now.

        `latency_s` is how long the events waited before reaching the loop (reported with the
        decisions they cause). A malformed event is reported and skipped; the others apply.
        """
        engine, running, timer_of = self.engine, self.running, self._timer_of
        dirty, started = self.mark_dirty, engine.started_at + engine.rules.startup_s
        ttl = engine.rules.online_ttl_s
        rounds: list[Round] = []
        quiet: dict[str, int] = {}  # decisions to stay quiet, by mood (reported once per call)
        decide_s = None
        for ev in events:
            gid = ev.guild_id
            new = gid not in engine
            try:
                if new and self.adopt is not None:
                    self.adopt(engine, gid, ev.at)
                counted = engine.apply(ev)
            except (ValueError, TypeError, AttributeError) as e:
                if new:  # a rejected event leaves no half-adopted guild behind
                    engine.forget(gid)
                self.rejected += 1
                self.observer.dropped(EVENT_TYPE.get(type(ev), "other"), "malformed")
                log.warning("skipped a malformed %s: %s", type(ev).__name__, e)
                continue
            dirty(gid)
            if type(ev) is not MessageEvent:
                if type(ev) is PresenceEvent and ev.activity and gid not in running:
                    d = engine.check(gid, at=ev.at)  # a game just started: engage now, maybe
                    if d is not None:
                        rounds.append(self._decided(d, None, latency_s))
                        continue
                self._schedule(gid, ev.at)  # presence and joins may open a time-based rule
                continue
            if counted:  # its author is remembered as present: their hours must end in time
                when = timer_of.get(gid)
                if when is not None and when > ev.at + ttl and gid not in running:
                    self._schedule(gid, ev.at)
            if ev.mentions_bot and not ev.author_is_bot:
                st = engine.state(gid)
                if ev.at < started or st.settings.paused or st.mood == ASLEEP:  # type: ignore[union-attr]
                    if ev.at >= started:  # (nothing at all is sent while starting up)
                        self.observer.decision(None, st.mood, "addressed")  # type: ignore[union-attr]
                    if gid not in timer_of and gid not in running:
                        self._schedule(gid, ev.at)
                elif gid in running:
                    self.held.setdefault(gid, []).append(ev)
                else:
                    rounds.append(self._reply(gid, (ev,), ev.at, latency_s))
                continue
            if not counted:
                continue
            if gid in running:
                self.recheck.add(gid)  # the round's end looks again
                continue
            t0 = self.timer() if self.timer else 0.0
            d = engine.check(gid, at=ev.at, triggered_by_message=True)
            decide_s = self.timer() - t0 if self.timer else None
            if d is not None:
                rounds.append(self._decided(d, decide_s, latency_s))
            else:
                mood = engine.state(gid).mood  # type: ignore[union-attr]
                quiet[mood] = quiet.get(mood, 0) + 1
                if gid not in timer_of:
                    self._schedule(gid, ev.at)
        for mood, n in quiet.items():  # with one sample of the checks' time: plenty per call
            self.observer.decision(None, mood, "message", n=n, decide_s=decide_s)
            decide_s = None
        return rounds

    # time ---------------------------------------------------------------------------------
    def next_timer(self) -> float | None:
        """When the earliest live timer is due (seconds since the epoch), or None."""
        timers, timer_of = self._timers, self._timer_of
        while timers and timer_of.get(timers[0][1]) != timers[0][0]:
            heapq.heappop(timers)  # superseded
        return timers[0][0] if timers else None

    def due(self, now: float, *, limit: int = 10_000) -> list[Round]:
        """Fire the timers due by `now` (at most `limit`): rotate moods, decide; the rounds."""
        rounds: list[Round] = []
        timers, timer_of, engine = self._timers, self._timer_of, self.engine
        fired = 0
        while timers and timers[0][0] <= now and fired < limit:
            when, gid = heapq.heappop(timers)
            if timer_of.get(gid) != when:
                continue
            del timer_of[gid]
            fired += 1
            if gid not in engine:
                continue
            if engine.expire_personal(gid, now):  # its hours are up: from the store too
                self.mark_dirty(gid)
            left = engine.left_at(gid)
            if left is not None:  # the bot was removed: nothing to decide, a deadline to keep
                if now >= left + self.left_grace_s:
                    self._gone(gid)
                elif gid not in self.running:
                    self._schedule(gid, now)
                continue
            if self.rotation_s and self.next_rotation(gid, when - 1e-6) <= now:
                self._rotate(gid, when)
            if gid in self.running:
                continue  # the round's end schedules the guild again
            t0 = self.timer() if self.timer else 0.0
            d = engine.check(gid, at=now)
            decide_s = self.timer() - t0 if self.timer else None
            if d is not None:
                rounds.append(self._decided(d, decide_s, None))
                continue
            self.observer.decision(None, engine.state(gid).mood, "timer", decide_s=decide_s)  # type: ignore[union-attr]
            self._schedule(gid, now)
        return rounds

    def next_rotation(self, guild_id: int, after: float) -> float:
        """The guild's first mood rotation after `after`: every `rotation_s`, at its own phase."""
        phase = (guild_id * _GOLDEN % 2**32) / 2**32 * self.rotation_s
        return ((after - phase) // self.rotation_s + 1) * self.rotation_s + phase

    def _rotate(self, gid: int, at: float) -> None:
        mood = self.engine.state(gid).mood  # type: ignore[union-attr]
        new = self.engine.moods.next_mood(mood, self.rng, include_asleep=self.include_asleep)
        self.engine.update_mood(gid, new, at=at)
        self.mark_dirty(gid)

    def schedule(self, guild_id: int, now: float) -> None:
        """Work out the guild's next timer again (after its settings or mood changed)."""
        if guild_id not in self.running:
            self._schedule(guild_id, now)

    def _schedule(self, gid: int, now: float) -> None:
        engine = self.engine
        left = engine.left_at(gid)
        if left is None:
            when = engine.next_wake(gid, at=now)
            if self.rotation_s:
                rotate = self.next_rotation(gid, now)
                when = rotate if when is None else min(when, rotate)
        else:
            when = left + self.left_grace_s
        forget = engine.personal_until(gid)
        if forget is not None and (when is None or forget < when):
            when = forget
        if when is None:
            self._timer_of.pop(gid, None)
        elif self._timer_of.get(gid) != when:
            self._timer_of[gid] = when
            heapq.heappush(self._timers, (when, gid))

    # rounds -------------------------------------------------------------------------------
    def _decided(self, d: Decision, decide_s: float | None, latency_s: float | None) -> Round:
        self.observer.decision(d.action, d.mood, d.trigger, decide_s=decide_s, latency_s=latency_s)
        rnd = Round(d.guild_id, d.at, decision=d)
        self.running[d.guild_id] = rnd
        return rnd

    def _reply(
        self, gid: int, messages: tuple[MessageEvent, ...], at: float, latency_s: float | None
    ) -> Round:
        mood = self.engine.state(gid).mood  # type: ignore[union-attr]
        self.observer.decision("reply", mood, "addressed", latency_s=latency_s)
        rnd = Round(gid, at, addressed=messages)
        self.running[gid] = rnd
        return rnd

    def finish(self, rnd: Round, spoke: str | None, now: float) -> list[Round]:
        """`rnd` ended at `now`; `spoke` names the action whose message the bot is about to send
        (None: it stayed silent). Records it (before the message goes out, so a crash can lose
        a message but never post one twice); returns the rounds to start next: the held messages
        answered, or a check for the messages that came meanwhile.

        Raises ValueError when `rnd` is not the guild's running round.
        """
        gid = rnd.guild_id
        if self.running.get(gid) is not rnd:
            raise ValueError(f"round {rnd!r} is not running; it was finished before or never began")
        del self.running[gid]
        if spoke is not None and gid in self.engine:
            self.engine.record_action(gid, spoke, at=now)
            self.mark_dirty(gid)
            last = rnd.decision or self._reply_decision(rnd, spoke, now)
            if last.user_id is not None:  # kept for status views: whom it engaged is not needed
                last = msgspec.structs.replace(last, user_id=None)
            self.last_decision[gid] = last
        if gid not in self.engine:  # forgotten meanwhile (moved to another host)
            self.held.pop(gid, None)
            self.recheck.discard(gid)
            return []
        held = self.held.pop(gid, None)
        st = self.engine.state(gid)
        if held and (st.settings.paused or st.mood == ASLEEP):  # type: ignore[union-attr]
            self.observer.decision(None, st.mood, "addressed", n=len(held))  # type: ignore[union-attr]
            held = None  # paused or fallen asleep meanwhile: nobody answers
        if held:
            self.recheck.discard(gid)  # answering them is the bot's turn
            return [self._reply(gid, tuple(held), now, None)]
        if gid in self.recheck:
            self.recheck.discard(gid)
            d = self.engine.check(gid, at=now, triggered_by_message=True)
            if d is not None:
                return [self._decided(d, None, None)]
        self._schedule(gid, now)
        return []

    def _reply_decision(self, rnd: Round, action: str, now: float) -> Decision:
        n = len(rnd.addressed)
        reason = "the bot was addressed"
        if n > 1:
            reason = f"{n} messages addressed the bot while it was busy: one answer to them all"
        mood = self.engine.state(rnd.guild_id).mood  # type: ignore[union-attr]
        return Decision(
            guild_id=rnd.guild_id, at=now, action=action, reason=reason, mood=mood,
            trigger="addressed",
        )  # fmt: skip

    # guilds -------------------------------------------------------------------------------
    def loaded(self, guild_id: int, now: float) -> None:
        """The guild was restored into the engine (start, restart, partition move).

        A snapshot written long ago may hold personal data whose hours are up, or be of a guild
        whose grace ran out meanwhile: both go now (marked dirty, or gone)."""
        if self.engine.expire_personal(guild_id, now):
            self.mark_dirty(guild_id)
        left = self.engine.left_at(guild_id)
        if left is not None and now >= left + self.left_grace_s:
            self._gone(guild_id)
            return
        self._schedule(guild_id, now)

    def left(self, guild_id: int, now: float) -> bool:
        """The bot was removed from the guild at `now`: it decides nothing more there, its
        members' data goes at once, and the guild itself after `left_grace_s` unless the bot
        comes back (`rejoined`). False when the loop does not hold the guild."""
        if guild_id not in self.engine:
            return False
        self.engine.leave(guild_id, at=now)
        self.held.pop(guild_id, None)
        self.recheck.discard(guild_id)
        self.last_decision.pop(guild_id, None)
        self.mark_dirty(guild_id)
        if guild_id not in self.running:
            self._schedule(guild_id, now)
        return True

    def rejoined(self, guild_id: int, now: float) -> bool:
        """The bot is in the guild (again): it resumes; True when it had left."""
        if not self.engine.rejoin(guild_id):
            return False
        self.mark_dirty(guild_id)
        self.schedule(guild_id, now)
        return True

    def feedback(self, guild_id: int, kind: str, at: float) -> bool:
        """Feedback the shell saw at `at`: "hushed" (a member told the bot to be quiet, matched
        by the host on the message's text, which the loop never sees) or "paused" (the admins
        paused it). It lowers the guild's chattiness (`AutonomousEngine.feedback`); False when
        the loop does not hold the guild."""
        if guild_id not in self.engine:
            return False
        self.engine.feedback(guild_id, kind, at=at)
        self.mark_dirty(guild_id)
        self.schedule(guild_id, at)
        return True

    def forget_user(self, user_id: int, guild_ids: Iterable[int] | None = None) -> list[int]:
        """Erase what the loop holds about one member (in `guild_ids`, or every guild): the
        engine's data and their messages held for an answer. Returns the guilds that held
        something (marked dirty; write them through so the store forgets too)."""
        changed = []
        for gid in list(self.engine.guild_ids()) if guild_ids is None else guild_ids:
            erased = self.engine.forget_user(gid, user_id)
            held = self.held.get(gid)
            if held and any(m.author_id == user_id for m in held):
                kept = [m for m in held if m.author_id != user_id]
                if kept:
                    self.held[gid] = kept
                else:
                    del self.held[gid]
                erased = True
            if erased:
                self.mark_dirty(gid)
                changed.append(gid)
        return changed

    def _gone(self, guild_id: int) -> None:
        self.forget(guild_id)
        self.mark_gone(guild_id)

    def forget(self, guild_id: int) -> None:
        """Drop everything the loop keeps about a guild (the engine's state too)."""
        self.engine.forget(guild_id)
        self._timer_of.pop(guild_id, None)
        self.last_decision.pop(guild_id, None)
        self.held.pop(guild_id, None)
        self.recheck.discard(guild_id)

    def busy(self, guild_ids: set[int]) -> bool:
        """Whether any of these guilds has a round running or messages held for one."""
        return not guild_ids.isdisjoint(self.running) or not guild_ids.isdisjoint(self.held)

    def mood_counts(self) -> dict[str, int]:
        """How many guilds are in each mood now."""
        counts: dict[str, int] = {}
        for gid in self.engine.guild_ids():
            mood = self.engine.state(gid).mood  # type: ignore[union-attr]
            counts[mood] = counts.get(mood, 0) + 1
        return counts
