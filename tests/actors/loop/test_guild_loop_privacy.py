"""The guild loop keeps personal data only as long as the engine needs it, and forgets guilds.

A guild's timer also wakes it when its personal data runs out (the engine's `personal_until`),
so a guild that hears nothing more forgets too, and is marked dirty for the store; a guild the
bot was removed from is forgotten after its grace period (`mark_gone`), unless it comes back.
"""

from __future__ import annotations

import random

from actors.loop.guild_loop import GuildLoop
from engine import AutonomousEngine, GuildSettings, MessageEvent, PresenceEvent, RuleConfig

T0 = 1_700_000_000.0
G = 42
UP = T0 + 600
TTL = 6 * 3600.0
GRACE = 7 * 86400.0


def make(**rules: float) -> tuple[GuildLoop, list[int], list[int]]:
    engine = AutonomousEngine(rng=random.Random(1), started_at=T0, rules=RuleConfig(**rules))

    def adopt(engine: AutonomousEngine, gid: int, at: float) -> None:
        engine.configure(gid, GuildSettings(channels=frozenset({7})))
        engine.update_mood(gid, "shy", at=at)

    dirty: list[int] = []
    gone: list[int] = []
    loop = GuildLoop(engine, adopt=adopt, rng=random.Random(1), mark_dirty=dirty.append,
                     left_grace_s=GRACE, mark_gone=gone.append)  # fmt: skip
    return loop, dirty, gone


def run_timers(loop: GuildLoop, until: float) -> None:
    """Fire every timer up to `until`, one after the other, finishing rounds silently."""
    while (when := loop.next_timer()) is not None and when <= until:
        for rnd in loop.due(when):
            loop.finish(rnd, None, when)


def test_a_guild_that_hears_nothing_more_forgets_who_was_online_and_tells_the_store() -> None:
    loop, dirty, _ = make()
    loop.apply([PresenceEvent(G, 5, UP), PresenceEvent(G, 6, UP + 60)])
    dirty.clear()
    run_timers(loop, UP + TTL - 1)
    assert set(loop.engine.state(G).present) == {5, 6}  # still counting as present
    run_timers(loop, UP + 60 + TTL)
    assert loop.engine.state(G).present is None and G in dirty
    assert loop.next_timer() is None  # nothing left to wake for (shy, no rotation)


def test_an_activity_not_engaged_is_forgotten_after_its_window() -> None:
    loop, dirty, _ = make()
    for rnd in loop.apply([PresenceEvent(G, 5, UP, activity="Celeste")]):
        loop.finish(rnd, None, UP)  # the round chose to say nothing: not engaged
    dirty.clear()
    run_timers(loop, UP + 601)
    st = loop.engine.state(G)
    assert st.activity_user is None and st.activity_name is None and G in dirty


def test_a_message_from_someone_new_moves_a_far_timer_forward() -> None:
    # the control: a member seen online sets the timer to when they stop counting
    loop, _, _ = make(online_ttl_s=600, recheck_s=10_000)
    loop.apply([MessageEvent(G, 7, 100, UP)])
    assert loop.next_timer() == UP + 600
    # mood rotation set far away, nothing personal: then a message's author must be forgotten
    # in time, not at the next rotation
    loop2, _, _ = make(online_ttl_s=600)
    loop2.rotation_s = 100_000.0
    loop2.apply([PresenceEvent(G, 5, UP, online=False)])
    far = loop2.next_timer()
    assert far is not None and far > UP + 10_000
    loop2.apply([MessageEvent(G, 7, 100, UP + 5)])
    assert loop2.next_timer() == UP + 5 + 600


def test_a_guild_the_bot_left_is_forgotten_after_its_grace_unless_it_comes_back() -> None:
    loop, _, gone = make()
    loop.apply([MessageEvent(G, 7, 100, UP), PresenceEvent(G + 1, 5, UP)])
    assert loop.left(G, UP + 10) and not loop.left(999, UP + 10)
    assert loop.engine.state(G).present is None  # its members' data went at once
    assert loop.next_timer() <= UP + 10 + GRACE
    run_timers(loop, UP + 10 + GRACE - 1)
    assert G in loop.engine and gone == []
    run_timers(loop, UP + 10 + GRACE)
    assert G not in loop.engine and gone == [G] and G + 1 in loop.engine
    # the control: back within the grace, it stays and decides again
    loop2, _, gone2 = make()
    loop2.apply([MessageEvent(G, 7, 100, UP)])
    loop2.left(G, UP + 10)
    assert loop2.rejoined(G, UP + 3600) and not loop2.rejoined(G, UP + 3601)
    run_timers(loop2, UP + 10 + 2 * GRACE)
    assert G in loop2.engine and gone2 == []


def test_a_snapshot_restored_after_its_hours_or_its_grace_is_cleaned_at_once() -> None:
    source, _, _ = make()
    source.apply([PresenceEvent(G, 5, UP, activity="Celeste"), PresenceEvent(G + 1, 6, UP)])
    source.left(G + 1, UP)
    old = {g: source.engine.snapshot(g) for g in (G, G + 1)}
    loop, dirty, gone = make()
    for g, data in old.items():
        loop.engine.restore(g, data)
        loop.loaded(g, UP + GRACE + 1)
    st = loop.engine.state(G)
    assert st.present is None and st.activity_name is None and dirty == [G]
    assert G + 1 not in loop.engine and gone == [G + 1]


def test_forget_user_erases_a_member_everywhere_with_the_mentions_held_for_them() -> None:
    loop, dirty, _ = make()
    (rnd,) = loop.apply([MessageEvent(G, 7, 100, UP, mentions_bot=True)])
    loop.apply([
        MessageEvent(G, 7, 100, UP + 1, mentions_bot=True),
        MessageEvent(G, 7, 101, UP + 2, mentions_bot=True),
        PresenceEvent(G + 1, 100, UP + 3, activity="Celeste"),
        PresenceEvent(G + 2, 101, UP + 3),
    ])  # fmt: skip
    dirty.clear()
    assert sorted(loop.forget_user(100)) == [G, G + 1]
    assert sorted(set(dirty)) == [G, G + 1]
    assert [m.author_id for m in loop.held[G]] == [101]
    assert 100 not in (loop.engine.state(G).present or {})
    assert loop.engine.state(G + 1).activity_user is None
    assert loop.forget_user(100) == []  # nothing left about them
    assert loop.forget_user(101, [G + 2]) == [G + 2] and loop.held[G]  # only where asked
    (reply,) = loop.finish(rnd, "reply", UP + 5)
    assert [m.author_id for m in reply.addressed] == [101]


def test_the_last_decision_kept_for_status_names_nobody() -> None:
    loop, _, _ = make()
    loop.engine.update_mood(G, "bubbly", at=UP)
    loop.apply([PresenceEvent(G, 5, UP)])
    (rnd,) = loop.apply([PresenceEvent(G, 5, UP + 60, activity="Celeste")])
    assert rnd.decision.user_id == 5  # the round knows whom to greet
    loop.finish(rnd, "engage_user", UP + 61)
    assert loop.last_decision[G].user_id is None and loop.last_decision[G].action == "engage_user"
