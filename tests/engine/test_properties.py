"""Property tests: random event sequences against the engine's promises."""

from __future__ import annotations

import sys
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import AutonomousEngine, GuildSettings, QuietHours
from engine.state import GuildState

from .conftest import T0, FixedRoll, G, make_engine

MOODS = ["neutral", "bubbly", "shy", "curious", "excited", "asleep", "sleepy", "silly"]

step = st.tuples(
    st.floats(min_value=0.0, max_value=900.0),  # seconds since the previous step
    st.sampled_from(["message", "message", "message", "presence", "offline", "join", "mood"]),
    st.integers(min_value=1, max_value=12),  # user id
    st.sampled_from(MOODS),
    st.booleans(),  # has an activity
)
steps = st.lists(step, min_size=1, max_size=120)


def deep_size(state: GuildState) -> int:
    size = sys.getsizeof(state)
    if state.buckets is not None:
        size += sys.getsizeof(state.buckets)
    if state.present is not None:
        size += sys.getsizeof(state.present) + 32 * len(state.present)
    return size


def play(engine: AutonomousEngine, script, *, start: float = T0):
    """Apply the script, deciding after every step and acting on decisions; yield each one."""
    at = start
    for dt, kind, user, mood, has_activity in script:
        at += dt
        if kind == "message":
            engine.track_message(G, at=at, channel_id=1, author_id=user)
        elif kind == "presence":
            engine.track_presence(G, user, at=at, activity="Tetris" if has_activity else None)
        elif kind == "offline":
            engine.track_presence(G, user, at=at, online=False)
        elif kind == "join":
            engine.track_member_join(G, user, at=at)
        else:
            engine.update_mood(G, mood, at=at)
        before = engine.state(G).last_action_at
        d = engine.decide(G, at=at, triggered_by_message=kind == "message")
        yield d, before
        if d.action:
            engine.record_action(G, d.action, at=at)


quiet = QuietHours("22:00", "06:30")
settings_with_quiet = GuildSettings(timezone="America/New_York", quiet_hours=quiet)


@settings(max_examples=150, deadline=None)
@given(steps, st.integers(0, 10_000))
def test_no_action_ever_inside_a_gate(script, seed) -> None:
    engine = make_engine(roll=None, seed=seed)
    engine.configure(G, settings_with_quiet)
    zone = settings_with_quiet.zone()
    for d, last_action_at in play(engine, script):
        if d.action is None:
            continue
        assert d.at - T0 >= 120
        assert d.at - last_action_at >= 30
        assert d.mood != "asleep"
        local = datetime.fromtimestamp(d.at, zone)
        assert not quiet.contains(local.hour * 60 + local.minute)


@settings(max_examples=150, deadline=None)
@given(steps, st.integers(0, 10_000))
def test_counters_never_go_negative(script, seed) -> None:
    engine = make_engine(roll=None, seed=seed)
    for d, _ in play(engine, script):
        state = engine.state(G)
        assert state.messages_since_appearance >= 0 and state.joins >= 0
        for name, value in engine.signals(G, at=d.at).items():
            assert value >= 0, name
        assert 0.0 <= d.signals.get("momentum", 0.0) <= 1.0


@settings(max_examples=100, deadline=None)
@given(steps, steps, st.integers(0, 10_000))
def test_snapshot_then_restore_decides_identically(before, after, seed) -> None:
    a = make_engine(roll=None, seed=seed)
    for _ in play(a, before):
        pass
    b = make_engine(roll=None, seed=0)
    b.restore(G, a.snapshot(G))
    b.rng.setstate(a.rng.getstate())
    start = a.state(G).last_human_at if a.state(G).last_human_at > T0 else T0
    start = max(start, a.state(G).last_action_at) + 1
    assert list(play(a, after, start=start)) == list(play(b, after, start=start))


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 5), st.integers(0, 1000))
def test_memory_per_guild_does_not_grow_with_traffic(rate_per_s, seed) -> None:
    engine = make_engine(roll=None, seed=seed)
    sizes = []
    at = T0
    for hours in (1, 3, 10):
        while at < T0 + hours * 3600:
            at += 1.0 / rate_per_s
            engine.track_message(G, at=at, channel_id=1, author_id=int(at) % 50)
        sizes.append(deep_size(engine.state(G)))
        sizes.append(len(engine.snapshot(G)))
    assert sizes[0::2] == [sizes[0]] * 3  # the live state: constant
    # the snapshot: bounded (the rhythm's 336 bytes included; nobody answered a remark here,
    # so no affinity: that is capped by LearningConfig.affinity_max_members)
    assert max(sizes[1::2]) <= 1024 + 2 * 168


@settings(max_examples=150, deadline=None)
@given(steps, st.floats(0, 7200))
def test_nothing_could_fire_before_next_wake(script, gap) -> None:
    # With every roll passing, a guild that may not act now cannot act before next_wake()
    engine = make_engine(roll=0.0)
    decisions = [d for d, _ in play(engine, script)]
    at = decisions[-1].at
    if engine.decide(G, at=at).action:  # the timer's own look at this moment
        return
    wake = engine.next_wake(G, at=at)
    probe = at + gap
    if wake is None or probe < wake:
        assert engine.decide(G, at=probe).action is None, (wake, probe)


def test_next_wake_finds_the_silence_to_break() -> None:
    engine = AutonomousEngine(rng=FixedRoll(0.0), started_at=T0)
    engine.update_mood(G, "bubbly", at=T0)
    engine.track_presence(G, 7, at=T0 + 10)
    wake = engine.next_wake(G, at=T0 + 10)
    assert wake is not None and wake - T0 == pytest.approx(3960.001, abs=1e-5)
    assert engine.decide(G, at=wake - 0.002).action is None
    assert engine.decide(G, at=wake).action == "break_silence"


@settings(max_examples=150, deadline=None)
@given(steps, st.integers(0, 10_000))
def test_the_hot_path_check_agrees_with_decide(script, seed) -> None:
    # check() skips the explanation and most rules; it must never change an outcome or the dice
    explained, fast = make_engine(roll=None, seed=seed), make_engine(roll=None, seed=seed)
    at = T0
    for dt, kind, user, mood, has_activity in script:
        at += dt
        by_message = kind == "message"
        for e in (explained, fast):
            if by_message:
                e.track_message(G, at=at, channel_id=1, author_id=user)
            elif kind == "presence":
                e.track_presence(G, user, at=at, activity="Tetris" if has_activity else None)
            elif kind == "mood":
                e.update_mood(G, mood, at=at)
        d = explained.decide(G, at=at, triggered_by_message=by_message)
        c = fast.check(G, at=at, triggered_by_message=by_message)
        assert (c.action if c else None) == d.action
        if c is not None:
            assert c == d
        assert explained.rng.getstate() == fast.rng.getstate()
        if d.action:
            explained.record_action(G, d.action, at=at)
            fast.record_action(G, d.action, at=at)
