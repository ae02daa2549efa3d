"""Puts each gateway's batches back in order, and ignores a batch Ray delivers twice.

Async Ray actors do not keep call order, and Ray retries calls (at-least-once), so a host may see
batch 7 before 6, or 6 twice. Each producer incarnation (a gateway process, started again by Ray
or by hand: an *epoch*) numbers the batches of each of its gateway→host links from 0, and each
batch carries:

- `floor`, the lowest number its producer still has in flight to this host. A host answers a
  batch only once it has applied it, so every batch below the floor was applied or given up by
  the producer (who counts those events as dropped): the host never waits for one of those, and
  a host that has just (re)started begins at the floor.
- `epoch`, which orders the producer's incarnations. A newer epoch starts a link of its own at
  its own numbers, so a restarted producer counting from 0 again is never taken for repeats; the
  batches the older incarnation left waiting are released first (in order, its gaps skipped: that
  producer is gone and will send no more), and its late batches still apply.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from actors.routing.wire import Batch

log = logging.getLogger(__name__)

OLD_EPOCHS_KEPT = 4  # older incarnations remembered per producer (for their late batches)


@dataclass
class _Link:
    epoch: int
    expected: int
    pending: dict[int, Batch] = field(default_factory=dict)
    closed: bool = False  # a newer epoch of the same producer exists: no more waiting for gaps

    def release(self) -> list[Batch]:
        ready = []
        while self.expected in self.pending:
            ready.append(self.pending.pop(self.expected))
            self.expected += 1
        return ready

    def release_all(self) -> list[Batch]:
        """Everything pending, in order, gaps skipped (the producer will send no more)."""
        ready = [self.pending.pop(seq) for seq in sorted(self.pending)]
        if ready:
            self.expected = ready[-1].seq + 1
        return ready


class Sequencer:
    """Releases each link's batches in sequence order; holds early ones, drops repeats.

    `offer()` returns the batches to apply now, in order; `duplicates` counts repeats.
    """

    def __init__(self) -> None:
        self._links: dict[tuple[str, int], _Link] = {}
        self._epochs: dict[str, list[int]] = {}  # producer → its epochs seen, oldest first
        self.duplicates = 0

    def offer(self, batch: Batch) -> tuple[list[Batch], bool]:
        """(the batches now ready to apply, in order; whether `batch` was a repeat).

        The list may hold batches of an older epoch released first, and it is empty when `batch`
        waits for an earlier one."""
        key = (batch.gateway, batch.epoch)
        link = self._links.get(key)
        ready: list[Batch] = []
        if link is None:
            link = self._links[key] = _Link(batch.epoch, expected=min(batch.floor, batch.seq))
            ready = self._new_epoch(batch.gateway, batch.epoch, link)
        if batch.floor > link.expected and not link.closed:
            # nothing below the floor is in flight any more: what has not come was given up by
            # the producer (and counted as dropped there)
            below = sorted(seq for seq in link.pending if seq < batch.floor)
            missing = batch.floor - link.expected - len(below)
            ready += [link.pending.pop(seq) for seq in below]
            link.expected = batch.floor
            ready += link.release()
            if missing:
                log.warning(
                    "%d batches of %s below %d were given up by their sender; going on",
                    missing, batch.gateway, batch.floor,
                )  # fmt: skip
        if batch.seq < link.expected or batch.seq in link.pending:
            self.duplicates += 1
            return ready, True
        if link.closed:  # its producer is gone: apply what still comes, as it comes
            link.expected = batch.seq + 1
            return [*ready, batch], False
        link.pending[batch.seq] = batch
        return ready + link.release(), False

    def advance(self, gateway: str, epoch: int, floor: int) -> list[Batch]:
        """The producer says nothing below `floor` is in flight any more (see
        `actors.routing.batching.GatewayCore.stalled`); the batches now ready, in order."""
        link = self._links.get((gateway, epoch))
        if link is None or link.closed or floor <= link.expected:
            return []
        below = sorted(seq for seq in link.pending if seq < floor)
        ready = [link.pending.pop(seq) for seq in below]
        link.expected = floor
        return ready + link.release()

    def _new_epoch(self, gateway: str, epoch: int, link: _Link) -> list[Batch]:
        epochs = self._epochs.setdefault(gateway, [])
        epochs.append(epoch)
        epochs.sort()
        if epochs[-1] != epoch:  # a late batch of an incarnation already superseded
            link.closed = True
            return []
        released: list[Batch] = []
        for old in epochs[:-1]:
            older = self._links.get((gateway, old))
            if older is not None and not older.closed:
                older.closed = True
                released += older.release_all()
        while len(epochs) > OLD_EPOCHS_KEPT + 1:
            self._links.pop((gateway, epochs.pop(0)), None)
        return released

    def waiting(self) -> int:
        """Batches held until an earlier one of their link arrives."""
        return sum(len(link.pending) for link in self._links.values())
