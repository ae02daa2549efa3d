"""Synthetic traffic: determinism, rate, mix, burstiness, time-of-day shape, bounded state."""

from __future__ import annotations

import itertools
import statistics
import tracemalloc
from collections import Counter

import pytest

from actors.sources.traffic import GAMES, Mix, SyntheticTraffic, text_for
from engine import BUILTIN_MOODS, MemberJoinEvent, MessageEvent, PresenceEvent

DAY = 86_400.0


@pytest.fixture(scope="module")
def day() -> tuple[SyntheticTraffic, list]:
    """One virtual day of 200 guilds at 5 events/s (≈ 430k events)."""
    traffic = SyntheticTraffic(200, 5.0, seed=3)
    return traffic, list(traffic.events_until(traffic.now + DAY))


def test_same_seed_same_events() -> None:
    a, b, c = (SyntheticTraffic(50, 100.0, seed=s) for s in (7, 7, 8))
    first = list(itertools.islice(a.events_until(a.now + 3600), 20_000))
    assert first == list(itertools.islice(b.events_until(b.now + 3600), 20_000))
    assert first != list(itertools.islice(c.events_until(c.now + 3600), 20_000))
    assert [g.guild_id for g in a.guilds] == [g.guild_id for g in b.guilds]


def test_slicing_does_not_change_the_events() -> None:
    whole = SyntheticTraffic(30, 50.0, seed=1, start=1_000_000.0)
    paced = SyntheticTraffic(30, 50.0, seed=1, start=1_000_000.0)
    expected = list(whole.events_until(1_000_000.0 + 600))
    got: list = []
    now = 1_000_000.0
    while now < 1_000_600.0:
        batch = paced.batch(now, 0.25)
        assert all(now - 1e-9 <= e.at < now + 0.25 for e in batch)
        got += batch
        now += 0.25
    assert got == expected and len(expected) > 20_000
    # a partly consumed iterator loses nothing beyond what it yielded
    again = SyntheticTraffic(30, 50.0, seed=1, start=1_000_000.0)
    head = list(itertools.islice(again.events_until(1_000_600.0), 100))
    assert head + list(again.events_until(1_000_600.0)) == expected


def test_guilds(day: tuple[SyntheticTraffic, list]) -> None:
    traffic, _ = day
    ids = [g.guild_id for g in traffic.guilds]
    assert len(set(ids)) == 200 and all(2**50 < i < 2**63 for i in ids)
    for g in traffic.guilds:
        assert len(g.channel_ids) == 3 and g.autonomous_channel == g.channel_ids[0]
        assert g.mood_hint in BUILTIN_MOODS and g.mood_hint != "asleep"
        assert -12 <= g.utc_offset_h <= 14 and g.members >= 5
        assert traffic.guild(g.guild_id) is g
    assert sum(g.share for g in traffic.guilds) == pytest.approx(1.0)
    shares = sorted((g.share for g in traffic.guilds), reverse=True)
    assert sum(shares[:20]) > 0.3  # the busiest tenth carries a good part of the traffic
    assert shares[0] > 10 * statistics.median(shares)
    assert len({g.mood_hint for g in traffic.guilds}) >= 5
    with pytest.raises(KeyError):
        traffic.guild(1)


def test_time_order_and_window(day: tuple[SyntheticTraffic, list]) -> None:
    traffic, events = day
    ats = [e.at for e in events]
    assert ats == sorted(ats)
    assert ats[0] >= 1_700_000_000.0 and ats[-1] < 1_700_000_000.0 + DAY
    assert traffic.now == 1_700_000_000.0 + DAY
    assert list(traffic.events_until(traffic.now - 10)) == []


def test_rate_within_ten_percent(day: tuple[SyntheticTraffic, list]) -> None:
    _, events = day
    assert len(events) / DAY == pytest.approx(5.0, rel=0.10)


def test_mix_proportions(day: tuple[SyntheticTraffic, list]) -> None:
    traffic, events = day
    kinds = Counter(type(e) for e in events)
    n = len(events)
    assert kinds[MessageEvent] / n == pytest.approx(0.85, abs=0.03)
    assert kinds[PresenceEvent] / n == pytest.approx(0.13, abs=0.02)
    assert kinds[MemberJoinEvent] / n == pytest.approx(0.02, abs=0.005)
    messages = [e for e in events if type(e) is MessageEvent]
    assert sum(e.mentions_bot for e in messages) / len(messages) == pytest.approx(0.01, abs=0.003)
    auto = sum(e.channel_id == traffic.guild(e.guild_id).autonomous_channel for e in messages)
    assert auto / len(messages) == pytest.approx(0.75, abs=0.02)
    assert not any(e.author_is_bot for e in messages)
    presence = [e for e in events if type(e) is PresenceEvent]
    games = [e for e in presence if e.activity is not None]
    offline = [e for e in presence if not e.online]
    assert len(games) / len(presence) == pytest.approx(0.4, abs=0.03)
    assert len(offline) / len(presence) == pytest.approx(0.25, abs=0.03)
    assert {e.activity for e in games} <= set(GAMES) and all(e.online for e in games)
    joiners = [e.user_id for e in events if type(e) is MemberJoinEvent]
    assert len(set(joiners)) == len(joiners)  # every join is a new member


