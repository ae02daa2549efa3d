"""Discord's per-bot limits shared by several gateways: IDENTIFY buckets and the global REST limit.

The emulator enforces both (INVALID_SESSION for an IDENTIFY too soon in its bucket, 429 past the
global limit) and counts each breach. Two discord.py clients stand for two gateway processes of
one bot: with one `DiscordLimits` between them no breach happens; each with its own limits (what
discord.py does per process) — the positive control — the emulator sees breaches.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import AsyncIterator

import msgspec
import pytest
from discord_testkit import Collected, config

from actions import OutgoingMessage
from actors.clock import ManualClock
from actors.routing.shards import shard_of
from actors.sources.discord.endpoints import reset_discord_endpoints
from actors.sources.discord.limits import DiscordLimits, InvalidRequestBudget, limits_for
from actors.sources.discord.source import DiscordSource, make_discord_source
from config import DiscordSourceConfig
from guildmind.emulator import Emulator, GuildSpec
from guildmind.emulator.wiring import EMULATOR_TOKEN
from tests.fixtures.polling import wait_until_async

SPECS = [GuildSpec(f"G{i}", users=2, chatter="dead") for i in range(8)]


# DiscordLimits alone ---------------------------------------------------------------------------
async def test_identify_waits_its_buckets_turn_and_buckets_do_not_wait_for_each_other() -> None:
    limits = DiscordLimits(identify_every_s=0.3)
    t0 = time.monotonic()
    assert await limits.identify(0) == pytest.approx(0, abs=0.05)
    assert await limits.identify(1) == pytest.approx(0, abs=0.05)  # another bucket: at once
    await limits.identify(0)
    assert time.monotonic() - t0 >= 0.3  # the same bucket: a window later
    waits = await asyncio.gather(*(limits.identify(5) for _ in range(3)))
    assert sorted(waits)[-1] >= 0.6 - 0.01  # three at once: the last two windows later


async def test_rest_is_evenly_spaced_never_a_burst() -> None:
    limits = DiscordLimits(rest_per_s=40)
    t0 = time.monotonic()
    await asyncio.gather(*(limits.rest() for _ in range(11)))
    assert time.monotonic() - t0 >= 10 / 40 - 0.01  # 11 requests: 10 gaps of 25 ms


async def test_rest_is_refused_once_the_invalid_budget_is_spent_and_resumes_after() -> None:
    limits = DiscordLimits(invalid_max=3, invalid_window_s=0.3)
    await limits.invalid(2)
    await limits.rest()  # 2 < 3: still allowed
    await limits.invalid()
    with pytest.raises(InvalidRequestBudget, match="3 invalid REST requests in the last 0 s"):
        await limits.rest()
    await asyncio.sleep(0.35)
    await limits.rest()
    assert limits.stats()["refused"] == 1


def test_limits_refuse_nonsense_and_follow_the_clocks_speed() -> None:
    with pytest.raises(ValueError, match="rest_per_s > 0"):
        DiscordLimits(rest_per_s=0)
    fast = limits_for(DiscordSourceConfig(identify_every_s=5.0, rest_per_s=40), speed=10)
    assert (fast.identify_every_s, fast.rest_per_s) == (0.5, 400)


# two clients of one bot against the emulator ---------------------------------------------------
@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    emulator = Emulator(
        SPECS, seed=4, bot_token=EMULATOR_TOKEN, shards=4, max_concurrency=1,
        identify_window=0.6, global_limit=(10, 1.0),
    )  # fmt: skip
    async with emulator:
        try:
            yield emulator
        finally:
            reset_discord_endpoints()


def source(emu: Emulator, shards: tuple[int, ...], limits, extra: str = "") -> DiscordSource:
    cfg = config(emu, extra="identify_every_s = 0.8\n" + extra)
    d = msgspec.structs.replace(cfg.source.discord, shard_ids=shards, shard_count=4)
    cfg = msgspec.structs.replace(cfg, source=msgspec.structs.replace(cfg.source, discord=d))
    return make_discord_source(cfg, ManualClock(1_900_000_000.0), limits)


@contextlib.asynccontextmanager
async def both(*sources: DiscordSource) -> AsyncIterator[None]:
    tasks = [asyncio.create_task(s.run(Collected())) for s in sources]
    try:
        yield
    finally:
        for s in sources:
            await s.close()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def all_ready(*sources: DiscordSource) -> bool:
    return all(s.status()["ready"] for s in sources)


async def test_two_gateways_sharing_the_limits_identify_one_bucket_at_a_time(emu) -> None:
    shared = DiscordLimits(identify_every_s=0.8)
    a, b = source(emu, (0, 1), shared), source(emu, (2, 3), shared)
    async with both(a, b):
        await wait_until_async(lambda: all_ready(a, b), what="both clients ready", timeout_s=20)
        assert emu.limits.breaches["identify"] == 0
        times = [t for t, _ in emu.limits.identifies]
        assert sorted(s for _, s in emu.limits.identifies) == [0, 1, 2, 3]  # once each
        assert all(y - x >= 0.6 for x, y in itertools.pairwise(times))
        assert shared.stats()["identify"] == 4


async def test_positive_control_each_with_its_own_limits_breaches_the_bucket(emu) -> None:
    a = source(emu, (0, 1), DiscordLimits(identify_every_s=0.8))
    b = source(emu, (2, 3), DiscordLimits(identify_every_s=0.8))
    async with both(a, b):
        await wait_until_async(lambda: emu.limits.breaches["identify"] > 0, timeout_s=10,
                               what="an IDENTIFY refused by the emulator")  # fmt: skip


async def sends(emu: Emulator, a: DiscordSource, b: DiscordSource, n: int) -> list:
    """`n` messages from each client at once, each in a guild of its shards."""

    def note(src: DiscordSource) -> list[OutgoingMessage]:
        mine = set(src.config.shard_ids)
        guilds = [g for g in emu.guilds if shard_of(g.id, 4) in mine]
        return [
            OutgoingMessage(
                guild_id=g.id, channel_id=g.system_channel_id, text=f"hi {i}", action="test"
            )
            for i, g in zip(range(n), guilds * n, strict=False)
        ]

    return await asyncio.gather(*(s.send(m) for s in (a, b) for m in note(s)))


async def test_two_gateways_sharing_the_limits_stay_under_the_global_rest_limit(emu) -> None:
    emu.rest.limits.limit = 1000  # the per-channel limit out of the way: the global one counts
    shared = DiscordLimits(identify_every_s=0.8, rest_per_s=8)
    a, b = source(emu, (0, 1), shared), source(emu, (2, 3), shared)
    async with both(a, b):
        await wait_until_async(lambda: all_ready(a, b), what="both clients ready", timeout_s=20)
        assert await sends(emu, a, b, 8) == [None] * 16
        assert emu.limits.breaches["global"] == 0
        assert len(emu.sent) == 16


async def test_positive_control_each_at_the_limit_alone_earns_global_429s(emu) -> None:
    emu.rest.limits.limit = 1000
    a = source(emu, (0, 1), DiscordLimits(identify_every_s=0.8, rest_per_s=9))
    b = source(emu, (2, 3), DiscordLimits(identify_every_s=0.8, rest_per_s=9))
    async with both(a, b):
        await wait_until_async(lambda: all_ready(a, b), what="both clients ready", timeout_s=20)
        await sends(emu, a, b, 8)  # each under 10/s alone, together over it
        assert emu.limits.breaches["global"] > 0
