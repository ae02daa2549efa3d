"""The rule table: a rule is one entry, and the engine derives the rest from it."""

from __future__ import annotations

import dataclasses
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engine.decision
from engine import ACTIONS, RULES, AutonomousEngine, Check, Rule, RuleConfig, RuleTable

from .conftest import T0, FixedRoll, G
from .test_properties import MOODS, play, steps

NOW = T0 + 3 * 3600
DELAY, WINDOW = 60.0, 600.0  # the made-up rule: welcome a newcomer after a minute, within ten


def _welcome(c: Check) -> str | None:
    st = c.st
    age = c.at - st.last_join_at
    if age > WINDOW:
        return c.no("nobody joined in the last {:ago}", WINDOW)
    if age < DELAY:
        return c.no("joined {:ago} ago, < {:ago}", age, DELAY)
    if st.last_action_at >= st.last_join_at:
        return c.no("the bot spoke since the last join")
    ok, value = c.roll(c.profile.sociability)
    if not ok:
        return c.no("roll {:.2f} ≥ sociability {:.2f}", value, c.profile.sociability)
    return f"a member joined {age:.0f}s ago (roll {value:.2f} < sociability)"


def _welcome_wake(c: Check) -> float | None:
    st = c.st
    if st.last_action_at < st.last_join_at and c.at - st.last_join_at <= WINDOW:
        return st.last_join_at + DELAY
    return None


def _welcome_answers(st, at: float, since: float, rules: RuleConfig, started_at: float) -> bool:
    return st.last_action_at < st.last_join_at and DELAY <= at - st.last_join_at <= WINDOW


WELCOME = Rule(
    "welcome_member", "welcome", fires=_welcome, wake=_welcome_wake, answers=_welcome_answers
)


def pair(rule: Rule = WELCOME) -> tuple[AutonomousEngine, AutonomousEngine]:
    """The same guild twice: with `rule` first in the table, and with the default table."""
    engines = (
        AutonomousEngine(rng=FixedRoll(0.0), started_at=T0, table=(rule, *RULES)),
        AutonomousEngine(rng=FixedRoll(0.0), started_at=T0),
    )
    for e in engines:
        e.record_action(G, "reply", at=NOW - 600)
        e.track_member_join(G, 9, at=NOW - 10)
    return engines


DEFAULT_NOTES = (
    "join: momentum 0.00 ≤ 0.90; engage: no new activity to engage; fomo: 0 messages < 25; "
    "silence: quiet for 10m00s ≤ 1h30m; share: curiosity 0.50 < 0.70"
)


def test_the_default_table_is_design_3s_order() -> None:
    assert ACTIONS == (
        "join_conversation", "engage_user", "fomo_response", "break_silence", "share_tweet",
    )  # fmt: skip
    assert tuple(rule.name for rule in RULES) == ACTIONS
    assert engine.decision.ACTIONS is ACTIONS
    assert AutonomousEngine(started_at=T0).table.names == ACTIONS


def test_one_entry_adds_a_rule_to_the_order_the_explanations_and_next_wake() -> None:
    welcoming, default = pair()
    assert welcoming.table.names == ("welcome_member", *ACTIONS)
    # explanations: its note comes first, the others are as they were
    assert welcoming.decide(G, at=NOW).reason == (
        f"no rule fired: welcome: joined 10s ago, < 1m00s; {DEFAULT_NOTES}"
    )
    assert default.decide(G, at=NOW).reason == f"no rule fired: {DEFAULT_NOTES}"
    # next_wake: its bound (a minute after the join), against the quiet period's without it
    assert welcoming.next_wake(G, at=NOW) == pytest.approx(NOW + 50.001, abs=1e-6)
    assert default.next_wake(G, at=NOW) == pytest.approx(NOW + 4800.001, abs=1e-6)
    wake = welcoming.next_wake(G, at=NOW)
    d = welcoming.decide(G, at=wake)
    assert (d.action, d.reason) == (
        "welcome_member",
        "a member joined 60s ago (roll 0.00 < sociability)",
    )
    assert default.decide(G, at=wake).action is None
    welcoming.record_action(G, d.action, at=wake)
    later = welcoming.decide(G, at=wake + 60)
    assert "welcome: the bot spoke since the last join; join:" in later.reason


def test_one_entry_adds_a_rule_to_the_may_answer_short_cut() -> None:
    welcoming, default = pair()
    at = NOW + 100  # the newcomer says hello
    for e in (welcoming, default):
        assert e.track_message(G, at=at, channel_id=1, author_id=9)
    st, rules = welcoming.state(G), welcoming.rules
    since = at - st.last_action_at
    assert welcoming.table.may_answer(st, at, since, rules, T0)
    assert not default.table.may_answer(default.state(G), at, since, rules, T0)
    d = welcoming.check(G, at=at, triggered_by_message=True)
    assert d is not None and d.action == "welcome_member" and d.trigger == "message"
    assert d == welcoming.decide(G, at=at, triggered_by_message=True)
    assert default.check(G, at=at, triggered_by_message=True) is None


