"""What crosses the wire between gateways and guild hosts.

A `Batch` is what a gateway sends one host: engine events (ids, flags and times only) plus, for
the few messages a round may need to read, `Line`s of transcript that the host keeps in memory
for a short while and never persists. Batches are numbered per gateway→host link so the host can
apply them in order and ignore a batch Ray delivers twice.
"""

from __future__ import annotations

import msgspec

from actions import OutgoingMessage
from engine import Event


class Line(msgspec.Struct, frozen=True, gc=False, array_like=True):
    """One message of a guild's recent transcript (in memory only, never stored or logged)."""

    guild_id: int
    channel_id: int
    message_id: int
    author_id: int
    author: str
    content: str
    at: float
    mentions_bot: bool = False


class Batch(msgspec.Struct, frozen=True, array_like=True):
    """Events for one host from one gateway, in arrival order.

    `sent_at` is the gateway's wall time when the oldest event arrived (for event→decision
    latency); `seq` counts batches on the `gateway`→host link from 0 within the gateway's
    `epoch` (nanoseconds since the epoch when that incarnation started), and `floor` is the
    lowest it still has in flight there (see `actors.routing.sequencer`).
    """

    gateway: str
    seq: int
    floor: int  # the lowest seq this gateway still has in flight to this host
    sent_at: float
    events: list[Event]
    lines: list[Line] = []
    epoch: int = 0  # the gateway's incarnation: a restarted gateway numbers from 0 in a new one


class BatchReply(msgspec.Struct, frozen=True, array_like=True):
    """What a host says about a batch: applied events, duplicates and bad events skipped."""

    applied: int
    duplicate: bool = False
    malformed: int = 0


class Outbox(msgspec.Struct, frozen=True, array_like=True):
    """Messages a host's rounds want sent, for the gateway that owns their guilds."""

    messages: list[OutgoingMessage]
    reason: str = ""  # why the bot speaks (the decision's reason), for consoles and logs
