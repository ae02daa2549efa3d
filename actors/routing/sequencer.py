"""Puts each gateway's batches back in order, and ignores a batch Ray delivers twice.

Async Ray actors do not keep call order, and Ray retries calls (at-least-once), so a host may see
batch 7 before 6, or 6 twice. Each gateway→host link numbers its batches from 0, and each batch
says the lowest number the gateway still has in flight (`floor`): a host that has just started (or
restarted) begins there, so retried batches that arrive out of order are not mistaken for repeats.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from actors.routing.wire import Batch

log = logging.getLogger(__name__)


@dataclass
class _Link:
    expected: int
    pending: dict[int, Batch] = field(default_factory=dict)


class Sequencer:
    """Releases batches per link in sequence order; holds early ones, drops repeats.

    When more than `max_pending` batches wait behind a gap (a batch that will never come: its
    gateway gave up on it, and counted its events as dropped), the gap is skipped and logged.
    `duplicates` counts repeats (the host answers whether a batch was one).
    """

    def __init__(self, *, max_pending: int = 64) -> None:
        self.max_pending = max_pending
        self._links: dict[str, _Link] = {}
        self.duplicates = 0

    def offer(self, batch: Batch) -> list[Batch]:
        """The batches now ready to apply, in order (empty when `batch` waits or is a repeat)."""
        link = self._links.get(batch.gateway)
        if link is None:
            link = self._links[batch.gateway] = _Link(expected=min(batch.floor, batch.seq))
        if batch.seq < link.expected or batch.seq in link.pending:
            self.duplicates += 1
            return []
        link.pending[batch.seq] = batch
        if link.expected not in link.pending and len(link.pending) > self.max_pending:
            skipped, link.expected = link.expected, min(link.pending)
            log.warning(
                "batches %d..%d of %s never came; going on without them",
                skipped, link.expected - 1, batch.gateway,
            )  # fmt: skip
        ready = []
        while link.expected in link.pending:
            ready.append(link.pending.pop(link.expected))
            link.expected += 1
        return ready

    def waiting(self) -> int:
        return sum(len(link.pending) for link in self._links.values())
