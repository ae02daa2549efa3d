"""The gateway's logic, without Ray: buffer events per host, batch them, shed under overload.

The source (Discord, the emulator, synthetic traffic) hands events to `offer()`, which never
blocks and never raises: it files the event under the host that holds its guild's partition. The
gateway's loop asks `due_batches()` for the batches to send now: a host's buffer is cut into a
batch when it holds `batch_max` events or its oldest event has waited `flush_ms`, and only while
that host has fewer than `max_in_flight` batches outstanding.

Admission (overload that degrades gracefully): while a host is offered more than its measured
capacity, its buffer refuses low-value events at the door, counted by type; past `queue_max`, a
mention or a join evicts lower-value events. The rules, the numbers and the measure live in
`actors.routing.admission`; each host's buffer is an `actors.routing.buffer.HostBuffer`.

`offer()` is also the door every source's events pass (`actors.routing.door`): an event with an
id that is not a snowflake is refused and counted (`invalid_id`), text that is not valid Unicode
is repaired, so no encoder downstream fails on it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import msgspec

from actors.routing.admission import EVICTS, MEASURE_S, SHED_AFTER, evict, measure
from actors.routing.buffer import PARKED, HostBuffer
from actors.routing.door import EVENT_TYPE, refused, repaired
from actors.routing.wire import Batch, Line, encode_batch
from engine import Event, PresenceEvent
from metrics import GuildmindMetrics


class GatewayCore:
    """Per-host buffers, batching and load shedding for one gateway.

    Parameters
    ----------
    name:
        The gateway's name (hosts use it to order its batches and to send replies back).
    route:
        guild id → the name of the host that holds it.
    batch_max, flush_ms, max_in_flight:
        Events per batch, the longest a partial batch waits (milliseconds), batches in flight
        per host.
    queue_max:
        Events buffered in all (the memory bound); see the module docstring for what is evicted.
    max_wait_ms:
        The admission budget (milliseconds): see `SHED_AFTER`.
    wall:
        The wall clock (seconds since the epoch) that stamps each arrival.
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
        max_wait_ms: float = 250.0,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.name, self.route, self.metrics = name, route, metrics
        self._wall = wall  # seconds since the epoch (tests step it)
        # this incarnation: hosts order its batches apart from those of a gateway of the same
        # name that ran before (Ray restarted it; numbering starts at 0 again)
        self.epoch = time.time_ns()
        self.batch_max, self.flush_s = batch_max, flush_ms / 1000.0
        self.max_in_flight, self.queue_max = max_in_flight, queue_max
        self.max_wait_s = max_wait_ms / 1000.0
        self._shed = SHED_AFTER
        self.offered = 0  # events offered (each once), admitted or not
        self._buffers: dict[str, HostBuffer] = {}
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
            self.offered += 1
            self._counts[kind] = self._counts.get(kind, 0) + 1
            why = refused(event, line)
            if why is not None:
                self._drop(kind, why)
                return False
            event, line = repaired(event, line)
        try:
            host = self.route(event.guild_id)
        except Exception:
            self._drop(kind, "unroutable")
            return False
        buf = self._buffers.get(host)
        if buf is None:
            buf = self._buffers[host] = HostBuffer(parked=host.startswith(PARKED))
        now = self._wall()
        mention = kind == "message" and event.mentions_bot  # type: ignore[union-attr]
        buf.arrived += 1
        if buf.overloaded and buf.queued_at and not (mention or counted or buf.parked):
            share = self._shed[kind]  # (counted: admitted before)
            if (
                len(buf.events) >= share * buf.limit
                or now - buf.queued_at[0] > share * self.max_wait_s
            ):
                self._drop(kind, "overload")  # its host is behind: low-value events wait outside
                return False
        if self.queued >= self.queue_max and not self._make_room("mention" if mention else kind):
            self._drop(kind, "overload")
            return False
        buf.events.append(event)
        buf.at.append(now if arrived is None else arrived)
        buf.queued_at.append(now)
        if kind == "presence":
            buf.presence += 1
        if line is not None:
            buf.lines.append(line)
        self.queued += 1
        return True

    def _make_room(self, kind: str) -> bool:
        """Past `queue_max`: evict buffered events of lower value (`EVICTS`) for one of `kind`,
        from the fullest buffer, oldest first; False when there are none to evict.

        Evicts up to 1/16 of `queue_max` at once (the scan is paid once for many admissions)."""
        evicts = EVICTS.get(kind)
        if not evicts or not self._buffers:
            return False
        want = max(1, self.queue_max // 16)
        for victim in evicts:
            if victim == "presence":
                fullest = max(self._buffers.values(), key=lambda b: b.presence)
                if not fullest.presence:
                    continue
            else:
                fullest = max(self._buffers.values(), key=lambda b: len(b.events) - b.presence)
            shed = evict(fullest, victim, want)
            if shed:
                self.queued -= shed
                self._drop(victim, "overload", shed)
                return True
        return False

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
            if buf.parked:
                continue
            events = buf.events
            if now - buf.window >= MEASURE_S:
                measure(buf, now, batch_max=self.batch_max, max_wait_s=self.max_wait_s)
            if not events or not (
                all_now or len(events) >= self.batch_max or now - buf.at[0] >= self.flush_s
            ):
                if self._room(buf):
                    buf.saturated = False  # the host could have taken more than there was
                continue
            cut = 0
            while cut < len(events) and self._room(buf):
                if len(events) - cut < self.batch_max and not (all_now or cut == 0):
                    break  # a partial batch only when it is the buffer's first or all must go
                chunk = events[cut : cut + self.batch_max]
                sent_at = min(buf.at[cut : cut + len(chunk)])  # its oldest event's arrival
                cut += len(chunk)
                lines = self._lines_for(buf, chunk)
                seq = buf.next_seq
                buf.next_seq += 1
                if not buf.in_flight:
                    buf.progress = time.monotonic()
                buf.in_flight[seq] = len(chunk)
                buf.in_flight_events += len(chunk)
                if buf.presence:
                    buf.presence -= sum(type(e) is PresenceEvent for e in chunk)
                out.append(
                    (
                        host,
                        Batch(
                            self.name, seq, min(buf.in_flight), sent_at, chunk, lines, self.epoch
                        ),
                    )
                )
                self.metrics.batch_sent(len(chunk))
            if self._room(buf):
                buf.saturated = False
            if cut:
                buf.gone += cut
                buf.events = events[cut:]  # what stays keeps its arrival time: it goes out next
                del buf.at[:cut]
                del buf.queued_at[:cut]
                self.queued -= cut
        return out

    @staticmethod
    def _lines_for(buf: HostBuffer, chunk: list[Event]) -> list[Line]:
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
        return min(buf.at) if buf and buf.at else None

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

    def marks(self) -> dict[str, int] | None:
        """A barrier over what was offered so far: host → how many of its events must have left
        its buffer (`cut_past`) for all of them to be in batches; None while events wait parked
        (for a placement or a partition move), which no barrier covers."""
        if any(b.parked and b.events for b in self._buffers.values()):
            return None
        return {
            host: b.gone + len(b.events)
            for host, b in self._buffers.items()
            if b.events or b.in_flight
        }

    def cut_past(self, host: str, mark: int) -> bool:
        """Whether `mark` (from `marks()`) events of `host` have left its buffer."""
        buf = self._buffers.get(host)
        return buf is None or buf.gone >= mark

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
            n = buf.in_flight.pop(seq)
            buf.done_events += n
            buf.in_flight_events -= n
            buf.progress = time.monotonic()
            self.metrics.batch_done()

    def _room(self, buf: HostBuffer) -> bool:
        """Whether another batch may go to `buf`'s host (fewer than `max_in_flight` out).

        Never capped by the measured capacity: the host's throughput is what is in flight over
        its round trip, so a cap drawn from a measure of it would shrink with every slow round
        trip (a feedback seen at 1M guilds: 376 events/s applied, the rest shed)."""
        return len(buf.in_flight) < self.max_in_flight

    def capacity(self) -> dict[str, float]:
        """Each host's measured capacity (events/s; 0 before the first measure)."""
        return {host: b.rate for host, b in self._buffers.items() if not b.parked}

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


__all__ = ["MEASURE_S", "PARKED", "SHED_AFTER", "GatewayCore"]