def test_busy_guilds_are_bursty(day: tuple[SyntheticTraffic, list]) -> None:
    traffic, events = day
    busiest = sorted(traffic.guilds, key=lambda g: g.share, reverse=True)[:5]
    start = 1_700_000_000.0
    for guild in busiest:
        per_minute = [0] * int(DAY // 60)
        for e in events:
            if e.guild_id == guild.guild_id and type(e) is MessageEvent:
                per_minute[int((e.at - start) // 60)] += 1
        mean = statistics.fmean(per_minute)
        assert mean > 0.5
        assert statistics.pvariance(per_minute) / mean > 2.0  # Poisson would give 1
        top = sorted(per_minute, reverse=True)[: len(per_minute) // 10]
        assert sum(top) > 0.4 * sum(per_minute)  # a tenth of the minutes carry much of the talk


def test_time_of_day_shape(day: tuple[SyntheticTraffic, list]) -> None:
    traffic, events = day
    by_local_hour = Counter(
        int((e.at + traffic.guild(e.guild_id).utc_offset_h * 3600) // 3600) % 24 for e in events
    )
    evening = sum(by_local_hour[h] for h in (19, 20, 21))
    night = sum(by_local_hour[h] for h in (2, 3, 4))
    assert evening > 4 * night


def test_state_does_not_grow_with_time() -> None:
    traffic = SyntheticTraffic(20, 5.0, seed=2)
    for _ in traffic.events_until(traffic.now + 1800):
        pass
    tracemalloc.start()
    try:
        for _ in traffic.events_until(traffic.now + 1800):
            pass
        before = tracemalloc.get_traced_memory()[0]
        for _ in traffic.events_until(traffic.now + 7200):
            pass
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert after - before < 20_000
    assert len(traffic._heap) == 2 * 20


def test_text_for() -> None:
    msg = MessageEvent(1, 2, 3, 1000.5)
    assert text_for(msg) == text_for(MessageEvent(1, 2, 3, 1000.5))
    assert text_for(MessageEvent(1, 2, 3, 1000.5, mentions_bot=True), bot_name="Rin") == (
        "@Rin " + text_for(msg)
    )
    assert len({text_for(MessageEvent(1, 2, a, 1.0)) for a in range(50)}) > 5


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"guilds": 0}, "guilds must be an int >= 1, got 0"),
        ({"guilds": 2.5}, "guilds must be an int"),
        ({"rate": 0.0}, "rate must be a number > 0, got 0.0"),
        ({"talk_s": float("inf")}, "talk_s must be a number > 0"),
        ({"quiet_level": 2}, r"quiet_level must be in \[0, 1\], got 2"),
        ({"skew": -1}, "skew must be in"),
    ],
)
def test_bad_arguments(kwargs: dict, match: str) -> None:
    args = {"guilds": 3, "rate": 1.0} | kwargs
    with pytest.raises(ValueError, match=match):
        SyntheticTraffic(**args)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"mention": 1.5}, r"mix\.mention must be a fraction in \[0, 1\], got 1\.5"),
        ({"message": 0, "presence": 0, "join": 0}, "all 0"),
        ({"activity": 0.8, "offline": 0.5}, r"mix\.activity \+ mix\.offline must be <= 1"),
    ],
)
def test_bad_mix(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Mix(**kwargs)


def test_only_messages() -> None:
    traffic = SyntheticTraffic(5, 10.0, mix=Mix(presence=0, join=0, mention=1.0), skew=0)
    events = list(traffic.events_until(traffic.now + 600))
    assert events and all(type(e) is MessageEvent and e.mentions_bot for e in events)
    assert repr(traffic) == "SyntheticTraffic(guilds=5, rate=10.0, seed=0)"


def test_rebase_moves_a_schedule_that_has_not_begun_and_nothing_else() -> None:
    built = SyntheticTraffic(40, 200.0, seed=5, start=1_000_000.0)
    moved = SyntheticTraffic(40, 200.0, seed=5, start=1_000_000.0)
    assert moved.rebase(999_000.0) == 0.0  # earlier: nothing moves
    assert moved.rebase(1_000_100.0) == 100.0
    assert list(moved.events_until(1_000_100.0)) == []  # no burst of the 100 s it took to start
    first = list(moved.events_until(1_000_110.0))
    expected = list(built.events_until(1_000_010.0))
    assert len(first) == len(expected) > 1_000  # the same stream, 100 s later
    assert [e.at - 100.0 for e in first] == pytest.approx([e.at for e in expected])


async def test_the_synthetic_source_starts_its_schedule_when_it_runs() -> None:
    """A source whose traffic was built long before it ran (a million guilds: ~16 s) once met
    that whole stretch as one burst: 160k events at 10k/s, queued and shed at the gateway."""
    import asyncio

    from actors.clock import ManualClock
    from actors.sources.synthetic import SyntheticSource

    clock = ManualClock(1_000_000.0)
    source = SyntheticSource(SyntheticTraffic(40, 1_000.0, start=clock.now()), clock,
                             bot_name="Miku", tick_s=0.001)  # fmt: skip
    clock.advance(60.0)  # built a minute before it runs
    offered: list = []
    task = asyncio.create_task(source.run(lambda event, line: offered.append(event)))
    await asyncio.sleep(0.05)
    assert offered == []  # the clock has not moved since it started: nothing is due yet
    clock.advance(1.0)
    await asyncio.sleep(0.05)
    task.cancel()
    assert 500 < len(offered) < 2_000  # one second's worth at ~1,000 events/s, not 61
