"""The guild loop's time: one timer per guild, in one heap for all guilds, and mood rotation.

What belongs here (a part of `GuildLoop`, pure and clock-free like it: `now` comes in as data):
each guild's one timer, the earliest of the engine's `next_wake`, its next mood rotation
(staggered per guild), the moment its personal data stops being needed (`personal_until`) and,
for a guild the bot was removed from, the end of its grace period; firing the timers that are
due (rotate, expire, decide). Stale heap entries are skipped, so time never costs a sweep.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from typing import TYPE_CHECKING

from engine import AutonomousEngine

if TYPE_CHECKING:
    from actors.loop.guild_loop import LoopObserver, Round

_GOLDEN = 2654435761  # Knuth's multiplicative hash: spreads guild ids over the rotation period


class LoopTimers:
    """`GuildLoop`'s timers and mood rotation (a mixin: the state is the loop's own, set in its
    `__init__`)."""

    engine: AutonomousEngine
    observer: LoopObserver
    rotation_s: float
    include_asleep: bool
    rng: random.Random
    mark_dirty: Callable[[int], None]
    timer: Callable[[], float] | None
    left_grace_s: float
    running: dict[int, Round]
    _timers: list[tuple[float, int]]
    _timer_of: dict[int, float]

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
