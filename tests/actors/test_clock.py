"""RuntimeClock and ManualClock: virtual time, speed, and agreement across processes."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from actors.clock import Clock, ManualClock, RuntimeClock


class FakeTime:
    """Stands in for the `time` module inside `actors.clock`: wall and monotonic time that move
    only when told, and a wall clock that can step without the monotonic one (NTP, a suspend)."""

    def __init__(self, wall: float = 1_700_000_000.0, mono: float = 5_000.0) -> None:
        self.wall, self.mono = wall, mono

    def time(self) -> float:
        return self.wall

    def monotonic(self) -> float:
        return self.mono

    def advance(self, seconds: float) -> None:
        self.wall += seconds
        self.mono += seconds


@pytest.fixture
def fake_time(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    fake = FakeTime()
    monkeypatch.setattr("actors.clock.time", fake)
    return fake


def test_defaults_follow_wall_time(fake_time: FakeTime) -> None:
    clock = RuntimeClock()
    assert clock.speed == 1.0
    assert clock.now() == clock() == fake_time.wall
    fake_time.advance(2.5)
    assert clock.now() == fake_time.wall


def test_speed_compresses_time(fake_time: FakeTime) -> None:
    clock = RuntimeClock(speed=1000.0, origin=1_000.0)
    assert clock.now() == 1_000.0
    fake_time.advance(0.02)
    assert clock.now() == pytest.approx(1_020.0)  # 20 ms real = 20 s virtual
    assert clock.real_seconds(60.0) == pytest.approx(0.06)
    assert clock.real_delay_until(clock.now() - 5) == 0.0
    assert clock.real_delay_until(clock.now() + 100.0) == pytest.approx(0.1)


def test_a_wall_clock_step_does_not_move_virtual_time(fake_time: FakeTime) -> None:
    clock = RuntimeClock(speed=10.0, origin=1_000.0)
    fake_time.wall -= 3600  # the wall clock steps back an hour; monotonic time goes on
    fake_time.mono += 1.0
    assert clock.now() == pytest.approx(1_010.0)
    fake_time.wall += 7200
    assert clock.now() == pytest.approx(1_010.0)


def test_the_real_clock_advances() -> None:
    """The one check on the real clocks (no bound on how fast: only that virtual time moves, and
    `speed` times as fast as real time, measured by the same monotonic clock)."""
    clock = RuntimeClock(speed=1000.0)
    m0, v0 = time.monotonic(), clock.now()
    time.sleep(0.01)
    v1, m1 = clock.now(), time.monotonic()
    assert 0 < v1 - v0 <= (m1 - m0) * 1000.0 + 1e-3  # (float rounding)


def test_now_never_runs_backwards() -> None:
    clock = RuntimeClock(speed=50.0)
    readings = [clock.now() for _ in range(1000)]
    assert readings == sorted(readings)


@pytest.mark.parametrize("speed", [0, -1.0, float("nan"), float("inf"), "2", True, None])
def test_bad_speed_is_rejected(speed: object) -> None:
    with pytest.raises(ValueError, match=r"clock speed must be"):
        RuntimeClock(speed=speed)  # type: ignore[arg-type]


def test_bad_origin_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"clock origin must be a finite number.*nan"):
        RuntimeClock(origin=float("nan"))


def test_round_trip_through_dict_agrees(fake_time: FakeTime) -> None:
    clock = RuntimeClock(speed=60.0, origin=1_700_000_000.0)
    spec = clock.to_dict()
    assert set(spec) == {"origin", "real_start", "speed"}
    json.dumps(spec)  # plain data: any transport can carry it
    fake_time.advance(12.0)  # another process builds its clock 12 s later
    other = RuntimeClock.from_dict(spec)
    assert other.now() == clock.now() == pytest.approx(1_700_000_000.0 + 12.0 * 60)
    fake_time.advance(1.0)
    assert other.now() == clock.now()
    assert "speed=60.0" in repr(other)


def test_clock_agrees_in_another_process() -> None:
    clock = RuntimeClock(speed=100.0, origin=1_000_000.0)
    code = (
        "import json, sys; from actors.clock import RuntimeClock; "
        "c = RuntimeClock.from_dict(json.loads(sys.argv[1])); print(repr(c.now()))"
    )
    before = clock.now()
    out = subprocess.run(
        [sys.executable, "-c", code, json.dumps(clock.to_dict())],
        check=True,
        capture_output=True,
        text=True,
    )
    after = clock.now()
    theirs = float(out.stdout)
    slack = 100.0 * 0.01  # 10 ms of real time at 100×, for clock reads not being simultaneous
    assert before - slack <= theirs <= after + slack


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ({"origin": 1.0, "speed": 1.0}, "lacks real_start"),
        ({"origin": 1.0, "speed": 1.0, "real_start": 2.0, "x": 1}, "unknown fields"),
        ({"origin": 1.0, "speed": 0.0, "real_start": 2.0}, "speed must be a number > 0"),
    ],
)
def test_from_dict_rejects_bad_specs(spec: dict[str, float], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        RuntimeClock.from_dict(spec)


def test_manual_clock() -> None:
    clock = ManualClock(100.0, speed=10.0)
    assert isinstance(clock, Clock) and isinstance(RuntimeClock(), Clock)
    assert clock.now() == clock() == 100.0
    assert clock.advance(5.5) == 105.5
    clock.set(200.0)
    assert clock.now() == 200.0
    assert clock.real_seconds(30.0) == 3.0
    assert clock.real_delay_until(260.0) == 6.0
    assert clock.real_delay_until(10.0) == 0.0
    with pytest.raises(ValueError, match="only moves forward"):
        clock.advance(-1.0)
    with pytest.raises(ValueError, match=r"cannot go back from 200\.0 to 150\.0"):
        clock.set(150.0)
    assert clock.now() == 200.0
    assert repr(clock) == "ManualClock(200.0, speed=10.0)"
