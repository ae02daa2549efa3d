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

Where each part lives: this module holds `Round`, the `LoopObserver` port and `GuildLoop` with
its events and rounds (held mentions, rechecks, `finish`); its timers and mood rotation are in
`timers`, its guild-wide operations (restored, left, rejoined, a member erased) in `guilds`.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterable
from typing import Protocol

import msgspec

from actors.loop.guilds import GuildLifecycle
from actors.loop.timers import LoopTimers
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


class GuildLoop(LoopTimers, GuildLifecycle):
    """The guilds of one host (or one simulated world): events and time in, rounds out.

    Events (`apply`) and rounds (`finish`, held mentions, rechecks) are here; time (`due`,
    mood rotation) is `LoopTimers`' (`timers`), guild-wide operations (`loaded`, `left`,
    `forget_user`…) are `GuildLifecycle`'s (`guilds`).

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
