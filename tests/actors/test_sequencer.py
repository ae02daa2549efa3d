"""The sequencer: batches in order per link, repeats ignored, epochs, and the floor's promise."""

from __future__ import annotations

import logging

import pytest

from actors.routing.sequencer import Sequencer
from actors.routing.wire import Batch


def batch(seq: int, floor: int | None = None, *, epoch: int = 1, gateway: str = "gw-0") -> Batch:
    return Batch(gateway, seq, seq if floor is None else floor, 0.0, [], [], epoch)


def seqs(out: tuple[list[Batch], bool]) -> list[int]:
    return [b.seq for b in out[0]]


def test_early_batches_wait_and_are_released_in_order() -> None:
    s = Sequencer()
    assert seqs(s.offer(batch(0))) == [0]
    assert s.offer(batch(2, 1)) == ([], False) and s.offer(batch(3, 1)) == ([], False)
    assert s.waiting() == 2
    assert seqs(s.offer(batch(1, 1))) == [1, 2, 3] and s.waiting() == 0


def test_repeats_are_counted_and_never_released_twice() -> None:
    s = Sequencer()
    assert seqs(s.offer(batch(0))) == [0]
    assert s.offer(batch(0)) == ([], True) and s.duplicates == 1
    assert s.offer(batch(2, 1)) == ([], False)
    assert s.offer(batch(2, 1)) == ([], True) and s.duplicates == 2


def test_a_gap_below_the_floor_was_given_up_and_is_skipped(caplog) -> None:
    s = Sequencer()
    s.offer(batch(0))
    assert s.offer(batch(2, 1)) == ([], False)  # 1 still in flight: 2 waits
    # the sender gave batch 1 up (counted as dropped there): its next floor says so
    assert seqs(s.offer(batch(3, 3))) == [2, 3]
    assert "1 batches of gw-0 below 3 were given up" in caplog.text
    assert caplog.records[-1].levelno == logging.WARNING


@pytest.mark.parametrize("sent_before", [0, 1, 100, 10_000])
def test_a_new_epoch_counts_from_zero_without_being_taken_for_repeats(sent_before: int) -> None:
    s = Sequencer()
    for seq in range(min(sent_before, 100)):
        s.offer(batch(seq))
    if sent_before > 100:
        s.offer(batch(sent_before))
    assert s.offer(batch(0, epoch=2)) == ([batch(0, epoch=2)], False)
    assert seqs(s.offer(batch(1, epoch=2))) == [1]


def test_what_an_old_epoch_left_waiting_goes_first_and_its_late_batches_still_apply() -> None:
    s = Sequencer()
    s.offer(batch(0))
    s.offer(batch(2, 1))  # waits for 1, which the dead incarnation never sends
    out = s.offer(batch(0, epoch=2))  # the restarted gateway
    assert [(b.epoch, b.seq) for b in out[0]] == [(1, 2), (2, 0)]
    assert seqs(s.offer(batch(1, 1))) == []  # too late: below what was released of epoch 1
    assert seqs(s.offer(batch(5, 3))) == [5]  # a late batch of the old epoch applies as it comes
    assert seqs(s.offer(batch(1, epoch=2))) == [1]  # the new epoch goes on in its own order


def test_a_late_batch_of_a_superseded_epoch_is_applied_not_waited_for() -> None:
    s = Sequencer()
    s.offer(batch(0, epoch=2))
    assert seqs(s.offer(batch(7, 7, epoch=1))) == [7]


def test_a_stale_floor_after_a_host_restart_is_freed_by_the_senders_advance() -> None:
    """The fault: batches 11..14 were in flight (made while 10 was, so with floor 10) when the
    host died; 10 had been applied and answered by the old incarnation. Ray retries 11..14 to
    the new one, which waits for 10 forever, and the sender (4 in flight) sends nothing more.
    The sender's advance (nothing below 11 in flight) frees them, in order."""
    s = Sequencer()
    for seq in (12, 11, 14, 13):
        assert s.offer(batch(seq, 10)) == ([], False)
    assert s.waiting() == 4
    assert [b.seq for b in s.advance("gw-0", 1, 11)] == [11, 12, 13, 14]
    assert s.advance("gw-0", 1, 11) == []  # said twice: nothing more
    assert s.advance("gw-9", 1, 5) == []  # a link it does not know
