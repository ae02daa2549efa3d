"""The gateway's logic, without Ray: buffer events per host, batch them, shed under overload.

The source (Discord, the emulator, synthetic traffic) hands events to `offer()`, which never
blocks and never raises: it files the event under the host that holds its guild's partition. The
gateway's loop asks `due_batches()` for the batches to send now: a host's buffer is cut into a
batch when it holds `batch_max` events or its oldest event has waited `flush_ms`, and only while
that host has fewer than `max_in_flight` batches outstanding. When more than `queue_max` events
wait in all, presence updates are shed first, then new events; every drop is counted.

`offer()` is also the door every source's events pass: an event with an id that is not a
snowflake (`engine.valid_id`) is refused and counted (`invalid_id`); text that is not valid
Unicode (a lone surrogate) is repaired (`wire.clean_text`), so no encoder downstream fails on it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import msgspec

from actors.routing.wire import Batch, Line, clean_text, encode_batch
from engine import Event, MemberJoinEvent, MessageEvent, PresenceEvent, valid_id
from metrics import GuildmindMetrics

PARKED = "\0"  # a buffer whose name starts so waits for a host (placement, partition move)

EVENT_TYPE = {MessageEvent: "message", PresenceEvent: "presence", MemberJoinEvent: "member_join"}


@dataclass
class _Buffer:
    events: list[Event] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    presence: int = 0  # how many of `events` are presence updates (what sheds first)
    since: float = 0.0  # wall time the oldest event arrived
    next_seq: int = 0
    in_flight: set[int] = field(default_factory=set)
    progress: float = 0.0  # monotonic time a batch was last answered (or the first went out)


class GatewayCore:
    """Per-host buffers, batching and load shedding for one gateway.

    Parameters
    ----------
    name:
        The gateway's name (hosts use it to order its batches and to send replies back).
    route:
        guild id → the name of the host that holds it.
    """

    def __init__(
        self,
        name: str,
        *,
        route: Callable[[int], str],
        metrics: GuildmindMetrics,
        batch_max: int = 256,
        flush_ms: float = 5.0,
        max_in_flight: int = 4,
        queue_max: int = 50_000,
    ) -> None:
        self.name, self.route, self.metrics = name, route, metrics
        # this incarnation: hosts order its batches apart from those of a gateway of the same
        # name that ran before (Ray restarted it; numbering starts at 0 again)
        self.epoch = time.time_ns()
        self.batch_max, self.flush_s = batch_max, flush_ms / 1000.0
        self.max_in_flight, self.queue_max = max_in_flight, queue_max
        self._buffers: dict[str, _Buffer] = {}
        self.queued = 0
        self.dropped: dict[tuple[str, str], int] = {}
        self._counts: dict[str, int] = {}
        self._encode = msgspec.msgpack.Encoder().encode

    def offer(
        self,
        event: Event,
        line: Line | None = None,
        *,
        counted: bool = False,
        arrived: float | None = None,
    ) -> bool:
        """Take one event (and its transcript line); False when it was shed.

        `counted`: the event was offered before (it waited for a placement or a move), count it
        once; `arrived`: when it first arrived (so its batch's latency includes the wait).
        """
        kind = EVENT_TYPE.get(type(event), "other")
        if not counted:  # into the metric once per `due_batches()`, not once per event
            self._counts[kind] = self._counts.get(kind, 0) + 1
            refused = _refused(event, line)
            if refused is not None:
                self._drop(kind, refused)
                return False
            event, line = _repaired(event, line)
        if self.queued >= self.queue_max and not self._make_room(kind):
            self._drop(kind, "overload")
            return False
        try:
            host = self.route(event.guild_id)
        except Exception:
            self._drop(kind, "unroutable")
            return False
        buf = self._buffers.get(host)
        if buf is None:
            buf = self._buffers[host] = _Buffer()
        if not buf.events:
            buf.since = time.time() if arrived is None else arrived
        elif arrived is not None and arrived < buf.since:
            buf.since = arrived
        buf.events.append(event)
        if kind == "presence":
            buf.presence += 1
        if line is not None:
            buf.lines.append(line)
        self.queued += 1
        return True

    def _make_room(self, kind: str) -> bool:
        """Shed buffered presence updates to make room for a message or join."""
        if kind == "presence":
            return False
        fullest = max(self._buffers.values(), key=lambda b: b.presence, default=None)
        if fullest is None or not fullest.presence:
            return False
        kept = [e for e in fullest.events if type(e) is not PresenceEvent]
        shed = len(fullest.events) - len(kept)
        fullest.events, fullest.presence = kept, 0
        self.queued -= shed
        self._drop("presence", "overload", shed)
        return True

    def _drop(self, kind: str, reason: str, n: int = 1) -> None:
        self.dropped[(kind, reason)] = self.dropped.get((kind, reason), 0) + n
        self.metrics.dropped(kind, reason, n)

    def drop(self, events: Iterable[Event], reason: str) -> None:
        """Count `events` (of a batch) as dropped for `reason`, each by its own type."""
        kinds: dict[str, int] = {}
        for event in events:
            kind = EVENT_TYPE.get(type(event), "other")
            kinds[kind] = kinds.get(kind, 0) + 1
        for kind, n in kinds.items():
            self._drop(kind, reason, n)

    def encode(self, batch: Batch) -> bytes:
        """`batch` for the wire. Events that cannot be encoded are left out and counted
        (`unencodable`); the rest go under the batch's own number, so the link has no gap."""
        data, left_out = encode_batch(batch, self._encode)
        if left_out:
            self.drop(left_out, "unencodable")
        return data

    def due_batches(self, now: float, *, all_now: bool = False) -> list[tuple[str, Batch]]:
        """The batches to send now (each marked in flight until `done()`)."""
        if self._counts:
            for kind, n in self._counts.items():
                self.metrics.events(kind, n)
            self._counts = {}
        out: list[tuple[str, Batch]] = []
        for host, buf in self._buffers.items():
            events = buf.events
            if (
                host.startswith(PARKED)
                or not events
                or not (all_now or len(events) >= self.batch_max or now - buf.since >= self.flush_s)
            ):
                continue
            cut = 0
            while cut < len(events) and len(buf.in_flight) < self.max_in_flight:
                if len(events) - cut < self.batch_max and not (all_now or cut == 0):
                    break  # a partial batch only when it is the buffer's first or all must go
                chunk = events[cut : cut + self.batch_max]
                cut += len(chunk)
                lines = self._lines_for(buf, chunk)
                seq = buf.next_seq
                buf.next_seq += 1
                if not buf.in_flight:
                    buf.progress = time.monotonic()
                buf.in_flight.add(seq)
                out.append(
                    (
                        host,
                        Batch(
                            self.name, seq, min(buf.in_flight), buf.since, chunk, lines, self.epoch
                        ),
                    )
                )
                self.metrics.batch_sent(len(chunk))
            if cut:
                buf.events = events[cut:]  # what stays keeps its arrival time: it goes out next
                self.queued -= cut
                if buf.presence:
                    buf.presence = sum(type(e) is PresenceEvent for e in buf.events)
        return out

    @staticmethod
    def _lines_for(buf: _Buffer, chunk: list[Event]) -> list[Line]:
        if not buf.lines:
            return []
        ids = {e.guild_id for e in chunk}
        lines = [ln for ln in buf.lines if ln.guild_id in ids]
        if lines:
            buf.lines = [ln for ln in buf.lines if ln.guild_id not in ids]
        return lines

    def has(self, host: str) -> bool:
        buf = self._buffers.get(host)
        return bool(buf and buf.events)

    def since(self, host: str) -> float | None:
        """When the oldest event buffered for `host` arrived (None: nothing buffered)."""
        buf = self._buffers.get(host)
        return buf.since if buf and buf.events else None

    def take(self, host: str) -> list[tuple[Event, Line | None]]:
        """Empty `host`'s buffer, returning its events with their lines (to offer again)."""
        buf = self._buffers.pop(host, None)
        if buf is None:
            return []
        self.queued -= len(buf.events)
        lines = {(ln.guild_id, ln.at, ln.author_id): ln for ln in buf.lines}
        return [
            (e, lines.get((e.guild_id, e.at, getattr(e, "author_id", None)))) for e in buf.events
        ]

    def events_buffered(self) -> list[Event]:
        """Every event waiting in a host's buffer (a partition move looks through them)."""
        return [
            e for host, b in self._buffers.items() if not host.startswith("\0") for e in b.events
        ]

    def next_seq(self, host: str) -> int:
        buf = self._buffers.get(host)
        return buf.next_seq if buf is not None else 0

    def landed(self, host: str, seq: int) -> bool:
        """Whether every batch to `host` numbered below `seq` was applied (or failed for good)."""
        buf = self._buffers.get(host)
        return buf is None or not any(s < seq for s in buf.in_flight)

    def done(self, host: str, seq: int) -> None:
        """The batch `seq` to `host` was applied (or failed for good)."""
        buf = self._buffers.get(host)
        if buf is not None and seq in buf.in_flight:
            buf.in_flight.discard(seq)
            buf.progress = time.monotonic()
            self.metrics.batch_done()

    def stalled(self, now: float, after_s: float = 1.0) -> list[tuple[str, int]]:
        """(host, floor) for each host whose batches have gone unanswered for `after_s` seconds
        (monotonic `now`): the host may be waiting on a stale floor.

        A batch carries the floor of when it was made; a host that restarted meanwhile gets
        Ray's retries with those old floors, and may wait for a batch its previous incarnation
        applied and answered. Telling it the floor as it is now (nothing below it is in flight)
        frees it. Each host is named again only after another `after_s`."""
        out = []
        for host, buf in self._buffers.items():
            if buf.in_flight and now - buf.progress >= after_s:
                out.append((host, min(buf.in_flight)))
                buf.progress = now
        return out

    def in_flight(self) -> int:
        return sum(len(b.in_flight) for b in self._buffers.values())


def _refused(event: Event, line: Line | None) -> str | None:
    """Why the door refuses `event` (a drop reason), or None to admit it."""
    kind = type(event)
    if kind not in EVENT_TYPE or (type(event.at) is not float and type(event.at) is not int):
        return "malformed"  # not an event the hosts know, or not at a time
    if kind is MessageEvent:
        if type(event.author_is_bot) is not bool or type(event.mentions_bot) is not bool:
            return "malformed"  # e.g. a user whose "bot" flag discord.py kept as it came
        ok = valid_id(event.guild_id) and valid_id(event.channel_id) and valid_id(event.author_id)
    else:
        ok = valid_id(event.guild_id) and valid_id(event.user_id)  # type: ignore[union-attr]
        if kind is PresenceEvent and (
            type(event.online) is not bool  # type: ignore[union-attr]
            or (event.activity is not None and type(event.activity) is not str)  # type: ignore[union-attr]
        ):
            return "malformed"
    if line is not None and ok:
        if type(line.content) is not str or type(line.author) is not str:
            return "malformed"
        ok = valid_id(line.guild_id) and valid_id(line.channel_id) and valid_id(
            line.message_id
        ) and valid_id(line.author_id)  # fmt: skip
    return None if ok else "invalid_id"


def _repaired(event: Event, line: Line | None) -> tuple[Event, Line | None]:
    """`event` and `line` with their text as valid Unicode (copies only where it was not)."""
    if line is not None and not (line.content.isascii() and line.author.isascii()):
        author, content = clean_text(line.author), clean_text(line.content)
        if author is not line.author or content is not line.content:
            line = msgspec.structs.replace(line, author=author, content=content)
    if type(event) is PresenceEvent and event.activity and not event.activity.isascii():
        activity = clean_text(event.activity)
        if activity is not event.activity:
            event = msgspec.structs.replace(event, activity=activity)
    return event, line
