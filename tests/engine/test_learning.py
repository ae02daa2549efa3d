"""What a guild teaches the engine (issue 16): its week's rhythm, chattiness, affinity."""

from __future__ import annotations

import msgspec
import pytest

from engine import CHATTINESS_RANGE, FIXED, GuildSettings, LearningConfig
from engine.state import RHYTHM_SLOTS, SNAPSHOT_VERSION

from .conftest import G, make_engine

# Monday 2024-01-01 00:00 UTC: slot 0 of a week in UTC
MON = 1_704_067_200.0
DAY, HOUR = 86400.0, 3600.0
LEARN = LearningConfig()


def evenings(engine, *, days: int, guild=G, start=MON, per_hour: int = 30, hours=(19, 20, 21)):
    """`days` days of talk at `hours` (UTC), `per_hour` messages each, from 3 members."""
    for d in range(days):
        for h in hours:
            base = start + d * DAY + h * HOUR
            for k in range(per_hour):
                engine.track_message(guild, at=base + k * 60, channel_id=1, author_id=100 + k % 3)


def learner(**kw) -> object:
    return make_engine(roll=None, learning=LearningConfig(**kw))


# rhythm ----------------------------------------------------------------------------------------
def test_a_new_guild_is_neutral_and_learns_its_evenings_within_days() -> None:
    engine = learner()
    engine.track_message(G, at=MON + 20 * HOUR, channel_id=1, author_id=1)
    assert engine.week_profile(G) == [pytest.approx(1.0, abs=0.01)] * RHYTHM_SLOTS  # no trust
    evenings(engine, days=4)
    week = engine.week_profile(G)
    # Friday (not seen yet) already follows the hour-of-day profile: evenings up, nights down
    thu = 4 * 24
    assert week[thu + 20] == LEARN.rhythm_max_weight
    assert week[thu + 4] == pytest.approx(LEARN.rhythm_min_weight)
    assert week[20] == LEARN.rhythm_max_weight  # Monday 20:00, seen


def test_the_profile_is_in_the_guilds_time_zone() -> None:
    paris = learner()
    paris.configure(G, GuildSettings(timezone="Asia/Tokyo"))  # UTC+9, no DST
    evenings(paris, days=7, hours=(11,), per_hour=50)  # 11:00 UTC = 20:00 in Tokyo
    week = paris.week_profile(G)
    assert week[20] == LEARN.rhythm_max_weight and week[11] < 1.0


def test_old_hours_fade_with_the_half_life() -> None:
    engine = learner(rhythm_half_life_days=1.0)
    evenings(engine, days=1, hours=(20,))
    before = engine.state(G).rhythm_total  # the last hour's 30 are still in rhythm_n
    # a week later one message rolls the profile to a new day: halved 7 times
    engine.track_message(G, at=MON + 7 * DAY + 3 * HOUR, channel_id=1, author_id=1)
    st = engine.state(G)
    assert st.rhythm_total == pytest.approx((before + 30) / 128, rel=1e-3)
    assert st.rhythm[20] == int(30 * 64 / 128) and st.rhythm_n == 1


def test_a_slot_that_fills_halves_them_all_and_keeps_the_shape() -> None:
    engine = learner()
    evenings(engine, days=1, hours=(19,), per_hour=60)
    evenings(engine, days=1, hours=(20,), per_hour=60)
    st = engine.state(G)
    assert st.rhythm_n == 60 and st.rhythm_slot == 20
    st.rhythm[20] = 0xFFFF - 10  # nearly full: the hour's 60 do not fit
    engine.track_message(G, at=MON + 21 * HOUR, channel_id=1, author_id=1)  # the hour ends
    assert st.rhythm[20] == (0xFFFF - 10) // 2 + 60 * 64 and st.rhythm[19] == 60 * 64 // 2


