"""The runtime clock: virtual seconds since the epoch, running `speed` times faster than real time.

Production runs at 1×; the demo and the tests compress time (at 60×, a virtual hour passes in a real
minute). Every process of one runtime must agree on `now()`, so the driver builds one clock and
hands its `to_dict()` to every Ray actor, which rebuilds it with `RuntimeClock.from_dict()`.

Why wall time *and* monotonic time. Monotonic clocks have a per-process (per-boot) origin, so a
monotonic reading means nothing in another process, let alone on another node. The shared
reference is therefore wall time (`time.time()`): the spec carries `real_start`, the wall time at
which virtual time was `origin`. Each process reads the wall clock *once*, when it builds its
clock, to learn how much real time has passed since `real_start`; from then on it measures elapsed
time with its own monotonic clock, so a wall-clock step (NTP, a suspended laptop) never makes its
`now()` jump or run backwards. Processes agree to within their wall clocks' skew at the moment they
built their clocks (NTP keeps that to milliseconds), times `speed`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "ManualClock", "RuntimeClock"]


def _positive(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValueError(f"clock {name} must be a number > 0, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"clock {name} must be finite, got {value!r}")
    return float(value)


def _finite(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"clock {name} must be a finite number of seconds, got {value!r}")
    return float(value)


@runtime_checkable
class Clock(Protocol):
    """What the runtime needs from a clock: virtual now, and virtual → real durations."""

    speed: float

    def now(self) -> float:
        """Virtual seconds since the epoch."""
        ...

    def real_seconds(self, virtual_seconds: float) -> float:
        """Real seconds that `virtual_seconds` of virtual time take."""
        ...


class RuntimeClock:
    """Virtual time: `origin + (real time since real_start) × speed`.

    Parameters
    ----------
    speed:
        Virtual seconds per real second (> 0); 1.0 in production.
    origin:
        Virtual time at `real_start`; defaults to the wall time now.
    real_start:
        Wall time (seconds since the epoch) at which virtual time was `origin`; defaults to now.
        Only `from_dict()` needs it, to rebuild a clock made in another process.

    Raises
    ------
    ValueError
        When `speed` is not a finite number > 0, or a time is not finite.
    """

    __slots__ = ("_mono0", "_virtual0", "origin", "real_start", "speed")

    def __init__(
        self, speed: float = 1.0, origin: float | None = None, *, real_start: float | None = None
    ) -> None:
        self.speed = _positive("speed", speed)
        # read both clocks back to back: wall time anchors us to the other processes, monotonic
        # time measures from here on
        mono, wall = time.monotonic(), time.time()
        self.real_start = wall if real_start is None else _finite("real_start", real_start)
        self.origin = wall if origin is None else _finite("origin", origin)
        self._mono0 = mono
        self._virtual0 = self.origin + (wall - self.real_start) * self.speed

    def now(self) -> float:
        """Virtual seconds since the epoch; never runs backwards within a process."""
        return self._virtual0 + (time.monotonic() - self._mono0) * self.speed

    __call__ = now  # so the clock can be passed where a `() -> float` is expected

    def real_seconds(self, virtual_seconds: float) -> float:
        """How long to sleep, in real seconds, for `virtual_seconds` of virtual time."""
        return virtual_seconds / self.speed

    def real_delay_until(self, at: float) -> float:
        """Real seconds from now until virtual time `at` (0 if it has passed)."""
        return max(0.0, (at - self.now()) / self.speed)

    def to_dict(self) -> dict[str, float]:
        """The spec another process needs to build a clock that agrees with this one."""
        return {"origin": self.origin, "real_start": self.real_start, "speed": self.speed}

    @classmethod
    def from_dict(cls, spec: Mapping[str, float]) -> RuntimeClock:
        """Rebuild a clock from `to_dict()`; ValueError naming a missing or bad field."""
        missing = [k for k in ("origin", "real_start", "speed") if k not in spec]
        if missing:
            raise ValueError(f"clock spec {dict(spec)!r} lacks {', '.join(missing)}")
        unknown = sorted(set(spec) - {"origin", "real_start", "speed"})
        if unknown:
            raise ValueError(f"clock spec has unknown fields {unknown!r}")
        return cls(spec["speed"], spec["origin"], real_start=spec["real_start"])

    def __repr__(self) -> str:
        return (
            f"RuntimeClock(speed={self.speed!r}, origin={self.origin!r}, "
            f"real_start={self.real_start!r})"
        )


class ManualClock:
    """A clock that moves only when told to: for tests and simulations.

    `speed` only scales `real_seconds()` (what a paced loop would sleep); it never moves time.
    """

    __slots__ = ("_now", "speed")

    def __init__(self, start: float = 0.0, *, speed: float = 1.0) -> None:
        self._now = _finite("start", start)
        self.speed = _positive("speed", speed)

    def now(self) -> float:
        return self._now

    __call__ = now

    def advance(self, seconds: float) -> float:
        """Move time forward by `seconds` (≥ 0) and return the new time."""
        seconds = _finite("advance", seconds)
        if seconds < 0:
            raise ValueError(f"a clock only moves forward; cannot advance by {seconds!r}")
        self._now += seconds
        return self._now

    def set(self, at: float) -> None:
        """Jump to virtual time `at`, which must not be earlier than now."""
        at = _finite("time", at)
        if at < self._now:
            raise ValueError(f"a clock only moves forward; cannot go back from {self._now} to {at}")
        self._now = at

    def real_seconds(self, virtual_seconds: float) -> float:
        return virtual_seconds / self.speed

    def real_delay_until(self, at: float) -> float:
        return max(0.0, (at - self._now) / self.speed)

    def __repr__(self) -> str:
        return f"ManualClock({self._now!r}, speed={self.speed!r})"
