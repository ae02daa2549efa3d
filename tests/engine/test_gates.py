"""The gates before any rule: start-up, minimum interval, asleep, paused, quiet hours."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from engine import GuildSettings, QuietHours

from .conftest import T0, G, make_engine, talk


def ready_to_join(**rules: float):
    """An engine where join_conversation fires as soon as the gates let it."""
    engine = make_engine(roll=0.0, join_cooldown_s=0.0, **rules)
    engine.update_mood(G, "bubbly", at=T0)
    return engine


@pytest.mark.parametrize(("after", "fires"), [(119.0, False), (120.0, True)])
def test_nothing_in_the_first_120_seconds(after: float, fires: bool) -> None:
    engine = ready_to_join()
    at = talk(engine, 20, start=T0 + after - 1, every=0.05)
    d = engine.decide(G, at=T0 + after, triggered_by_message=True)
    assert (d.action is not None) is fires
    if not fires:
        assert d.reason == "starting up: 119s since start < 120s"
    assert at <= T0 + after


@pytest.mark.parametrize(("ago", "fires"), [(29.9, False), (30.0, True)])
def test_at_least_30_seconds_between_actions(ago: float, fires: bool) -> None:
    engine = ready_to_join(join_min_messages=1)
    now = T0 + 1000
    engine.record_action(G, "reply", at=now - ago)
    talk(engine, 20, start=now - 1, every=0.05)
    d = engine.decide(G, at=now)
    assert (d.action is not None) is fires
    if not fires:
        assert "< the 30s minimum between actions" in d.reason


def test_asleep_never_acts() -> None:
    engine = ready_to_join()
    engine.track_presence(G, 3, at=T0 + 1)
    engine.update_mood(G, "asleep", at=T0)
    at = talk(engine, 40, start=T0 + 5000, every=0.1)
    d = engine.decide(G, at=at, triggered_by_message=True)
    assert d.action is None and d.reason.startswith("asleep")
    assert engine.next_wake(G, at=at) is None


def test_paused_guild_stays_quiet_until_resumed() -> None:
    engine = ready_to_join()
    at = talk(engine, 20, start=T0 + 1000, every=0.1)
    engine.configure(G, GuildSettings(paused=True))
    assert engine.decide(G, at=at).reason == "paused by the guild's admins"
    engine.configure(G, GuildSettings())
    assert engine.should_take_action(G, at=at) == "join_conversation"


def tokyo(day: int, hour: int, minute: int = 0) -> float:
    return datetime(2026, 3, day, hour, minute, tzinfo=ZoneInfo("Asia/Tokyo")).timestamp()


@pytest.mark.parametrize(
    ("when", "quiet"),
    [
        (tokyo(10, 22, 59), False),
        (tokyo(10, 23, 0), True),
        (tokyo(11, 0, 30), True),  # across midnight
        (tokyo(11, 6, 59), True),
        (tokyo(11, 7, 0), False),
    ],
)
def test_quiet_hours_across_midnight_in_the_guilds_time_zone(when: float, quiet: bool) -> None:
    engine = make_engine(roll=0.0, join_cooldown_s=0.0)
    engine.started_at = when - 10_000
    engine.update_mood(G, "bubbly", at=when)
    hours = QuietHours("23:00", "07:00")
    engine.configure(G, GuildSettings(timezone="Asia/Tokyo", quiet_hours=hours))
    talk(engine, 20, start=when - 1, every=0.05)
    d = engine.decide(G, at=when)
    assert (d.action is None) is quiet
    if quiet:
        assert d.reason == "quiet hours 23:00–07:00 in Asia/Tokyo"


def test_next_wake_skips_to_the_end_of_quiet_hours() -> None:
    engine = make_engine(roll=0.0)
    at = tokyo(10, 21, 0)
    engine.started_at = at - 10_000
    engine.update_mood(G, "bubbly", at=at)
    engine.configure(
        G, GuildSettings(timezone="Asia/Tokyo", quiet_hours=QuietHours("23:00", "07:00"))
    )
    engine.track_presence(G, 1, at=at)
    engine.record_action(G, "reply", at=at)  # the silence would be broken at 22:06 + …
    wake = engine.next_wake(G, at=at)
    assert wake is not None
    assert wake == pytest.approx(at + 3960, abs=0.01)  # 22:06, before the quiet hours
    talk(engine, 1, start=tokyo(10, 22, 29))  # someone answers, the bot replies …
    engine.record_action(G, "reply", at=tokyo(10, 22, 30))  # … so silence at 23:36: quiet hours
    assert engine.next_wake(G, at=tokyo(10, 22, 30)) == pytest.approx(tokyo(11, 7, 0))