def test_the_rhythm_weighs_break_silence_dead_hours_down_busy_hours_up() -> None:
    """The same quiet room, someone online, one roll of 0.4: at 04:00 of a guild that talks in
    the evenings the remark waits; at 20:00 (a usual busy hour) it comes. The control: with
    nothing learned (FIXED) both hours behave alike."""
    results = {}
    for name, cfg in (("learned", LEARN), ("fixed", FIXED)):
        for hour in (4, 20):
            engine = make_engine(roll=0.4, learning=cfg)
            evenings(engine, days=7)
            at = MON + 7 * DAY + hour * HOUR  # the next Monday, quiet since Sunday night
            engine.track_presence(G, 5, at=at - 60)
            d = engine.decide(G, at=at)
            results[name, hour] = d.action
            if name == "learned":
                assert d.signals["rhythm"] == (0.1 if hour == 4 else 2.0) or d.action is None
    assert results["learned", 4] is None and results["learned", 20] == "break_silence"
    assert results["fixed", 4] == results["fixed", 20] == "break_silence"


def test_next_wake_looks_again_when_the_hour_changes() -> None:
    engine = make_engine(roll=0.99, learning=LEARN)
    evenings(engine, days=7)
    at = MON + 8 * DAY + 2 * HOUR + 600  # a dead hour
    engine.track_presence(G, 5, at=at - 60)
    wake = engine.next_wake(G, at=at)
    assert wake is not None and wake <= MON + 8 * DAY + 3 * HOUR + 1


# chattiness ------------------------------------------------------------------------------------
def test_answered_remarks_push_it_up_ignored_ones_down_within_bounds() -> None:
    engine = learner()
    engine.track_message(G, at=MON, channel_id=1, author_id=1)
    at = MON + 100
    for _ in range(30):  # every remark answered a minute later
        engine.record_action(G, "break_silence", at=at)
        engine.track_message(G, at=at + 60, channel_id=1, author_id=7, mentions_bot=True)
        at += 900
    seen = engine.learned(G, at=at)
    assert seen["chattiness"] == pytest.approx(LEARN.chattiness_max, abs=0.01)  # capped
    assert seen["moved_by"] == "answered" and seen["feedback"]["answered"] == 30
    for _ in range(60):  # then nobody answers
        engine.record_action(G, "break_silence", at=at)
        at += 900
    seen = engine.learned(G, at=at)
    assert seen["chattiness"] == pytest.approx(LEARN.chattiness_min, abs=0.02)
    assert seen["moved_by"] == "ignored" and seen["feedback"]["ignored"] == 60
    assert "unanswered" in seen["moved_why"]


def test_a_reply_is_not_a_remark_and_an_answer_counts_once() -> None:
    engine = learner()
    engine.record_action(G, "reply", at=MON)  # answering a mention: not a remark of its own
    engine.track_message(G, at=MON + 30, channel_id=1, author_id=1, mentions_bot=True)
    assert engine.learned(G, at=MON + 60)["feedback"]["answered"] == 0
    engine.record_action(G, "share_tweet", at=MON + 100)
    engine.track_message(G, at=MON + 105, channel_id=1, author_id=2)  # talk, not to the bot
    assert engine.learned(G, at=MON + 106)["feedback"]["answered"] == 0
    for k in range(5):
        engine.track_message(G, at=MON + 110 + k, channel_id=1, author_id=1, mentions_bot=True)
    assert engine.learned(G, at=MON + 200)["feedback"]["answered"] == 1


def test_it_returns_to_one_with_the_half_life() -> None:
    engine = learner(chattiness_half_life_s=DAY)
    engine.feedback(G, "hushed", at=MON)
    low = engine.learned(G, at=MON)["chattiness"]
    assert low == pytest.approx(LEARN.hushed_step)
    assert engine.learned(G, at=MON + DAY)["chattiness"] == pytest.approx(1 - (1 - low) / 2)
    assert engine.learned(G, at=MON + 30 * DAY)["chattiness"] == pytest.approx(1.0, abs=1e-3)


