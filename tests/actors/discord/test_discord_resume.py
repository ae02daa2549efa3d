"""Cold resume without Ray: the real discord.py client, the emulator and a real state store.

A source stores its shard's session; a second source (a restarted gateway) with the same store
RESUMEs it: the emulator replays what was sent while none was connected, no IDENTIFY is spent.
A session the emulator refuses (expired) or one too old to try falls back to an IDENTIFY,
counted; with `cold_resume = false` every start identifies (the control).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest
from discord_testkit import SPECS, Collected, config

from actions import OutgoingMessage
from actors.clock import ManualClock
from actors.loop.replays import ReplayWindow
from actors.sources.discord.endpoints import reset_discord_endpoints
from actors.sources.discord.resume import ShardSession, decode_session
from actors.sources.discord.source import DiscordSource, make_discord_source
from actors.stores.base import StateStore, open_store
from engine import MessageEvent
from guildmind.emulator import Emulator
from guildmind.emulator.wiring import EMULATOR_TOKEN
from metrics import GuildmindMetrics, new_registry
from tests.fixtures.polling import wait_until_async

AT = 1_900_000_000.0


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    # identify_window=0: a source here identifies again at once (its IDENTIFY pacing has its
    # own tests, test_discord_limits.py)
    emulator = Emulator(SPECS, seed=5, bot_token=EMULATOR_TOKEN, identify_window=0)
    async with emulator:
        try:
            yield emulator
        finally:
            reset_discord_endpoints()


@pytest.fixture
def store(tmp_path: Path) -> StateStore:
    s = open_store("sqlite:", data_dir=tmp_path)
    yield s
    s.close()


class Settled:
    """The gateway's barrier for a `Collected` offer: what it took is already "applied"."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self) -> bool:
        self.calls += 1
        return True


def source_for(emu: Emulator, store: StateStore, **discord) -> DiscordSource:
    cfg = config(emu)
    d = msgspec.structs.replace(cfg.source.discord, session_save_s=0.1, **discord)
    cfg = msgspec.structs.replace(cfg, source=msgspec.structs.replace(cfg.source, discord=d))
    source = make_discord_source(cfg, ManualClock(AT))
    source.attach(None, GuildmindMetrics(new_registry(process_metrics=False)))  # type: ignore[arg-type]
    source.keep_sessions(store.load_sessions, store.save_sessions, Settled())
    return source


@contextlib.asynccontextmanager
async def running(source: DiscordSource, offer: Collected) -> AsyncIterator[None]:
    task = asyncio.create_task(source.run(offer))

    def ready() -> bool:
        assert not task.done(), f"the source stopped before it was ready: {source.error}"
        return source.status()["ready"]

    try:
        await wait_until_async(ready, what="the source to be ready", timeout_s=15, interval_s=0.02)
        yield
    finally:
        task.cancel()  # as the gateway stops it: the task ends, then close()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        await source.close()


async def talk(emu: Emulator, n: int, start: int = 0, mention_last: bool = False) -> list[int]:
    guild = emu.guilds[0]
    ids = []
    for i in range(start, start + n):
        ids.append(
            await emu.post_message(
                guild.id, guild.system_channel_id, guild.human_ids[i % 3], f"line {i}",
                mention_bot=mention_last and i == start + n - 1,
            )
        )  # fmt: skip
    return ids


def sessions_metric(source: DiscordSource, outcome: str) -> float:
    value = source.metrics.registry.get_sample_value(
        "guildmind_gateway_sessions_total", {"outcome": outcome}
    )
    return value or 0.0


def stored(store: StateStore) -> ShardSession:
    record = decode_session(store.load_sessions([0])[0])
    assert record is not None
    return record


def offered_ids(got: Collected) -> list[int]:
    """The ids of the messages offered, in order (from their transcript lines)."""
    return [line.message_id for e, line in got.items if type(e) is MessageEvent]


