"""Mood profiles and rule thresholds: defaults, overrides and validation."""

from __future__ import annotations

import math

import msgspec
import pytest

from engine import (
    ASLEEP,
    BUILTIN_MOODS,
    AutonomousEngine,
    GuildSettings,
    MoodBook,
    MoodProfile,
    QuietHours,
    RuleConfig,
    parse_moods,
)

from .conftest import T0, G, make_engine


def test_builtin_moods_carry_the_seeds_numbers() -> None:
    bubbly, shy = BUILTIN_MOODS["bubbly"], BUILTIN_MOODS["shy"]
    assert (bubbly.energy, bubbly.sociability, bubbly.impulsiveness) == (0.9, 0.95, 0.8)
    assert (shy.energy, shy.sociability, shy.impulsiveness) == (0.4, 0.2, 0.2)
    assert BUILTIN_MOODS["silly"].impulsiveness == 0.95
    assert BUILTIN_MOODS["serious"].impulsiveness == 0.3
    assert BUILTIN_MOODS["curious"].curiosity >= 0.7 and BUILTIN_MOODS["excited"].curiosity >= 0.7
    expected = {"neutral", "bubbly", "excited", "curious", "silly", "shy", "serious", "sleepy"}
    expected |= {"melancholy", "irritated", ASLEEP}
    assert expected <= set(BUILTIN_MOODS)


def test_configuration_overrides_and_extends_moods() -> None:
    moods = MoodBook(parse_moods({"bubbly": {"energy": 0.1, "sociability": 0.1,
                                             "impulsiveness": 0.1},
                                  "grumpy": {"energy": 0.3, "sociability": 0.1,
                                             "impulsiveness": 0.6, "curiosity": 0.2}}))  # fmt: skip
    assert moods.profile("bubbly").energy == 0.1
    assert moods.profile("grumpy").impulsiveness == 0.6
    assert moods.profile("shy") == BUILTIN_MOODS["shy"]


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"x": {"energy": 1.5, "sociability": 0, "impulsiveness": 0}}, "'energy' must be"),
        ({"x": {"energy": -0.1, "sociability": 0, "impulsiveness": 0}}, "'energy' must be"),
        ({"x": {"energy": 0.5, "sociability": 0.5}}, "missing required field `impulsiveness`"),
        ({"x": {"energy": 0.5, "sociability": 0.5, "impulsiveness": 0.5, "zeal": 1}}, "zeal"),
        ({"x": {"energy": "high", "sociability": 0.5, "impulsiveness": 0.5}}, "energy"),
        ({"not a name": {"energy": 0.5, "sociability": 0.5, "impulsiveness": 0.5}}, "plain"),
    ],
)
def test_bad_mood_tables_name_the_mood_and_field(table: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_moods(table, where="moods")


def test_mood_profile_rejects_nan() -> None:
    with pytest.raises(ValueError, match="'curiosity' must be a number in"):
        MoodProfile(0.5, 0.5, 0.5, math.nan)


def test_unknown_mood_is_a_clear_error_and_changes_nothing(engine: AutonomousEngine) -> None:
    engine.update_mood(G, "shy", at=T0)
    with pytest.raises(ValueError, match=r"unknown mood 'grumpy'; known moods: asleep, bubbly"):
        engine.update_mood(G, "grumpy", at=T0)
    assert engine.state(G).mood == "shy"
    with pytest.raises(ValueError, match="unknown mood 'nope'"):
        AutonomousEngine(started_at=T0, default_mood="nope")


def test_rule_defaults_are_the_designs() -> None:
    r = RuleConfig()
    assert (r.startup_s, r.min_interval_s, r.join_cooldown_s) == (120, 30, 300)
    assert (r.engage_cooldown_s, r.fomo_cooldown_s, r.share_cooldown_s) == (1800, 900, 3600)
    assert (r.join_momentum_factor, r.join_min_messages, r.fomo_messages) == (0.6, 5, 25)
    assert r.fomo_threshold(0.2) == 40 and r.fomo_threshold(0.95) == 25
    assert r.quiet_period_s(0.9) == pytest.approx(3960)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("startup_s", -1),
        ("min_interval_s", math.nan),
        ("join_cooldown_s", math.inf),
        ("join_momentum_factor", 1.5),
        ("momentum_messages", 0),
        ("share_min_curiosity", 2),
        ("fomo_messages", True),
    ],
)
def test_out_of_range_thresholds_name_the_field(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=rf"^rules\.{field} must be a number"):
        RuleConfig(**{field: value})


def test_rule_config_decodes_from_a_table_and_rejects_unknown_keys() -> None:
    assert msgspec.convert({"join_cooldown_s": 60}, RuleConfig).join_cooldown_s == 60
    with pytest.raises(msgspec.ValidationError, match="join_cooldwn_s"):
        msgspec.convert({"join_cooldwn_s": 60}, RuleConfig)


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [("25:00", "07:00", "between 00:00 and 23:59"), ("late", "07:00", "'HH:MM'"),
     ("07:00", "07:00", "both")],
)  # fmt: skip
def test_bad_quiet_hours(start: str, end: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        QuietHours(start, end)


def test_unknown_time_zone() -> None:
    with pytest.raises(ValueError, match="'Mars/Olympus' is not a known IANA time zone"):
        GuildSettings(timezone="Mars/Olympus")


@pytest.mark.parametrize("at", [-1.0, math.nan, math.inf])
def test_bad_times_name_the_field_and_leave_state_untouched(at: float) -> None:
    engine = make_engine()
    engine.track_message(G, at=T0 + 10, author_id=1)
    before = engine.snapshot(G)
    for call in (
        lambda: engine.track_message(G, at=at),
        lambda: engine.track_presence(G, 1, at=at),
        lambda: engine.track_member_join(G, 1, at=at),
        lambda: engine.record_action(G, "reply", at=at),
        lambda: engine.update_mood(G, "shy", at=at),
        lambda: engine.decide(G, at=at),
    ):
        with pytest.raises(ValueError, match=r"^at must be seconds since the epoch"):
            call()
    assert engine.snapshot(G) == before
    with pytest.raises(ValueError, match=r"^started_at must be"):
        AutonomousEngine(started_at=at)


def test_unknown_guild_has_no_context(engine: AutonomousEngine) -> None:
    d = engine.decide(999, at=T0 + 500)
    assert (d.action, d.reason) == (None, "no context")
    assert engine.next_wake(999, at=T0) is None and 999 not in engine


def test_time_defaults_to_the_injected_clock() -> None:
    now = [T0 + 1000.0]
    engine = AutonomousEngine(clock=lambda: now[0])
    assert engine.started_at == T0 + 1000
    engine.track_message(G)
    assert engine.state(G).last_human_at == T0 + 1000
    with pytest.raises(ValueError, match="at is required: this engine has no clock"):
        make_engine().track_message(G)
