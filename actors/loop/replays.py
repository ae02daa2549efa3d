"""Messages Discord replays after a gateway's cold resume are applied once.

A restarted gateway RESUMEs its shards' sessions from the sequence numbers it stored
(`actors.sources.discord.resume`). It stores a sequence only once the hosts applied everything
up to it, so nothing is lost, but the stored one may lag what the old gateway delivered before it
died: Discord replays every event after it, and the messages among them that were delivered once
already arrive again (on a new link, under a new epoch: the sequencer cannot tell). The hosts
remember the ids of the newest messages they applied and skip those.

The window is the newest `size` message ids of the host (all its guilds), not a number per
guild: the replayed stretch is what one gateway delivered in the last save interval or so
(`source.discord.session_save_s`, 1 s by default), whatever guilds it came from, so one bound
for the host is what has to cover it; 65,536 ids cover ~2 s at 30k messages/s, in ~6 MiB. Ids
only (a Discord message id), never content. Each message's transcript `Line` carries its id, so
the common path costs one dict insertion per line; the events of a batch are looked at only
when one of its lines was seen before.
"""

from __future__ import annotations

from actors.routing.wire import Line
from engine import Event, MessageEvent


class ReplayWindow:
    """The newest `size` message ids applied (0: remember none, skip none)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._ids: dict[int, None] = {}  # insertion order: the oldest first
        self.skipped = 0

    def __len__(self) -> int:
        return len(self._ids)

    def admit(self, events: list[Event], lines: list[Line]) -> tuple[list[Event], list[Line]]:
        """`events` and `lines` without the messages applied before (each counted in
        `skipped`); the ids of the rest are remembered. Events without a message id (0) and
        lines without a message event pass as they are."""
        if not self.size or not lines:
            return events, lines
        ids, seen = self._ids, None
        for line in lines:
            mid = line.message_id
            if mid in ids:
                seen = (seen or set()) | {mid}
            else:
                ids[mid] = None
        while len(ids) > self.size:
            del ids[next(iter(ids))]
        if seen is None:
            return events, lines
        kept, dropped = [], set()
        for event in events:
            if type(event) is MessageEvent and event.message_id in seen:
                dropped.add(event.message_id)
            else:
                kept.append(event)
        if not dropped:
            return events, lines
        self.skipped += len(events) - len(kept)
        return kept, [ln for ln in lines if ln.message_id not in dropped]
