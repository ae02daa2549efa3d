"""The guild loop alone: pure, clock-free, no asyncio. Events and time in, rounds out."""

from __future__ import annotations

import random

import pytest

from actors.loop.guild_loop import GuildLoop, Round
from engine import (
    AutonomousEngine,
    GuildSettings,
    MemberJoinEvent,
    MessageEvent,
    PresenceEvent,
)

T0 = 1_700_000_000.0
G = 42
UP = T0 + 600  # well past the 120 s start-up


class Seen:
    """A `LoopObserver` that keeps what it is told."""

    def __init__(self) -> None:
        self.decisions: list[tuple[str | None, str, str, int]] = []
        self.drops: list[tuple[str, str, int]] = []

    def decision(self, action, mood, trigger, *, decide_s=None, latency_s=None, n=1) -> None:
        self.decisions.append((action, mood, trigger, n))

    def dropped(self, type, reason, n=1) -> None:
        self.drops.append((type, reason, n))


def make(*, mood: str = "bubbly", rotation_s: float = 0.0, seed: int = 1) -> GuildLoop:
    engine = AutonomousEngine(rng=random.Random(seed), started_at=T0)

    def adopt(engine: AutonomousEngine, gid: int, at: float) -> None:
        engine.configure(gid, GuildSettings(channels=frozenset({7})))
        engine.update_mood(gid, mood, at=at)

    return GuildLoop(
        engine, adopt=adopt, observer=Seen(), rotation_s=rotation_s, rng=random.Random(seed)
    )


def talk(n: int, start: float, *, guild: int = G, every: float = 2.0) -> list[MessageEvent]:
    return [MessageEvent(guild, 7, 100 + i % 3, start + i * every) for i in range(n)]


def mention(at: float, author: int = 200, *, guild: int = G) -> MessageEvent:
    return MessageEvent(guild, 7, author, at, mentions_bot=True)


def test_a_busy_conversation_asks_for_a_round_and_its_end_records_the_action() -> None:
    loop = make()
    rounds = loop.apply(talk(15, UP))
    assert [r.decision.action for r in rounds] == ["join_conversation"]
    rnd = rounds[0]
    assert loop.running == {G: rnd}
    assert loop.engine.state(G).last_action is None  # nothing recorded until the round ends
    assert loop.finish(rnd, "join_conversation", rnd.at + 1.5) == []
    st = loop.engine.state(G)
    assert (st.last_action, st.last_action_at) == ("join_conversation", rnd.at + 1.5)
    assert loop.last_decision[G] is rnd.decision and not loop.running
    assert loop.next_timer() is not None  # the guild's timer is set again


def test_a_mention_during_a_round_is_held_and_answered_after_it() -> None:
    loop = make()
    (first,) = loop.apply(talk(15, UP))
    held = mention(first.at + 0.3)
    assert loop.apply([held]) == []  # not dropped: kept for the round's end
    assert loop.held == {G: [held]}
    (reply,) = loop.finish(first, "join_conversation", first.at + 1.0)
    assert reply.addressed == (held,) and reply.decision is None and reply.trigger == "addressed"
    assert loop.finish(reply, "reply", first.at + 2.0) == []
    assert loop.last_decision[G].reason == "the bot was addressed"
    assert loop.engine.state(G).last_action == "reply"


def test_several_mentions_during_one_round_get_one_answer_that_says_so() -> None:
    loop = make()
    (first,) = loop.apply(talk(15, UP))
    a, b = mention(first.at + 0.2, 200), mention(first.at + 0.4, 201)
    loop.apply([a, b])
    (reply,) = loop.finish(first, "join_conversation", first.at + 1.0)
    assert reply.addressed == (a, b)
    loop.finish(reply, "reply", first.at + 2.0)
    assert loop.last_decision[G].reason.startswith("2 messages addressed the bot while it was busy")


def test_mentions_one_round_apart_each_get_their_own_answer_in_order() -> None:
    loop = make()
    (r1,) = loop.apply([mention(UP, 200)])
    loop.apply([mention(UP + 0.5, 201)])
    (r2,) = loop.finish(r1, "reply", UP + 1)
    loop.apply([mention(UP + 1.5, 202)])
    (r3,) = loop.finish(r2, "reply", UP + 2)
    assert [r.addressed[0].author_id for r in (r1, r2, r3)] == [200, 201, 202]
    assert all(len(r.addressed) == 1 for r in (r1, r2, r3))


def test_a_silent_round_that_heard_messages_meanwhile_looks_again() -> None:
    loop = make()
    (first,) = loop.apply(talk(15, UP))
    # 15 more during the round: 30 without the bot, enough for fomo_response (no dice)
    assert loop.apply(talk(15, first.at + 0.1, every=0.05)) == []  # counted, no check mid-round
    assert loop.recheck == {G}
    again = loop.finish(first, None, first.at + 1)  # the round chose nothing
    assert [r.decision.trigger for r in again] == ["message"] and loop.running[G] is again[0]
    # the control: had it spoken, the minimum interval would have kept it quiet
    loop2 = make()
    (f2,) = loop2.apply(talk(15, UP))
    loop2.apply(talk(15, f2.at + 0.1, every=0.05))
    assert loop2.finish(f2, "join_conversation", f2.at + 1) == []


