"""Personal data: user ids and activity names kept only as long as a rule needs them.

Members seen online count for `online_ttl_s` (break_silence and share_tweet need someone there);
who started an activity, for `engage_activity_window_s` and only until the bot engaged it. The
engine says when the next of them runs out (`personal_until`) and drops it (`expire_personal`);
`forget_user` erases one member, `leave` every member of a guild the bot was removed from.
"""

from __future__ import annotations

import msgspec
import pytest

from engine import GuildSettings, GuildSnapshot

from .conftest import T0, G, make_engine, talk

TTL = 6 * 3600.0
WINDOW = 600.0


def stored(engine) -> GuildSnapshot:
    return msgspec.msgpack.decode(engine.snapshot(G), type=GuildSnapshot)


def test_members_seen_online_are_forgotten_when_they_stop_counting_as_present() -> None:
    engine = make_engine()
    engine.track_presence(G, 5, at=T0 + 10)
    talk(engine, 1, start=T0 + 100)  # author 100 wrote: also present
    assert engine.personal_until(G) == T0 + 10 + TTL
    assert not engine.expire_personal(G, T0 + 10 + TTL - 1)
    assert set(engine.state(G).present) == {5, 100}
    assert engine.expire_personal(G, T0 + 10 + TTL)  # member 5's hours are up
    assert set(engine.state(G).present) == {100}
    assert engine.personal_until(G) == T0 + 100 + TTL
    assert engine.expire_personal(G, T0 + 100 + TTL)
    assert engine.state(G).present is None and engine.personal_until(G) is None
    assert stored(engine).present is None  # and the store's next copy holds no one


def test_an_activity_is_kept_for_its_window_then_forgotten() -> None:
    engine = make_engine()
    engine.track_presence(G, 5, at=T0 + 10, activity="Celeste")
    until = engine.personal_until(G)
    assert until == T0 + 10 + WINDOW + 1e-3  # engage_user may still fire at exactly 600 s
    assert not engine.expire_personal(G, T0 + 10 + WINDOW)
    assert stored(engine).activity_name == "Celeste"
    assert engine.expire_personal(G, until)
    st = engine.state(G)
    assert st.activity_user is None and st.activity_name is None
    assert stored(engine).activity_user is None and stored(engine).activity_name is None
    assert engine.personal_until(G) == T0 + 10 + TTL  # still seen online, for a while


def test_an_engaged_activity_is_forgotten_at_once_and_not_engaged_again() -> None:
    engine = make_engine()
    engine.track_presence(G, 5, at=T0 + 1000, activity="Celeste")
    d = engine.decide(G, at=T0 + 1100)
    assert d.action == "engage_user" and (d.user_id, d.activity) == (5, "Celeste")
    engine.record_action(G, "engage_user", at=T0 + 1100)
    st = engine.state(G)
    assert st.activity_user is None and st.activity_name is None and st.activity_engaged
    assert engine.decide(G, at=T0 + 4000).action != "engage_user"


def test_expiry_never_changes_what_is_decided() -> None:
    # the same traffic, one engine expiring at every step: the same actions (the notes on rules
    # that did not fire may differ: "activity started 12m ago" becomes "no new activity")
    a, b = make_engine(roll=None, seed=3), make_engine(roll=None, seed=3)
    for step in range(400):
        at = T0 + 200 + step * 53.0
        for e in (a, b):
            if step % 7 == 0:
                game = f"game {step}" if step % 3 else None
                e.track_presence(G, step % 11, at=at, activity=game)
            if step % 5 == 0:
                e.track_message(G, at=at, channel_id=1, author_id=step % 13)
        b.expire_personal(G, at)
        da, db = a.decide(G, at=at), b.decide(G, at=at)
        assert (da.action, da.user_id, da.activity) == (db.action, db.user_id, db.activity)
        if da.action:
            a.record_action(G, da.action, at=at)
            b.record_action(G, db.action, at=at)


def test_forget_user_erases_one_member_and_leaves_the_others() -> None:
    engine = make_engine()
    engine.track_presence(G, 5, at=T0 + 10, activity="Celeste")
    engine.track_presence(G, 6, at=T0 + 20)
    assert engine.forget_user(G, 5)
    st = engine.state(G)
    assert set(st.present) == {6} and st.activity_user is None and st.activity_name is None
    assert not engine.forget_user(G, 5)  # nothing more held about them
    assert not engine.forget_user(999, 5)  # an unknown guild holds nothing
    assert engine.forget_user(G, 6) and engine.state(G).present is None


def test_a_guild_the_bot_left_decides_nothing_forgets_its_members_and_can_resume() -> None:
    engine = make_engine()
    engine.update_mood(G, "bubbly", at=T0)
    talk(engine, 20, start=T0 + 600)
    engine.track_presence(G, 5, at=T0 + 610, activity="Celeste")
    engine.leave(G, at=T0 + 620)
    assert engine.left_at(G) == T0 + 620
    st = engine.state(G)
    assert st.present is None and st.activity_name is None and engine.personal_until(G) is None
    assert st.mood == "bubbly" and st.messages_since_appearance == 20  # kept, for a return
    d = engine.decide(G, at=T0 + 625)
    assert d.action is None and d.reason == "the bot is no longer in this guild"
    assert engine.next_wake(G, at=T0 + 625) is None
    assert stored(engine).left_at == T0 + 620  # a restarted host knows it left, and when
    assert engine.rejoin(G) and engine.left_at(G) is None and not engine.rejoin(G)
    assert engine.decide(G, at=T0 + 625).action == "join_conversation"


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("prompt_lines", 0, "prompt_lines must be a whole number of lines from 1 to 12"),
        ("prompt_lines", 13, "prompt_lines must be a whole number of lines from 1 to 12"),
        ("prompt_lines", True, "prompt_lines must be a whole number"),
        ("prompt_max_age_s", 5, "settings.prompt_max_age_s must be a number"),
    ],
)
def test_prompt_settings_are_checked(field: str, value: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        GuildSettings(**{field: value})
