"""RuntimeClock and ManualClock: virtual time, speed, and agreement across processes."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from actors.clock import Clock, ManualClock, RuntimeClock


def test_defaults_follow_wall_time() -> None:
    clock = RuntimeClock()
    assert clock.speed == 1.0
    assert abs(clock.now() - time.time()) < 0.05
    assert abs(clock() - time.time()) < 0.05


def test_speed_compresses_time() -> None:
    clock = RuntimeClock(speed=1000.0, origin=1_000.0)
    t0 = clock.now()
    assert 1_000.0 <= t0 < 1_000.0 + 50.0
    time.sleep(0.02)
    elapsed = clock.now() - t0
    assert 15.0 <= elapsed < 1000.0  # 20 ms real ≈ 20 s virtual
    assert clock.real_seconds(60.0) == pytest.approx(0.06)
    assert clock.real_delay_until(clock.now() - 5) == 0.0
    assert 0.0 < clock.real_delay_until(clock.now() + 100.0) <= 0.1


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


def test_round_trip_through_dict_agrees() -> None:
    clock = RuntimeClock(speed=60.0, origin=1_700_000_000.0)
    spec = clock.to_dict()
    assert set(spec) == {"origin", "real_start", "speed"}
    json.dumps(spec)  # plain data: any transport can carry it
    other = RuntimeClock.from_dict(spec)
    assert abs(other.now() - clock.now()) < 60.0 * 0.01  # within 10 ms of real time
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
