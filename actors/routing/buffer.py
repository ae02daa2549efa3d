"""`HostBuffer`: what one gateway holds for one host, and what it knows of that host's pace.

The events waiting to be cut into batches (with their arrival times and transcript lines), the
batches in flight, and the measuring window of the host's capacity. Only the fields: batching
(`actors.routing.batching`) and admission (`actors.routing.admission`) act on them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from actors.routing.wire import Line
from engine import Event

PARKED = "\0"  # a buffer whose name starts so waits for a host (placement, partition move)


@dataclass
class HostBuffer:
    """One host's events and batches, at one gateway (times in seconds)."""

    events: list[Event] = field(default_factory=list)
    at: list[float] = field(default_factory=list)  # wall time each of `events` arrived
    queued_at: list[float] = field(default_factory=list)  # … and was filed here (admission)
    parked: bool = False  # waits for a host by design (a placement, a partition move)
    lines: list[Line] = field(default_factory=list)
    presence: int = 0  # how many of `events` are presence updates (what sheds first)
    next_seq: int = 0
    in_flight: dict[int, int] = field(default_factory=dict)  # seq → its events
    in_flight_events: int = 0
    # the host's measured capacity (events/s) and what that lets wait here (see `measure`)
    rate: float = 0.0
    limit: float = float("inf")
    window: float = 0.0  # wall time the measuring window started
    done_events: int = 0  # answered in the window
    saturated: bool = True  # … and the host had work waiting all through it
    arrived: int = 0  # events offered for it in the window
    overloaded: bool = False  # offered faster than its capacity over the last window
    progress: float = 0.0  # monotonic time a batch was last answered (or the first went out)
    gone: int = 0  # events that left `events` so far (cut into batches, or shed)