async def test_a_restarted_source_resumes_and_gets_what_was_sent_meanwhile_once(emu, store) -> None:
    first, got = source_for(emu, store), Collected()
    async with running(first, got):
        before = await talk(emu, 5)
        await got.wait(lambda: len(got.of(MessageEvent)) == 5)
        await wait_until_async(lambda: store.load_sessions([0]), what="a stored session")
    record = stored(store)  # written on the stop at the latest: the sequence of all five
    assert record.shard_id == 0 and record.shard_count == 1 and record.bot_id == emu.world.bot.id
    assert record.resume_url.startswith("ws://127.0.0.1")
    identifies = emu.counters.ops["IDENTIFY"]
    assert emu.counters.ops["RESUME"] == 0

    during = await talk(emu, 7, start=5, mention_last=True)  # nobody connected: Discord keeps it
    second, again = source_for(emu, store), Collected()
    async with running(second, again):
        await again.wait(lambda: len(again.of(MessageEvent)) >= 7, what="the replay")
        after = await talk(emu, 2, start=12)
        await again.wait(lambda: len(again.of(MessageEvent)) >= 9)
        assert emu.counters.ops["IDENTIFY"] == identifies  # no identify spent
        assert emu.counters.ops["RESUME"] == 1
        assert offered_ids(again) == during + after  # each once, in order; none of before
        # the replayed carry their ids (the hosts skip one applied before); live ones need not
        assert [e.message_id for e in again.of(MessageEvent)] == [*during, 0, 0]
        assert not set(before) & set(offered_ids(again))
        mention = again.of(MessageEvent)[6]
        assert mention.mentions_bot and mention.guild_id == emu.guilds[0].id
        stats = second.stats()
        assert stats["sessions_resumed"] == 1 and "sessions_refused" not in stats
        assert sessions_metric(second, "resumed") == 1 and sessions_metric(second, "refused") == 0
        # the bot speaks, though discord.py never got the guild (sending needs ids only)
        guild = emu.guilds[0]
        out = OutgoingMessage(guild_id=guild.id, channel_id=guild.system_channel_id,
                              text="back!", action="reply")  # fmt: skip
        assert await second.send(out) is None
        assert emu.sent[-1].content == "back!"
    assert stored(store).session_id == record.session_id  # the same session, further on
    assert stored(store).sequence > record.sequence


async def test_a_refused_resume_identifies_and_is_counted(emu, store) -> None:
    first, got = source_for(emu, store), Collected()
    async with running(first, got):
        await talk(emu, 2)
        await got.wait(lambda: len(got.of(MessageEvent)) == 2)
    old = stored(store)
    assert emu.expire_sessions() == 1  # Discord forgot it (too long away)
    lost = await talk(emu, 3, start=2)
    identifies = emu.counters.ops["IDENTIFY"]
    second, again = source_for(emu, store), Collected()
    async with running(second, again):
        assert emu.counters.ops["RESUME"] == 1  # it tried…
        assert emu.counters.ops["IDENTIFY"] == identifies + 1  # …and identified
        assert second.stats()["sessions_refused"] == 1 and sessions_metric(second, "refused") == 1
        assert second.stats()["guilds"] == len(SPECS)  # a fresh READY: the guilds are back
        now = await talk(emu, 1, start=5)
        await again.wait(lambda: offered_ids(again) == now)
        assert not set(lost) & set(offered_ids(again))  # what Discord dropped is gone
        await wait_until_async(
            lambda: stored(store).session_id != old.session_id, what="the new session stored"
        )


async def test_a_session_too_old_is_not_tried(emu, store) -> None:
    first, got = source_for(emu, store), Collected()
    async with running(first, got):
        await talk(emu, 1)
        await got.wait(lambda: len(got.of(MessageEvent)) == 1)
    old = msgspec.structs.replace(stored(store), saved_at=stored(store).saved_at - 3600)
    store.save_sessions({0: msgspec.msgpack.encode(old)})
    second = source_for(emu, store, session_max_age_s=600.0)
    async with running(second, Collected()):
        assert emu.counters.ops["RESUME"] == 0 and emu.counters.ops["IDENTIFY"] == 2
        assert second.stats()["sessions_expired"] == 1 and sessions_metric(second, "expired") == 1


