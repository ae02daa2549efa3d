"""Snapshots: versioned msgpack bytes that restore a guild exactly."""

from __future__ import annotations

import msgspec
import pytest

from engine import GuildSettings, GuildSnapshot, QuietHours
from engine.state import SNAPSHOT_VERSION

from .conftest import T0, G, make_engine, talk


def busy_guild():
    engine = make_engine(roll=None, seed=9)
    engine.update_mood(G, "silly", at=T0)
    engine.configure(
        G, GuildSettings(channels=frozenset({1}), timezone="Europe/Paris",
                         quiet_hours=QuietHours("23:30", "06:00")),
    )  # fmt: skip
    talk(engine, 30, start=T0 + 200, every=7)
    engine.track_presence(G, 5, at=T0 + 300, activity="Celeste")
    engine.track_member_join(G, 77, at=T0 + 320)
    engine.record_action(G, "join_conversation", at=T0 + 330)
    talk(engine, 3, start=T0 + 400)
    return engine


def test_snapshot_restores_exactly() -> None:
    engine = busy_guild()
    data = engine.snapshot(G)
    other = make_engine()
    other.restore(G, data)
    assert other.state(G) == engine.state(G)
    assert other.snapshot(G) == data


def test_snapshot_carries_its_format_version_and_no_content() -> None:
    data = busy_guild().snapshot(G)
    snap = msgspec.msgpack.decode(data, type=GuildSnapshot)
    assert snap.version == SNAPSHOT_VERSION
    assert set(msgspec.msgpack.decode(data)) >= {"version", "kind", "mood", "buckets"}
    assert b"hello" not in data  # talk() posts no text at all: the engine never sees any


def test_a_newer_format_is_refused_with_advice() -> None:
    raw = msgspec.msgpack.decode(busy_guild().snapshot(G))
    raw["version"] = SNAPSHOT_VERSION + 1
    v = SNAPSHOT_VERSION
    newer = f"format version {v + 1}; this build reads up to {v}: upgrade"
    with pytest.raises(ValueError, match=newer):
        make_engine().restore(G, msgspec.msgpack.encode(raw))


def test_garbage_is_refused_and_leaves_the_guild_alone() -> None:
    engine = busy_guild()
    before = engine.snapshot(G)
    with pytest.raises(ValueError, match="guild snapshot is not readable"):
        engine.restore(G, b"\x93not a snapshot")
    assert engine.snapshot(G) == before


def test_a_mood_no_longer_configured_falls_back_to_the_default(caplog) -> None:
    engine = make_engine()
    engine.update_mood(G, "bubbly", at=T0)
    raw = msgspec.msgpack.decode(engine.snapshot(G))
    raw["mood"] = "retired"
    engine.restore(G, msgspec.msgpack.encode(raw))
    assert engine.state(G).mood == "neutral"
    assert "restored mood 'retired' is no longer configured" in caplog.text


def test_restored_guild_decides_identically() -> None:
    a = busy_guild()
    b = make_engine(roll=None, seed=0)
    b.restore(G, a.snapshot(G))
    b.rng.setstate(a.rng.getstate())
    for step in range(200):
        at = T0 + 500 + step * 97.0
        if step % 3 == 0:
            for e in (a, b):
                e.track_message(G, at=at, channel_id=1, author_id=step % 5)
        by_message = step % 3 == 0
        da = a.decide(G, at=at, triggered_by_message=by_message)
        db = b.decide(G, at=at, triggered_by_message=by_message)
        assert da == db
        if da.action:
            a.record_action(G, da.action, at=at)
            b.record_action(G, db.action, at=at)


@pytest.mark.parametrize(("since_appearance", "unanswered"), [(0, 2), (1, 0)])
def test_restoring_clears_a_count_of_remarks_a_human_has_answered(
    since_appearance: int, unanswered: int
) -> None:
    # older builds kept the count after a human answered (messages since the bot spoke > 0),
    # until the bot spoke again: a guild saved so stayed mute for good
    snap = GuildSnapshot(mood="bubbly", messages_since_appearance=since_appearance, unanswered=2)
    engine = make_engine()
    engine.restore(G, msgspec.msgpack.encode(snap))
    assert engine.state(G).unanswered == unanswered


def test_a_version_1_snapshot_loads_with_the_new_fields_defaulted() -> None:
    # what build 1 wrote: no left_at, settings without the prompt keys, version 1
    v1 = {
        "kind": "guild", "version": 1, "mood": "shy", "minute": 0, "buckets": None,
        "settings": {"channels": [1], "default_channel": 0, "timezone": "Europe/Paris",
                     "quiet_hours": None, "paused": True},
        "last_action_at": T0, "last_action": "break_silence", "joins": 3,
        "present": {5: T0}, "activity_user": 5, "activity_name": "Celeste", "activity_at": T0,
    }  # fmt: skip
    engine = make_engine()
    engine.restore(G, msgspec.msgpack.encode(v1))
    st = engine.state(G)
    assert st.mood == "shy" and st.settings.paused and st.settings.timezone == "Europe/Paris"
    assert st.settings.prompt_transcript and not st.settings.prompt_names
    assert engine.left_at(G) is None and st.joins == 3
    # its personal data expires like any other: the runtime asks when, then drops it
    assert engine.personal_until(G) == T0 + 600 + 1e-3
    assert engine.expire_personal(G, T0 + 6 * 3600)
    assert st.present is None and st.activity_user is None and st.activity_name is None
