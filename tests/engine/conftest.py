"""Engine fixtures: a minute-aligned start time, a fixed-roll RNG and a few helpers."""

from __future__ import annotations

import random

import pytest

from engine import FIXED, AutonomousEngine, LearningConfig, RuleConfig

T0 = 1_699_999_980.0  # 2023-11-14 22:13:00 UTC, on a minute boundary
G = 42  # the guild most tests use


class FixedRoll(random.Random):
    """A Random whose every roll is `value`: puts a rule's dice exactly where a test wants."""

    def __init__(self, value: float) -> None:
        super().__init__(0)
        self.value = value

    def random(self) -> float:
        return self.value


def make_engine(
    roll: float | None = 0.0, seed: int = 0, learning: LearningConfig = FIXED, **rules: float
) -> AutonomousEngine:
    """An engine with DESIGN §3's rules as written: nothing learned (`FIXED`) unless a test
    passes `learning` (tests/engine/test_learning.py)."""
    rng = FixedRoll(roll) if roll is not None else random.Random(seed)
    return AutonomousEngine(rng=rng, started_at=T0, rules=RuleConfig(**rules), learning=learning)


def talk(engine: AutonomousEngine, n: int, *, start: float, every: float = 1.0, guild=G) -> float:
    """`n` human messages from three users, `every` seconds apart; returns the last time."""
    at = start
    for i in range(n):
        at = start + i * every
        engine.track_message(guild, at=at, channel_id=1, author_id=100 + i % 3)
    return at


@pytest.fixture
def engine() -> AutonomousEngine:
    return make_engine()