async def test_without_cold_resume_a_restart_identifies_and_misses_what_was_sent(
    emu, store
) -> None:
    """The control: the same restart as above, with `cold_resume = false`."""
    first, got = source_for(emu, store, cold_resume=False), Collected()
    async with running(first, got):
        await talk(emu, 2)
        await got.wait(lambda: len(got.of(MessageEvent)) == 2)
    assert store.load_sessions([0]) == {}  # nothing kept
    lost = await talk(emu, 4, start=2)
    second, again = source_for(emu, store, cold_resume=False), Collected()
    async with running(second, again):
        now = await talk(emu, 1, start=6)
        await again.wait(lambda: offered_ids(again) == now)
        assert emu.counters.ops["RESUME"] == 0 and emu.counters.ops["IDENTIFY"] == 2
        assert not set(lost) & set(offered_ids(again))


async def test_a_record_of_another_bot_or_sharding_or_format_is_not_resumed(emu, store) -> None:
    first, got = source_for(emu, store), Collected()
    async with running(first, got):
        await talk(emu, 1)
        await got.wait(lambda: len(got.of(MessageEvent)) == 1)
    good = stored(store)
    for bad in (
        msgspec.msgpack.encode(msgspec.structs.replace(good, bot_id=good.bot_id + 1)),
        msgspec.msgpack.encode(msgspec.structs.replace(good, shard_count=2)),
        msgspec.msgpack.encode(msgspec.structs.replace(good, version=2)),
        b"\xc1 not msgpack",
    ):
        store.save_sessions({0: bad})
        resumes = emu.counters.ops["RESUME"]
        source = source_for(emu, store)
        async with running(source, Collected()):
            assert emu.counters.ops["RESUME"] == resumes, bad


async def test_a_stored_sequence_that_lags_replays_what_was_delivered_and_hosts_apply_it_once(
    emu, store
) -> None:
    """The stored sequence may lag what the gateway delivered before it died (it is written
    once the hosts applied it): Discord replays those messages again, marked with their ids,
    and a host's window of applied ids (`ReplayWindow`) lets each through once."""
    first, got = source_for(emu, store), Collected()
    async with running(first, got):
        early = await talk(emu, 3)
        await got.wait(lambda: len(got.of(MessageEvent)) == 3)
        await wait_until_async(lambda: store.load_sessions([0]), what="a stored session")
        lagging = store.load_sessions([0])[0]  # as a checkpoint left it
        late = await talk(emu, 4, start=3)  # delivered, but the gateway dies before it saves
        await got.wait(lambda: len(got.of(MessageEvent)) == 7)
    store.save_sessions({0: lagging})  # (it died: the store still holds the lagging one)
    during = await talk(emu, 2, start=7)
    second, again = source_for(emu, store), Collected()
    async with running(second, again):
        await again.wait(lambda: offered_ids(again)[-len(during) :] == during, what="the replay")
        assert emu.counters.ops["IDENTIFY"] == 1 and second.stats()["sessions_resumed"] == 1
    replayed = offered_ids(again)[: -len(during)]  # from the lagging sequence on: again
    assert offered_ids(again)[-len(during) :] == during
    assert len(replayed) >= len(late) and replayed == (early + late)[-len(replayed) :]

    host = ReplayWindow(1_000)  # what the hosts applied: the first gateway's, then the replay
    applied = []
    for items in (got.items, again.items):
        events = [e for e, _ in items if type(e) is MessageEvent]
        lines = [ln for e, ln in items if type(e) is MessageEvent]
        kept, kept_lines = host.admit(events, lines)
        assert len(kept) == len(kept_lines)  # an event goes with its line
        applied += [ln.message_id for ln in kept_lines]
    assert applied == early + late + during  # each once
    assert host.skipped == len(replayed)
