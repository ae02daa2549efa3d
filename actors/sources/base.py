"""Where a gateway's events come from and where the bot's messages go.

A source runs inside its gateway's process: `run(offer)` feeds events to the gateway (never
blocking on it) until cancelled, and `send(message)` delivers one message of the bot's, returning
None when it went out or a failure reason (one of `metrics.labels.SEND_FAILURE_REASONS`). The
sources: `actors.sources.discord` (Discord, and the loopback emulator) and
`actors.sources.synthetic`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import msgspec

from actions import OutgoingMessage
from actors.routing.wire import Line
from engine import Event

Offer = Callable[[Event, Line | None], bool]


class Source(Protocol):
    """Feeds a gateway, and carries the bot's messages back out."""

    async def run(self, offer: Offer) -> None: ...

    async def send(self, message: OutgoingMessage) -> str | None: ...

    def stats(self) -> dict[str, float]: ...


class Sent(msgspec.Struct, frozen=True, array_like=True):
    """A message the bot sent, and when (runtime-clock time)."""

    at: float
    message: OutgoingMessage


class Said(msgspec.Struct, frozen=True, array_like=True):
    """A message the bot sent or tried to (runtime-clock time), why, and the failure if any."""

    at: float
    message: OutgoingMessage
    reason: str = ""  # the decision's reason ("" when unknown)
    failure: str | None = None  # None: it went out
