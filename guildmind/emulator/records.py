"""What the emulator observed: the bot's messages, counters, and a way to wait for either.

Tests read these to assert on what the bot did; nothing here talks to the network.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Callable
from typing import Any

import msgspec

RECHECK_S = 0.05
"""How often `Recorder.wait_until` looks again with nothing recorded meanwhile (seconds)."""


class Attachment(msgspec.Struct, frozen=True):
    """A file the bot uploaded with a message: its name and size (the bytes are not kept)."""

    filename: str
    size: int


class SentMessage(msgspec.Struct, frozen=True):
    """A message the bot sent through ``POST /channels/{id}/messages``.

    ``at`` is the emulated clock in epoch seconds; ``message_reference`` is the reply
    reference as the bot sent it (``None`` for a plain message); ``attachments`` the files
    uploaded with it.
    """

    guild_id: int
    channel_id: int
    message_id: int
    content: str
    at: float
    message_reference: dict[str, Any] | None = None
    attachments: tuple[Attachment, ...] = ()


class Counters(msgspec.Struct):
    """Counts of what crossed the emulator, keyed by bounded names.

    ``events``: dispatches sent to clients by event name; ``rest``: REST calls by route
    template (``"POST /channels/{id}/messages"``) and status; ``ops``: gateway opcodes
    received from clients by name (``"IDENTIFY"``, ``"RESUME"``, ``"HEARTBEAT"``, ...).
    """

    events: Counter[str] = msgspec.field(default_factory=Counter)
    rest: Counter[str] = msgspec.field(default_factory=Counter)
    ops: Counter[str] = msgspec.field(default_factory=Counter)


class Recorder:
    """Holds ``sent``, ``counters``, received presence/interaction records, and wakes waiters."""

    def __init__(self) -> None:
        self.sent: list[SentMessage] = []
        self.counters = Counters()
        self.interaction_responses: list[dict[str, Any]] = []
        self.client_presences: list[dict[str, Any]] = []
        self._changed = asyncio.Event()

    def notify(self) -> None:
        """Wake every waiter so it re-checks its condition."""
        self._changed.set()

    def add_sent(self, message: SentMessage) -> None:
        self.sent.append(message)
        self.notify()

    async def wait_until(self, predicate: Callable[[], bool], timeout: float) -> None:
        """Wait until ``predicate()`` is true; re-checked after every recorded change, and at
        least every `RECHECK_S` seconds: a predicate may read what the emulator never records
        (what the bot's process holds), and waiting only for changes would then miss it.

        Raises
        ------
        TimeoutError
            When the condition is still false after ``timeout`` seconds.
        """
        async with asyncio.timeout(timeout):
            while not predicate():
                self._changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), RECHECK_S)

    async def wait_sent(self, n: int, timeout: float = 5.0) -> SentMessage:
        """Wait until the bot has sent at least ``n`` messages and return the ``n``-th (1-based)."""
        if n < 1:
            raise ValueError(f"wait_sent counts from 1, got n={n!r}.")
        try:
            await self.wait_until(lambda: len(self.sent) >= n, timeout)
        except TimeoutError:
            raise TimeoutError(
                f"The bot sent {len(self.sent)} message(s) within {timeout}s; waited for {n}."
            ) from None
        return self.sent[n - 1]
