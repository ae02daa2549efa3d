"""Discord's per-bot limits, as the emulator enforces them (so tests can see a client break them).

- IDENTIFY: one per bucket (``shard_id % max_concurrency``) per 5 s; one more is answered with
  INVALID_SESSION (op 9, not resumable) and counted as a breach
  (https://discord.com/developers/docs/events/gateway#rate-limiting);
- the global REST limit: 50 requests per second per bot token, over every route but
  interactions' and webhooks'; one more is answered 429 with ``X-RateLimit-Global: true``,
  ``X-RateLimit-Scope: global`` and ``"global": true`` in the body
  (https://discord.com/developers/docs/topics/rate-limits#global-rate-limit);
- invalid requests (401, 403, and 429 but "shared"-scope ones): past 10,000 in 10 minutes the
  client is banned, as Cloudflare does: 429 without a ``Via`` header
  (https://discord.com/developers/docs/topics/rate-limits#invalid-request-limit-aka-cloudflare-bans).

Windows are in emulated seconds (divided by the emulator's speed) and sliding: at most ``n``
in any window, wherever it starts. ``breaches`` counts each refusal by kind.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable


class EmulatedLimits:
    """The emulator's bookkeeping of one bot's IDENTIFYs, REST requests and invalid requests."""

    def __init__(
        self,
        speed: Callable[[], float],
        *,
        max_concurrency: int = 1,
        identify_window: float = 5.0,
        global_limit: tuple[int, float] = (50, 1.0),
        invalid_limit: tuple[int, float] = (10_000, 600.0),
    ) -> None:
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be >= 1, got {max_concurrency!r}.")
        self.speed, self.max_concurrency = speed, max_concurrency
        self.identify_window = identify_window
        self.global_limit, self.invalid_limit = global_limit, invalid_limit
        self.breaches: Counter[str] = Counter()  # "identify", "global", "banned"
        self.identifies: list[tuple[float, int]] = []  # (monotonic time, shard) of each allowed
        self._last_identify: dict[int, float] = {}  # bucket → when its last IDENTIFY was let in
        self._requests: deque[float] = deque()
        self._invalid: deque[float] = deque()

    def _real(self, emulated_s: float) -> float:
        return emulated_s / max(self.speed(), 1e-9)

    def identify(self, shard_id: int) -> bool:
        """An IDENTIFY of `shard_id`: True when its bucket allows it now (then recorded)."""
        now, bucket = time.monotonic(), shard_id % self.max_concurrency
        last = self._last_identify.get(bucket)
        if last is not None and now - last < self._real(self.identify_window):
            self.breaches["identify"] += 1
            return False
        self._last_identify[bucket] = now
        self.identifies.append((now, shard_id))
        return True

    def request(self) -> float | None:
        """A REST request under the global limit: None when allowed (then recorded), else the
        seconds to wait (the 429's ``retry_after``)."""
        limit, window = self.global_limit[0], self._real(self.global_limit[1])
        now, times = time.monotonic(), self._requests
        while times and times[0] <= now - window:
            times.popleft()
        if len(times) >= limit:
            self.breaches["global"] += 1
            return max(times[0] + window - now, 0.001)
        times.append(now)
        return None

    def banned(self) -> bool:
        """Whether invalid requests are past the limit now (every request is refused)."""
        limit, window = self.invalid_limit[0], self._real(self.invalid_limit[1])
        now, times = time.monotonic(), self._invalid
        while times and times[0] <= now - window:
            times.popleft()
        if len(times) >= limit:
            self.breaches["banned"] += 1
            return True
        return False

    def responded(self, status: int, scope: str | None) -> None:
        """Count an invalid response (401, 403, 429 not of the "shared" scope)."""
        if status in (401, 403) or (status == 429 and scope != "shared"):
            self._invalid.append(time.monotonic())


__all__ = ["EmulatedLimits"]