def test_pause_and_quiet_requests_push_it_down_and_say_why() -> None:
    engine = learner(chattiness_min=0.1)
    engine.feedback(G, "paused", at=MON)
    engine.feedback(G, "hushed", at=MON + 1)
    seen = engine.learned(G, at=MON + 1)
    assert seen["chattiness"] == pytest.approx(LEARN.paused_step * LEARN.hushed_step, rel=1e-3)
    assert seen["feedback"] == {"answered": 0, "ignored": 0, "hushed": 1, "paused": 1}
    assert seen["moved_why"] == "a member told it to be quiet"
    with pytest.raises(ValueError, match="feedback kind must be 'paused' or 'hushed'"):
        engine.feedback(G, "answered", at=MON)


def test_the_admins_setting_wins_and_is_bounded() -> None:
    engine = learner()
    engine.feedback(G, "hushed", at=MON)
    engine.configure(G, GuildSettings(chattiness=1.5))
    seen = engine.learned(G, at=MON)
    assert seen["chattiness"] == 1.5 and seen["chattiness_set"] == 1.5
    assert seen["chattiness_learned"] < 1.0
    lo, hi = CHATTINESS_RANGE
    for bad in (lo - 0.01, hi + 0.01, float("nan")):
        with pytest.raises(ValueError, match=r"settings\.chattiness must be a number"):
            GuildSettings(chattiness=bad)


def test_chattiness_weighs_the_rolls_monotonically() -> None:
    """A busy chat, one die of 0.6 against a mood of impulsiveness 0.5: chattiness 1 says no,
    1.5 says yes (0.5 × 1.5 = 0.75 > 0.6); 0.5 says no."""
    acts = {}
    for c in (0.5, 1.0, 1.5):
        engine = make_engine(roll=0.6, learning=LEARN)
        engine.update_mood(G, "neutral", at=MON)
        engine.configure(G, GuildSettings(chattiness=c))
        for k in range(20):
            engine.track_message(G, at=MON + 400 + k * 10, channel_id=1, author_id=k % 3)
        acts[c] = engine.decide(G, at=MON + 600, triggered_by_message=True).action
    impulsive = make_engine().moods.profile("neutral").impulsiveness
    assert impulsive * 1.0 < 0.6 < impulsive * 1.5
    assert acts == {0.5: None, 1.0: None, 1.5: "join_conversation"}


def test_quiet_phrases_match_whole_words_in_any_case() -> None:
    assert LEARN.quiet_words("@Miku please BE QUIET!")
    assert LEARN.quiet_words("shut up, miku")
    assert not LEARN.quiet_words("the shutup button")  # a word inside another
    assert not LEARN.quiet_words("hello miku")
    with pytest.raises(ValueError, match="quiet_phrases must be non-empty strings"):
        LearningConfig(quiet_phrases=("ok", " "))


# affinity --------------------------------------------------------------------------------------
def test_affinity_counts_answers_once_per_remark_and_is_capped() -> None:
    engine = learner(affinity_max_members=3)
    at = MON
    for uid in (1, 2, 3, 4):
        engine.record_action(G, "break_silence", at=at)
        engine.track_message(G, at=at + 10, channel_id=1, author_id=uid, mentions_bot=True)
        engine.track_message(G, at=at + 20, channel_id=1, author_id=uid, mentions_bot=True)
        at += 900
    aff = engine.state(G).affinity
    assert list(aff) == [2, 3, 4]  # the least recent (1) went
    assert all(n == 1 for n, _ in aff.values())


def test_engage_user_prefers_members_who_answer_and_says_regular() -> None:
    """Sociability 0.5 (neutral), a die of 0.7: a stranger's game is not greeted, a regular's
    (affinity × 2) is, and the reason says "a regular", never who."""
    for regular in (False, True):
        engine = make_engine(roll=0.7, learning=LearningConfig(rhythm_strength=0.0))
        at = MON + 200
        if regular:
            for _ in range(LEARN.affinity_regular):
                engine.record_action(G, "share_tweet", at=at)
                engine.track_message(G, at=at + 5, channel_id=1, author_id=9, mentions_bot=True)
                at += 600
            engine.configure(G, GuildSettings(chattiness=1.0))  # keep the rolls to affinity
        at += 3600
        engine.track_presence(G, 9, at=at, activity="Tetris 99")
        d = engine.decide(G, at=at + 1)
        if regular:
            assert d.action == "engage_user" and "(a regular)" in d.reason
            assert "9" not in d.reason.split("'Tetris 99'")[1].split("(roll")[0]
        else:
            assert d.action is None


