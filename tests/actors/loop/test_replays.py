"""A host applies a message once, though Discord replays it after a gateway's cold resume."""

from __future__ import annotations

from actors.loop.replays import ReplayWindow
from actors.routing.wire import Line
from engine import MemberJoinEvent, MessageEvent, PresenceEvent

G, C, U, T = 11, 22, 33, 1_900_000_000.0


def message(mid: int) -> tuple[MessageEvent, Line]:
    return MessageEvent(G, C, U, T, message_id=mid), Line(G, C, mid, U, "u", "hi", T)


def batch(*mids: int) -> tuple[list, list]:
    pairs = [message(m) for m in mids]
    events = [e for e, _ in pairs] + [PresenceEvent(G, U, T), MemberJoinEvent(G, U, T)]
    return events, [ln for _, ln in pairs]


def test_a_message_seen_before_is_skipped_with_its_line_and_counted() -> None:
    window = ReplayWindow(100)
    events, lines = batch(1, 2, 3)
    assert window.admit(events, lines) == (events, lines)  # new: all pass, untouched
    again, again_lines = batch(2, 3, 4)  # the replay: 2 and 3 were applied before
    kept, kept_lines = window.admit(again, again_lines)
    assert [e.message_id for e in kept if type(e) is MessageEvent] == [4]
    assert [ln.message_id for ln in kept_lines] == [4]
    assert len(kept) == 3  # the presence and the join pass: they carry no message id
    assert window.skipped == 2
    kept, kept_lines = window.admit(*batch(4))  # and 4 is now known too
    assert kept_lines == [] and all(type(e) is not MessageEvent for e in kept)
    assert window.skipped == 3


def test_the_window_is_bounded_to_the_newest_ids() -> None:
    window = ReplayWindow(3)
    window.admit(*batch(1, 2, 3, 4, 5))
    assert len(window) == 3
    events, lines = batch(1, 5)  # 1 was pushed out (applied again), 5 is remembered
    kept, _ = window.admit(events, lines)
    assert [e.message_id for e in kept if type(e) is MessageEvent] == [1]


def test_events_without_an_id_and_a_window_of_zero_skip_nothing() -> None:
    synthetic = MessageEvent(G, C, U, T)  # message_id 0: synthetic traffic
    line = Line(G, C, 7, U, "u", "hi", T)  # offered twice (a load test's factor)
    window = ReplayWindow(10)
    for _ in range(3):
        assert window.admit([synthetic], [line]) == ([synthetic], [line])
    off = ReplayWindow(0)
    for _ in range(2):
        events, lines = batch(1)
        assert off.admit(events, lines) == (events, lines)
    assert window.skipped == off.skipped == 0
