"""`SharedLimits`: the bot's Discord limits in one Ray actor, for all of its gateways.

A thin shell over `actors.sources.discord.limits.DiscordLimits` (IDENTIFY one per bucket per
5 s, 50 REST requests a second, the invalid-request budget): each gateway's discord.py client
waits here before an IDENTIFY and before each REST request (`RemoteLimits` is the client side).
Made by the `Runtime` on the driver's node, named `<prefix>limits`; Ray restarts it (its pacing
starts afresh, which errs by at most one IDENTIFY per bucket and one second of requests).
"""

from __future__ import annotations

import ray

from actors.sources.discord.limits import InvalidRequestBudget, limits_for
from config import DiscordSourceConfig


@ray.remote(num_cpus=0, max_restarts=-1)
class SharedLimits:
    """One bot's limits (real seconds; `speed` shrinks the windows like the runtime clock)."""

    def __init__(self, config: DiscordSourceConfig, speed: float = 1.0) -> None:
        self.limits = limits_for(config, speed)

    async def identify(self, bucket: int) -> float:
        """Wait for `bucket`'s IDENTIFY turn; the seconds waited."""
        return await self.limits.identify(bucket)

    async def rest(self) -> float | None:
        """Wait for a REST request's turn; the seconds waited, None when the invalid-request
        budget is spent (the request must not be made)."""
        try:
            return await self.limits.rest()
        except InvalidRequestBudget:
            return None

    async def invalid(self, n: int = 1) -> None:
        await self.limits.invalid(n)

    async def stats(self) -> dict[str, float]:
        return self.limits.stats()


class RemoteLimits:
    """A gateway's side of `SharedLimits` (the `Limits` a `DiscordSource` takes)."""

    def __init__(self, handle) -> None:
        self.handle = handle

    async def identify(self, bucket: int) -> float:
        return await self.handle.identify.remote(bucket)

    async def rest(self) -> float:
        waited = await self.handle.rest.remote()
        if waited is None:
            raise InvalidRequestBudget("the bot's invalid-request budget is spent for now")
        return waited

    async def invalid(self, n: int = 1) -> None:
        await self.handle.invalid.remote(n)


__all__ = ["RemoteLimits", "SharedLimits"]
