"""The runtime on a real (session-wide) Ray: routing, ordering, placement, restarts, overload."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from pathlib import Path

import msgspec
import pytest
import ray

from actors.loop.assembly import adopter, make_engine
from actors.remote.host import NAMESPACE
from actors.remote.runtime import Runtime
from actors.routing.wire import Batch
from actors.stores.base import open_store
from engine import MessageEvent, PresenceEvent
from guildmind.config import parse_config
from tests.fixtures.polling import wait_until_async

pytestmark = pytest.mark.usefixtures("ray_session")


def config(
    tmp_path: Path, extra: str = "", *, store: str | None = None, guilds: int = 40,
    placement: str = "sharded", speed: float = 60, rate: float = 15,
):  # fmt: skip
    return parse_config(
        f"""
[runtime]
placement = "{placement}"
speed = {speed}
hosts = 2
data_dir = "{tmp_path}"
[state]
url = "{store or "sqlite:"}"
write_behind_s = 0.5
[metrics]
port = 0
[defaults]
quiet_hours = false
[source.synthetic]
guilds = {guilds}
rate = {rate}
seed = 3
"""
        + (extra if "[gateway]" in extra else extra + _NO_SHEDDING),
        env={},
    )


# what these tests check is not admission (the overload test sets its own [gateway]): a core
# starved by the rest of the suite must not make a host look overloaded and shed its events
_NO_SHEDDING = "\n[gateway]\nmax_wait_ms = 600000\n"


async def stats_when(runtime, ok, what: str, timeout_s: float = 30.0) -> dict:
    """The gateway's stats, once `ok(stats)` holds (polled)."""
    return await wait_until_async(runtime.stats, ok=ok, what=what, timeout_s=timeout_s,
                                  interval_s=0.2)  # fmt: skip


@pytest.fixture
def runtime(tmp_path: Path):
    rt = Runtime(config(tmp_path))
    rt.start()
    yield rt
    rt.stop()


async def test_events_flow_through_gateway_and_hosts_and_the_bot_speaks(runtime) -> None:
    stats = await stats_when(runtime, lambda s: s["applied"] > 300 and s["delivered"] > 3,
                             "300 events applied and 4 messages delivered")  # fmt: skip
    assert stats["dropped"] == {} and stats["malformed"] == 0
    infos = [await w.handle.info.remote() for w in runtime.hosts.values()]
    assert all(i["guilds"] > 0 for i in infos)  # guilds spread over both hosts
    assert sum(i["guilds"] for i in infos) <= 40
    sent = await runtime.gateway.sent.remote()
    actions = {s.message.action for s in sent}
    assert actions & {"reply", "join_conversation", "fomo_response", "engage_user"}
    # service discovery lists the driver, the gateway and both hosts
    roles = sorted(t.role for t in runtime.targets.targets())
    assert roles == ["driver", "gateway", "host", "host"]


async def test_each_guilds_events_apply_in_order_even_when_batches_arrive_out_of_order(
    runtime,
) -> None:
    host = next(iter(runtime.hosts.values())).handle
    gid = 4242
    base = runtime.clock.now()
    batches = [
        Batch("probe", seq, 0, time.time(), [MessageEvent(gid, 7, 1, base + seq)])
        for seq in range(6)
    ]
    # scrambled, and one repeat; sent at once, as a gateway does: a batch is answered only once
    # it is applied, so an early one waits for those before it
    order = (3, 1, 0, 5, 2, 4, 2)
    replies = await asyncio.gather(
        *(host.apply.remote(msgspec.msgpack.encode(batches[seq])) for seq in order)
    )
    assert sum(applied for applied, _, _ in replies) == 6
    assert sum(duplicate for _, duplicate, _ in replies) == 1
    guild = await host.guild.remote(gid)
    # all six applied once: the repeat was ignored (messages since the bot spoke could be fewer:
    # the bot may answer one of them, on a clock running 60× under a loaded machine)
    assert guild["signals"]["messages_hour"] == 6


async def test_a_malformed_batch_is_counted_and_the_host_goes_on(runtime) -> None:
    host = next(iter(runtime.hosts.values())).handle
    assert await host.apply.remote(b"\x93\x01garbage") == (0, False, 1)
    nan = Batch("probe2", 0, 0, time.time(), [MessageEvent(99, 7, 1, float("nan"))])
    assert await host.apply.remote(msgspec.msgpack.encode(nan)) == (0, False, 1)
    good = Batch("probe2", 1, 0, time.time(), [MessageEvent(99, 7, 1, runtime.clock.now())])
    assert await host.apply.remote(msgspec.msgpack.encode(good)) == (1, False, 0)


