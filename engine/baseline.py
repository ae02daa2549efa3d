"""The `v1` baseline policy: the behaviour the engine replaces, kept for side-by-side simulation.

Every `interval_s` (15 minutes) a timer fires; with a `chance` of 10 % the bot acts, picking at
random among a general remark, engaging a user and sharing a post, whatever the room is doing.
"""

from __future__ import annotations

import random

from .decision import Decision

V1_ACTIONS: tuple[str, ...] = ("break_silence", "engage_user", "share_tweet")


class V1Policy:
    """A timer, a coin and a random pick: no signals at all."""

    def __init__(
        self,
        rng: random.Random,
        *,
        interval_s: float = 900.0,
        chance: float = 0.1,
        actions: tuple[str, ...] = V1_ACTIONS,
    ) -> None:
        if not interval_s > 0:
            raise ValueError(f"interval_s must be > 0, got {interval_s!r}")
        if not 0 <= chance <= 1:
            raise ValueError(f"chance must be in [0, 1], got {chance!r}")
        if not actions:
            raise ValueError("actions must name at least one action")
        self.rng, self.interval_s, self.chance, self.actions = rng, interval_s, chance, actions

    def decide(self, guild_id: int, *, at: float) -> Decision:
        """One timer tick for one guild."""
        roll = self.rng.random()
        if roll >= self.chance:
            reason = f"v1 tick: roll {roll:.2f} ≥ {self.chance:.2f}"
            return Decision(guild_id=guild_id, at=at, action=None, reason=reason, trigger="timer")
        action = self.rng.choice(self.actions)
        reason = f"v1 tick: roll {roll:.2f} < {self.chance:.2f}, picked {action} at random"
        return Decision(guild_id=guild_id, at=at, action=action, reason=reason, trigger="timer")

    def next_wake(self, at: float) -> float:
        return at + self.interval_s
