"""Discord's per-bot limits, kept in one place for every gateway of the bot.

discord.py keeps its rate-limit state per process: the IDENTIFY pacing (`before_identify_hook`
sleeps 5 s) and the global REST limit. Several gateway processes of one bot must share them,
or together they identify too fast (Discord answers INVALID_SESSION) and pass 50 requests a
second (a storm of 429s, and past 10,000 invalid requests in 10 minutes a ban). `DiscordLimits`
is that shared state, a plain class (the runtime puts one in a Ray actor, `SharedLimits`; a
source on its own keeps one in its process):

- `identify(bucket)` waits for the bucket's turn: one IDENTIFY per bucket
  (`shard_id % max_concurrency`) per `identify_every_s` (Discord: 5 s);
- `rest()` waits for a REST request's turn: at most `rest_per_s` requests a second, evenly
  spaced (Discord: 50/s per token, https://discord.com/developers/docs/topics/rate-limits), and
  raises `InvalidRequestBudget` while the invalid requests recorded by `invalid()` are past
  `invalid_max` in `invalid_window_s` (Discord: 10,000 per 10 minutes).

The pacing is aiolimiter's leaky bucket of capacity 1 (never a burst: a burst of 50 followed by
50/s would put up to 100 requests in one second). The invalid requests are counted in a sliding
window of their times instead: Discord counts them per window, and a leaky bucket bounds only
the long-run rate (up to twice its capacity can fall in one window). Times are real seconds.
"""

from __future__ import annotations

import collections
import time
from typing import Protocol

import aiohttp
from aiolimiter import AsyncLimiter

from config import DiscordSourceConfig


class InvalidRequestBudget(Exception):
    """Too many invalid requests lately: REST calls are refused until they are out of the window."""


class Limits(Protocol):
    """What a source needs of the limits: `DiscordLimits`, or the runtime's shared actor's
    client (`actors.remote.limits.RemoteLimits`)."""

    async def identify(self, bucket: int) -> float: ...
    async def rest(self) -> float: ...
    async def invalid(self, n: int = 1) -> None: ...


class DiscordLimits:
    """Shared IDENTIFY and REST pacing for one bot (see the module's docstring)."""

    def __init__(
        self,
        identify_every_s: float = 5.5,
        rest_per_s: float = 45.0,
        invalid_max: int = 9_000,
        invalid_window_s: float = 600.0,
    ) -> None:
        if identify_every_s < 0 or rest_per_s <= 0 or invalid_max < 1 or invalid_window_s <= 0:
            raise ValueError(
                "DiscordLimits: identify_every_s >= 0, rest_per_s > 0, invalid_max >= 1 and "
                f"invalid_window_s > 0, got {identify_every_s!r}, {rest_per_s!r}, "
                f"{invalid_max!r}, {invalid_window_s!r}"
            )
        self.identify_every_s, self.rest_per_s = identify_every_s, rest_per_s
        self._identify: dict[int, AsyncLimiter] = {}
        self._rest = AsyncLimiter(1, 1.0 / rest_per_s)
        self.invalid_max, self.invalid_window_s = invalid_max, invalid_window_s
        self._invalid: collections.deque[float] = collections.deque()  # their times (monotonic)
        self.counts = {"identify": 0, "identify_waited_s": 0.0, "rest": 0, "invalid": 0,
                       "refused": 0}  # fmt: skip

    async def identify(self, bucket: int) -> float:
        """Wait for `bucket`'s turn to IDENTIFY; the seconds waited."""
        limiter = self._identify.get(bucket)
        if limiter is None:
            limiter = self._identify[bucket] = AsyncLimiter(1, self.identify_every_s or 1e-9)
        t0 = time.monotonic()
        if self.identify_every_s:
            await limiter.acquire()
        waited = time.monotonic() - t0
        self.counts["identify"] += 1
        self.counts["identify_waited_s"] += waited
        return waited

    async def rest(self) -> float:
        """Wait for a REST request's turn; the seconds waited. Raises `InvalidRequestBudget`
        while too many invalid requests were recorded lately (the request must not be made)."""
        if self.invalid_recent() >= self.invalid_max:
            self.counts["refused"] += 1
            raise InvalidRequestBudget(
                f"{self.invalid_max} invalid REST requests in the last {self.invalid_window_s:.0f}"
                " s; REST calls are refused until the oldest of them is out of that window"
            )
        t0 = time.monotonic()
        await self._rest.acquire()
        self.counts["rest"] += 1
        return time.monotonic() - t0

    async def invalid(self, n: int = 1) -> None:
        """Record `n` invalid responses (401, 403, or a 429 not of the "shared" scope)."""
        now = time.monotonic()
        self._invalid.extend([now] * n)
        self.invalid_recent()
        self.counts["invalid"] += n

    def invalid_recent(self) -> int:
        """Invalid responses recorded in the last `invalid_window_s` (older ones forgotten)."""
        horizon, times = time.monotonic() - self.invalid_window_s, self._invalid
        while times and times[0] <= horizon:
            times.popleft()
        return len(times)

    def stats(self) -> dict[str, float]:
        return dict(self.counts)


def limits_for(config: DiscordSourceConfig, speed: float = 1.0) -> DiscordLimits:
    """`config`'s limits at a clock running `speed` times real time (tests and demos run the
    emulator and the runtime faster: its windows shrink alike); real seconds."""
    return DiscordLimits(
        config.identify_every_s / speed, config.rest_per_s * speed, config.invalid_max,
        config.invalid_window_s / speed,
    )  # fmt: skip


def rest_gate(limits: Limits) -> aiohttp.TraceConfig:
    """An aiohttp trace (discord.py's `http_trace`) through which every REST request of the
    client waits for `limits.rest()` before it goes (discord.py's own retries after a 429 too),
    and every invalid response is recorded with `limits.invalid()`. An `InvalidRequestBudget`
    raised before a request stops it (discord.py passes it on to the caller)."""

    async def start(session, context, params: aiohttp.TraceRequestStartParams) -> None:
        if rest_counted(params.url.path):
            await limits.rest()

    async def end(session, context, params: aiohttp.TraceRequestEndParams) -> None:
        response = params.response
        scope = response.headers.get("X-RateLimit-Scope")
        if rest_counted(params.url.path) and invalid_response(response.status, scope):
            await limits.invalid()

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(start)
    trace.on_request_end.append(end)
    return trace


def invalid_response(status: int, scope: str | None) -> bool:
    """Whether a REST response counts toward Discord's invalid-request limit (401, 403, and
    429 unless its `X-RateLimit-Scope` is "shared")."""
    return status in (401, 403) or (status == 429 and scope != "shared")


def rest_counted(path: str) -> bool:
    """Whether a request to `path` counts toward the global REST limit: the REST API's routes,
    but not interactions' callbacks and webhooks (Discord: "Interaction endpoints are not
    bound to the bot's Global Rate Limit"), nor the gateway's websocket."""
    return "/api/" in path and "/interactions/" not in path and "/webhooks/" not in path


__all__ = [
    "DiscordLimits", "InvalidRequestBudget", "Limits", "invalid_response", "limits_for",
    "rest_counted", "rest_gate",
]  # fmt: skip