def test_how_a_rule_answers_a_message_is_part_of_its_entry() -> None:
    at = NOW + 100
    timer_only, _ = pair(dataclasses.replace(WELCOME, answers=None))
    timer_only.track_message(G, at=at, channel_id=1, author_id=9)
    assert timer_only.check(G, at=at, triggered_by_message=True) is None
    reason = timer_only.decide(G, at=at, triggered_by_message=True).reason
    assert reason.startswith(
        "no rule fired: welcome: only on a timer, never in answer to a message"
    )
    assert timer_only.decide(G, at=at).action == "welcome_member"  # the timer still fires it

    greeting = ("join_conversation", "a newcomer spoke")
    answering, _ = pair(dataclasses.replace(WELCOME, answer_as=greeting))
    answering.track_message(G, at=at, channel_id=1, author_id=9)
    d = answering.decide(G, at=at, triggered_by_message=True)
    assert (d.action, d.reason) == (
        "join_conversation",
        "a newcomer spoke: a member joined 110s ago (roll 0.00 < sociability)",
    )


def test_a_rules_target_and_record_hooks_are_part_of_its_entry() -> None:
    engaging = AutonomousEngine(rng=FixedRoll(0.0), started_at=T0)
    engaging.track_presence(G, 7, at=NOW - 60, activity="Tetris 99")
    d = engaging.decide(G, at=NOW)
    assert (d.action, d.user_id, d.activity) == ("engage_user", 7, "Tetris 99")
    engaging.record_action(G, "engage_user", at=NOW)
    assert engaging.state(G).activity_engaged
    # the same rule under another name in a custom table: the hooks follow the entry
    renamed = dataclasses.replace(RULES[1], name="greet_player")
    custom = AutonomousEngine(rng=FixedRoll(0.0), started_at=T0, table=(renamed,))
    custom.track_presence(G, 7, at=NOW - 60, activity="Tetris 99")
    d = custom.decide(G, at=NOW)
    assert (d.action, d.user_id, d.activity) == ("greet_player", 7, "Tetris 99")
    custom.record_action(G, "engage_user", at=NOW)  # not a rule of this table: no hook
    assert not custom.state(G).activity_engaged
    custom.record_action(G, "greet_player", at=NOW)
    assert custom.state(G).activity_engaged


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: RuleTable((WELCOME, RULES[0], WELCOME)), "two rules named 'welcome_member' "
         r"\(entries 0 and 2\); names must be unique"),
        (lambda: RuleTable((RULES[0], "share_tweet")), "rule table entry 1 must be an "
         "engine.Rule, got 'share_tweet'"),
        (lambda: dataclasses.replace(WELCOME, name="welcome member"), "Rule.name must be a "
         "plain identifier, got 'welcome member'"),
        (lambda: dataclasses.replace(WELCOME, fires=None), "rule 'welcome_member': fires must "
         "be callable, got None"),
        (lambda: dataclasses.replace(WELCOME, wake=60.0), "rule 'welcome_member': wake must be "
         "callable or None, got 60.0"),
        (lambda: dataclasses.replace(WELCOME, answer_as="join_conversation"), "answer_as must "
         "be \\(action, why\\)"),
    ],
)  # fmt: skip
def test_a_bad_entry_fails_when_the_table_is_built(make, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make()


def test_a_bad_table_fails_when_the_engine_is_built() -> None:
    with pytest.raises(ValueError, match="two rules named 'share_tweet'"):
        AutonomousEngine(started_at=T0, table=(*RULES, RULES[-1]))


@settings(max_examples=100, deadline=None)
@given(steps, st.sampled_from([m for m in MOODS if m != "asleep"]), st.integers(0, 10_000))
def test_each_entrys_answer_bound_holds_whenever_it_fires_on_a_message(script, mood, seed) -> None:
    # the invariant `check()` relies on, entry by entry: with every roll passing, a rule that
    # fires in answer to a message must have said it might (for any mood, hence the sampling)
    engine = AutonomousEngine(rng=random.Random(seed), started_at=T0)
    rules, roll = engine.rules, FixedRoll(0.0)
    for d, _ in play(engine, script):
        if d.trigger != "message":
            continue
        engine.update_mood(G, mood, at=d.at)
        state, at = engine.state(G), d.at
        profile = engine.moods.profile(mood)
        for rule in RULES:
            if rule.answers is None:
                continue
            chk = Check(state, profile, rules, at, T0, True, roll, explain=False)
            if rule.fires(chk):
                since = at - state.last_action_at
                assert rule.answers(state, at, since, rules, T0), (rule.name, d)
