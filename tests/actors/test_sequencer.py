"""The sequencer: batches in order per link, repeats ignored, and a gap that never fills skipped."""

from __future__ import annotations

import logging

import pytest

from actors.routing.sequencer import Sequencer
from actors.routing.wire import Batch


def batch(seq: int, gateway: str = "gw-0") -> Batch:
    return Batch(gateway, seq, 0, 0.0, [])


def test_a_gap_that_never_fills_is_skipped_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    s = Sequencer(max_pending=2)
    assert [b.seq for b in s.offer(batch(0))] == [0]
    # batch 1 never comes (its gateway gave up on it): 2 and 3 wait behind it
    assert s.offer(batch(2)) == [] and s.offer(batch(3)) == []
    assert s.waiting() == 2 and not caplog.records
    # one more than max_pending waits: the gap is skipped, the rest released in order
    assert [b.seq for b in s.offer(batch(4))] == [2, 3, 4]
    assert s.waiting() == 0
    assert "batches 1..1 of gw-0 never came" in caplog.text
    assert caplog.records[0].levelno == logging.WARNING


def test_repeats_are_counted_and_never_released_twice() -> None:
    s = Sequencer()
    assert len(s.offer(batch(0))) == 1
    assert s.offer(batch(0)) == [] and s.duplicates == 1
    assert s.offer(batch(2)) == [] and s.offer(batch(2)) == [] and s.duplicates == 2