async def test_dedicated_placement_gives_every_guild_its_own_actor(tmp_path: Path) -> None:
    rt = Runtime(config(tmp_path, guilds=4, placement="dedicated"))
    rt.start()
    try:
        stats = await stats_when(rt, lambda s: s["applied"] > 20, "20 events applied")
        assert stats["dropped"] == {}

        async def hosts() -> list[dict]:
            # a guild's host is made when its first event comes, and a guild in a quiet phase
            # of the synthetic traffic (2 % of its rate for up to 20 s here) may not have
            # spoken in the first 20 events: wait for each, rather than assume it did
            await rt.check()  # the runtime watches the hosts the directory made as events came
            return [await w.handle.info.remote() for w in rt.hosts.values()]

        infos = await wait_until_async(
            hosts, ok=lambda infos: [i["guilds"] for i in infos] == [1, 1, 1, 1],
            what="each of the 4 guilds held by a host of its own", timeout_s=90,
        )  # fmt: skip
        assert len(rt.hosts) == 4
        assert len({i["pid"] for i in infos}) == 4  # four processes
    finally:
        rt.stop()


async def test_a_killed_host_restarts_with_its_guilds_and_never_posts_twice(
    tmp_path: Path, redis_url: str
) -> None:
    rt = Runtime(config(tmp_path, store=redis_url, guilds=30))
    rt.start()
    try:
        await stats_when(rt, lambda s: s["delivered"] >= 5, "5 messages delivered")
        name, watched = next(iter(rt.hosts.items()))
        before = await watched.handle.info.remote()
        await watched.handle.flush.remote()  # what write-behind would write within 0.5 s
        ray.kill(watched.handle, no_restart=False)
        after = await wait_until_async(lambda: _restarted(watched.handle, before["pid"]),
                                       what=f"{name} restarted", timeout_s=60)  # fmt: skip
        assert after["loaded"] > 0  # its guilds came back from Redis
        await rt.check()
        assert (
            rt.metrics.registry.get_sample_value("guildmind_host_restarts_total", {"host": name})
            == 1
        )
        n = (await rt.stats())["applied"]
        stats = await stats_when(rt, lambda s: s["applied"] > n + 200, "200 more events applied")
        assert stats["host_errors"] == 0  # retried by Ray, not lost
        sent = await rt.gateway.sent.remote()
        autonomous = [s for s in sent if s.message.action != "reply"]
        assert autonomous  # the check below has something to check
        last: dict[int, float] = defaultdict(lambda: -1e18)
        for s in autonomous:  # no autonomous message twice: never two within the 30 s gate
            assert s.at - last[s.message.guild_id] >= 29.0, s
            last[s.message.guild_id] = s.at
    finally:
        rt.stop()


async def test_a_guild_loaded_from_the_store_speaks_before_any_event_reaches_it(
    tmp_path: Path,
) -> None:
    """A host learns a guild's gateway from its events; a guild loaded at a start (a restart, a
    move) can have its timer fire first. Its message still goes out, through the runtime's
    gateway (it used to be lost: "could not hand messages to ''")."""
    cfg = config(tmp_path, speed=600, rate=1)  # the bubbly silence (66 min) in 6.6 s
    gid, now = 4242, time.time()  # not a synthetic guild: no event will ever come for it
    crafted = make_engine(cfg, started_at=now - 86_400, seed=0)
    adopter(cfg)(crafted, gid, now - 86_400)
    crafted.update_mood(gid, "bubbly", at=now - 86_400)
    crafted.apply(MessageEvent(gid, 1, 7, now - 86_400))  # quiet for a day
    crafted.apply(PresenceEvent(gid, 7, now - 60))  # but someone is online
    assert crafted.decide(gid, at=now + 200).action == "break_silence"  # what it will want
    store = open_store("sqlite:", data_dir=tmp_path)
    store.save({gid: crafted.snapshot(gid)})
    store.close()
    rt = Runtime(cfg)
    rt.start()
    try:
        sent = await wait_until_async(lambda: _sent_for(rt, gid), timeout_s=60,
                                      what=f"a message for guild {gid}")  # fmt: skip
        assert sent[0].message.action in ("break_silence", "share_tweet")  # a timer's action
    finally:
        rt.stop()


async def _sent_for(runtime, guild_id):
    return [s for s in await runtime.gateway.sent.remote() if s.message.guild_id == guild_id]


async def _restarted(handle, old_pid):
    try:
        info = await asyncio.wait_for(handle.info.remote(), 5)
    except Exception:
        return None
    return info if info["pid"] != old_pid else None


