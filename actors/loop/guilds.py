"""The guild loop's guilds: restored, left and rejoined, fed back, a member erased, forgotten.

What belongs here (a part of `GuildLoop`, pure and clock-free like it): what happens to a whole
guild or a whole member outside the flow of events and rounds: a guild restored from the store
(`loaded`), the bot removed from it and its grace period (`left`, `rejoined`), the admins' or
members' feedback, a member's data erased (`forget_user`, held messages too), a guild forgotten,
and the views the shell reads (`busy`, `mood_counts`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from engine import AutonomousEngine, MessageEvent

if TYPE_CHECKING:
    from actors.loop.guild_loop import Round
    from engine import Decision


class GuildLifecycle:
    """`GuildLoop`'s guild-wide operations (a mixin: the state is the loop's own, set in its
    `__init__`)."""

    engine: AutonomousEngine
    mark_dirty: Callable[[int], None]
    mark_gone: Callable[[int], None]
    left_grace_s: float
    running: dict[int, Round]
    held: dict[int, list[MessageEvent]]
    recheck: set[int]
    last_decision: dict[int, Decision]
    _timer_of: dict[int, float]

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