def test_nothing_answers_a_mention_in_the_start_up_but_it_does_after() -> None:
    loop = make()
    assert loop.apply([mention(T0 + 60)]) == []
    (reply,) = loop.apply([mention(T0 + 121)])
    assert reply.addressed[0].at == T0 + 121


def test_a_game_started_is_engaged_at_once_not_on_the_next_timer() -> None:
    loop = make(mood="bubbly")
    loop.apply([PresenceEvent(G, 5, UP, online=True)])
    rounds = loop.apply([PresenceEvent(G, 5, UP + 60, activity="Project DIVA Mega Mix")])
    assert [(r.decision.action, r.at) for r in rounds] == [("engage_user", UP + 60)]


def test_joins_and_plain_presences_only_set_timers() -> None:
    loop = make()
    assert loop.apply([MemberJoinEvent(G, 9, UP), PresenceEvent(G, 5, UP + 1)]) == []
    when = loop.next_timer()
    assert when is not None and when > UP + 1


def test_timers_fire_once_per_guild_and_decide_break_silence() -> None:
    loop = make()
    guilds = [G + i for i in range(20)]
    loop.apply([PresenceEvent(g, 5, T0 + 1) for g in guilds])
    seen: Seen = loop.observer  # type: ignore[assignment]
    fired = loop.due(T0 + 3 * 3600)
    assert {r.guild_id for r in fired} <= set(guilds) and fired
    assert all(r.decision.action == "break_silence" for r in fired)
    timer_checks = sum(n for _, _, trigger, n in seen.decisions if trigger == "timer")
    assert timer_checks == 20  # each guild's one timer, acted on or not
    assert loop.due(T0 + 3 * 3600) == []  # nothing fires twice


def test_moods_rotate_on_each_guilds_own_schedule() -> None:
    loop = make(mood="neutral", rotation_s=3600.0)
    loop.apply([PresenceEvent(g, 5, T0 + 1, online=False) for g in (1, 2, 3)])
    phases = {g: loop.next_rotation(g, T0) - T0 for g in (1, 2, 3)}
    assert len(set(phases.values())) == 3 and all(0 < p <= 3600 for p in phases.values())
    dirty: list[int] = []
    loop.mark_dirty = dirty.append
    g = min(phases, key=phases.get)
    loop.due(T0 + phases[g])
    moods = {x: loop.engine.state(x).mood for x in (1, 2, 3)}
    assert moods[g] != "neutral" and dirty == [g]
    assert [m for x, m in moods.items() if x != g] == ["neutral", "neutral"]


def test_a_malformed_event_is_reported_and_the_rest_still_apply() -> None:
    loop = make()
    bad = MessageEvent(G, 7, 100, float("nan"))
    rounds = loop.apply([bad, *talk(15, UP)])
    assert loop.rejected == 1 and loop.observer.drops == [("message", "malformed", 1)]
    assert [r.decision.action for r in rounds] == ["join_conversation"]
    assert loop.engine.state(G).mood == "bubbly"  # adopted by the first good event, not the bad


def test_finishing_a_round_that_is_not_running_is_refused() -> None:
    loop = make()
    (rnd,) = loop.apply(talk(15, UP))
    loop.finish(rnd, None, rnd.at + 1)
    with pytest.raises(ValueError, match="is not running"):
        loop.finish(rnd, None, rnd.at + 2)
    with pytest.raises(ValueError, match="is not running"):
        loop.finish(Round(G, UP), None, UP)


def test_a_guild_forgotten_mid_round_ends_quietly() -> None:
    loop = make()
    (rnd,) = loop.apply(talk(15, UP))
    loop.apply([mention(rnd.at + 0.1)])
    assert loop.busy({G})
    loop.forget(G)
    assert loop.finish(rnd, "join_conversation", rnd.at + 1) == []
    assert G not in loop.engine and not loop.busy({G})


def test_quiet_checks_are_reported_once_per_call_by_mood() -> None:
    loop = make(mood="shy")
    seen: Seen = loop.observer  # type: ignore[assignment]
    loop.apply(talk(3, UP))
    assert seen.decisions == [(None, "shy", "message", 3)]


@pytest.mark.parametrize("how", ["paused", "asleep"])
def test_a_paused_or_sleeping_guild_answers_nobody(how: str) -> None:
    loop = make()
    (control,) = loop.apply([mention(UP)])  # the control: awake and not paused, it answers
    loop.finish(control, "reply", UP + 1)
    if how == "paused":
        loop.engine.configure(G, GuildSettings(channels=frozenset({7}), paused=True))
    else:
        loop.engine.update_mood(G, "asleep", at=UP + 2)
    assert loop.apply([mention(UP + 60)]) == []
    seen: Seen = loop.observer  # type: ignore[assignment]
    assert seen.decisions[-1] == (None, loop.engine.state(G).mood, "addressed", 1)


def test_a_mention_held_while_the_guild_is_paused_meanwhile_is_not_answered() -> None:
    loop = make()
    (rnd,) = loop.apply(talk(15, UP))
    loop.apply([mention(rnd.at + 0.1)])
    loop.engine.configure(G, GuildSettings(channels=frozenset({7}), paused=True))
    assert loop.finish(rnd, "join_conversation", rnd.at + 1) == [] and not loop.held
