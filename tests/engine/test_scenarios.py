"""The seed's four example scenarios, with the real (seeded) RNG."""

from __future__ import annotations

from .conftest import T0, G, make_engine, talk


def test_active_conversation_bubbly_joins() -> None:
    # 3 messages a minute for 5 minutes, 15 since the bot appeared
    engine = make_engine(roll=None, seed=1)
    engine.update_mood(G, "bubbly", at=T0)
    last = talk(engine, 15, start=T0 + 600, every=20)
    d = engine.decide(G, at=last, triggered_by_message=True)
    assert d.action == "join_conversation"
    assert d.signals["messages_since_appearance"] == 15
    assert d.signals["momentum"] > 0.63
    assert "momentum" in d.reason and d.trigger == "message"


def test_someone_starts_a_game_bot_engages() -> None:
    engine = make_engine(roll=None, seed=3)
    engine.update_mood(G, "bubbly", at=T0)
    engine.record_action(G, "break_silence", at=T0 + 200)
    at = T0 + 200 + 45 * 60  # 45 min since the last action
    engine.track_presence(G, 7, at=at - 30, activity="Project DIVA Mega Mix")
    d = engine.decide(G, at=at)
    assert d.action == "engage_user"
    assert (d.user_id, d.activity) == (7, "Project DIVA Mega Mix")
    assert "Project DIVA Mega Mix" in d.reason


def test_dead_chat_bubbly_breaks_silence() -> None:
    engine = make_engine(roll=None, seed=4)
    engine.update_mood(G, "bubbly", at=T0)
    engine.track_presence(G, 7, at=T0 + 60)  # someone is online
    # two hours with no messages and no action
    assert engine.decide(G, at=T0 + 2 * 3600).action == "break_silence"


def test_shy_in_busy_chat_waits_for_40_messages_then_fomo() -> None:
    engine = make_engine(roll=None, seed=5)
    engine.update_mood(G, "shy", at=T0)
    seen = []
    for i in range(60):
        at = talk(engine, 1, start=T0 + 600 + i * 10)
        d = engine.decide(G, at=at, triggered_by_message=True)
        if d.action:
            seen.append((i + 1, d.action))
            engine.record_action(G, d.action, at=at)
    assert seen[0] == (40, "fomo_response")


def test_neutral_joins_less_readily_than_bubbly_on_the_same_traffic() -> None:
    joined = {}
    for mood in ("bubbly", "neutral", "shy"):
        count = 0
        for seed in range(40):
            engine = make_engine(roll=None, seed=seed)
            engine.update_mood(G, mood, at=T0)
            last = talk(engine, 16, start=T0 + 600, every=15)
            count += engine.decide(G, at=last, triggered_by_message=True).action is not None
        joined[mood] = count
    assert joined["bubbly"] > joined["neutral"] >= joined["shy"] == 0