async def test_overload_sheds_presence_first_counts_drops_and_recovers(tmp_path: Path) -> None:
    extra = "[gateway]\nbatch_max = 32\nmax_in_flight = 1\nqueue_max = 2000\n"
    rt = Runtime(config(tmp_path, extra, store="memory:", guilds=200))
    rt.start()
    try:
        await stats_when(rt, lambda s: s["applied"] > 0, "events flowing")
        await rt.gateway.set_load.remote(400)  # each event 400 times: far past capacity
        peak, looks = 0, 0

        async def sample() -> dict:
            nonlocal peak, looks
            s = await rt.stats()
            peak, looks = max(peak, s["queued"]), looks + 1
            return s

        # overloaded (the queue sampled all along) until presence updates are being shed, which
        # happens only once the queue is full, and for at least ten looks (each look can take
        # seconds from a gateway this overloaded on a busy machine: 7 looks in 60 s were seen)
        s = await wait_until_async(
            sample, ok=lambda s: looks >= 10 and s["dropped"].get("presence:overload", 0) > 0,
            interval_s=0.5, timeout_s=180, what="presence shed under a sustained overload",
        )  # fmt: skip
        assert peak <= 2000  # the buffer is bounded, whatever comes in
        await rt.gateway.set_load.remote(1)
        s = await stats_when(rt, lambda s: s["queued"] < 100, "the queue to drain below 100")
        # it recovers: new events are applied again and none is shed any more (how fast is the
        # load test's and the benchmarks' business, not a unit test's)
        n, shed = s["applied"], sum(s["dropped"].values())
        s = await stats_when(rt, lambda s: s["applied"] > n + 50, "50 more events applied")
        assert sum(s["dropped"].values()) == shed, s["dropped"]
        host = next(iter(rt.hosts.values())).handle
        probe = Batch("probe3", 0, 0, time.time(), [MessageEvent(7, 7, 1, rt.clock.now())])
        assert (await host.apply.remote(msgspec.msgpack.encode(probe)))[0] == 1
    finally:
        rt.stop()


def test_actors_are_named_in_the_guildmind_namespace(runtime) -> None:
    name = next(iter(runtime.hosts))
    assert ray.get_actor(name, namespace=NAMESPACE) is not None


async def test_scale_out_moves_partitions_with_their_state_losing_and_repeating_nothing(
    tmp_path: Path,
) -> None:
    rt = Runtime(config(tmp_path, guilds=60))
    rt.start()
    try:
        await stats_when(rt, lambda s: s["delivered"] >= 5 and s["applied"] > 300,
                         "300 events applied and 5 messages delivered")  # fmt: skip
        before = {}
        for w in rt.hosts.values():
            for gid in await w.handle.guild_ids.remote():
                before[gid] = await w.handle.guild.remote(gid)
        moves = await rt.add_hosts(1)
        assert len(moves) == 1024 // 3  # host-2 takes a third of the partitions
        assert len(rt.hosts) == 3
        moved_total = rt.metrics.registry.get_sample_value("guildmind_partitions_moved_total")
        assert moved_total == len(moves)
        n = (await rt.stats())["applied"]
        await stats_when(rt, lambda s: s["applied"] > n + 300, "300 more events applied")
        owners: dict[int, str] = {}
        for name, w in rt.hosts.items():
            for gid in await w.handle.guild_ids.remote():
                assert gid not in owners, f"guild {gid} on {owners[gid]} and {name}"
                owners[gid] = name
        assert set(before) <= set(owners)  # every guild still has exactly one host
        moved = [g for g in before if owners[g] == next(iter(reversed(rt.hosts)))]
        assert moved  # some guilds moved to the new host, with their state
        for gid in moved:
            now = await rt.hosts[owners[gid]].handle.guild.remote(gid)
            assert now["last_action_at"] >= before[gid]["last_action_at"]
            assert now["mood"] and (now["last_action"] or not before[gid]["last_action"])
        # an old host that restarts now takes its partitions from the directory, not the
        # ones it was made with: it loads none of the guilds that moved
        old_name, old = next(iter(rt.hosts.items()))
        was = await old.handle.info.remote()
        ray.kill(old.handle, no_restart=False)
        await wait_until_async(lambda: _restarted(old.handle, was["pid"]), timeout_s=60,
                               what=f"{old_name} restarted")  # fmt: skip
        reloaded = set(await old.handle.guild_ids.remote())
        assert reloaded and not reloaded & set(moved)
        assert all(owners.get(g, old_name) == old_name for g in reloaded)
        await rt.gateway.stop.remote()  # the source stops, every buffered event goes out
        stats = await rt.stats()
        assert stats["dropped"] == {} and stats["host_errors"] == 0
        assert stats["applied"] == stats["generated"], stats  # nothing lost or applied twice
    finally:
        rt.stop()


async def test_a_gateway_restarted_by_ray_starts_its_source_again(runtime) -> None:
    await stats_when(runtime, lambda s: s["applied"] > 100, "100 events applied")
    ray.kill(runtime.gateway, no_restart=False)

    async def flowing():
        try:
            await runtime.check(timeout_s=5)
            stats = await runtime.stats()
        except Exception:
            return None
        return stats if stats["applied"] > 50 else None

    # a new process: its counters start again
    stats = await wait_until_async(flowing, timeout_s=60,
                                   what="events flowing through the restarted gateway")  # fmt: skip
    assert stats["host_errors"] == 0