def test_affinity_is_forgotten_by_erasure_by_expiry_and_when_the_bot_leaves() -> None:
    engine = learner(affinity_ttl_s=DAY)
    engine.record_action(G, "break_silence", at=MON)
    engine.track_message(G, at=MON + 5, channel_id=1, author_id=7, mentions_bot=True)
    engine.track_message(G, at=MON + 6, channel_id=1, author_id=8, mentions_bot=True)
    assert engine.forget_user(G, 7) and 7 not in engine.state(G).affinity
    assert engine.personal_until(G) <= MON + 6 + DAY
    assert engine.expire_personal(G, MON + 6 + DAY)
    assert engine.state(G).affinity is None
    engine.record_action(G, "break_silence", at=MON + 2 * DAY)
    engine.track_message(G, at=MON + 2 * DAY + 5, channel_id=1, author_id=7, mentions_bot=True)
    engine.leave(G, at=MON + 2 * DAY + 10)
    assert engine.state(G).affinity is None


# persistence -----------------------------------------------------------------------------------
def test_the_snapshot_carries_what_was_learned() -> None:
    engine = learner()
    evenings(engine, days=2)
    engine.record_action(G, "break_silence", at=MON + 3 * DAY)
    engine.track_message(G, at=MON + 3 * DAY + 5, channel_id=1, author_id=7, mentions_bot=True)
    engine.feedback(G, "hushed", at=MON + 3 * DAY + 9)
    other = learner()
    other.restore(G, engine.snapshot(G))
    assert other.state(G) == engine.state(G)
    assert other.week_profile(G) == engine.week_profile(G)
    assert other.learned(G, at=MON + 4 * DAY) == engine.learned(G, at=MON + 4 * DAY)


def test_a_version_2_snapshot_loads_with_nothing_learned() -> None:
    """(Version 3 added the token ledger beside it; version 4 what is learned.)"""
    engine = learner()
    evenings(engine, days=1)
    raw = msgspec.msgpack.decode(engine.snapshot(G))
    assert raw["version"] == SNAPSHOT_VERSION == 4
    old = {k: v for k, v in raw.items() if k in _V2_FIELDS} | {"version": 2}
    other = learner()
    other.restore(G, msgspec.msgpack.encode(old))
    st = other.state(G)
    assert st.rhythm is None and st.chattiness == 1.0 and st.affinity is None
    other.track_message(G, at=MON + 2 * DAY, channel_id=1, author_id=1)  # learns from here
    assert other.state(G).rhythm_n == 1 and other.state(G).rhythm is not None


_V2_FIELDS = {
    "kind", "mood", "settings", "minute", "buckets", "last_human_at", "prev_human_at",
    "last_channel", "messages_since_appearance", "last_action_at", "last_action", "unanswered",
    "activity_user", "activity_name", "activity_at", "activity_engaged", "present",
    "last_join_at", "joins", "left_at",
}  # fmt: skip


def test_the_learned_state_stays_small() -> None:
    """The rhythm is 336 bytes whatever the traffic; the affinity at most the cap."""
    engine = learner(affinity_max_members=300)
    evenings(engine, days=14)
    at = MON + 15 * DAY
    for uid in range(1000):
        engine.record_action(G, "break_silence", at=at)
        engine.track_message(G, at=at + 1, channel_id=1, author_id=uid + 1, mentions_bot=True)
        at += 700
    st = engine.state(G)
    assert len(st.rhythm) * st.rhythm.itemsize == 336 and len(st.affinity) == 300
    assert len(engine.snapshot(G)) < 1024 + 336 + 300 * 20
    assert FIXED.rhythm_strength == 0 and not FIXED.feedback and FIXED.affinity_weight == 0
