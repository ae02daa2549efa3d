"""Many gateways: shard ranges, guilds split between them, messages sent by the shard's owner."""

from __future__ import annotations

from pathlib import Path

import pytest
import ray

from actions import OutgoingMessage
from actors.remote.gateways import merge_stats, shard_plan
from actors.remote.runtime import Runtime
from actors.routing.shards import ShardMap, bucket_of, shard_of, split_shards
from actors.routing.wire import Outbox
from actors.sources.traffic import SyntheticTraffic
from guildmind.config import parse_config
from tests.fixtures.polling import wait_until_async

BASE = """
[runtime]
speed = 60
hosts = 2
gateways = {gateways}
data_dir = "{data}"
[state]
url = "sqlite:"
[metrics]
port = 0
[defaults]
quiet_hours = false
[source.synthetic]
guilds = 60
rate = 40
seed = 5
shards = {shards}
"""


def config(tmp_path: Path, gateways: int = 2, shards: int = 4, extra: str = ""):
    text = BASE.format(gateways=gateways, shards=shards, data=tmp_path) + extra
    return parse_config(text, env={})


# pure -----------------------------------------------------------------------------------------
def test_discords_formulas() -> None:
    # the example of Discord's docs: guild 197038439483310086 on 2 shards
    assert shard_of(197038439483310086, 2) == (197038439483310086 >> 22) % 2
    assert [bucket_of(s, 16) for s in (0, 15, 16, 33)] == [0, 15, 0, 1]


@pytest.mark.parametrize("count,gateways", [(1, 1), (4, 2), (5, 2), (7, 3), (2, 5), (16, 16)])
def test_ranges_are_contiguous_cover_every_shard_once_and_differ_by_one(count, gateways) -> None:
    ranges = split_shards(range(count), gateways)
    assert len(ranges) == gateways
    assert [s for r in ranges for s in r] == list(range(count))
    assert max(map(len, ranges)) - min(map(len, ranges)) <= 1
    assert all(list(r) == list(range(r[0], r[0] + len(r))) for r in ranges if r)


def test_split_refuses_no_gateway() -> None:
    with pytest.raises(ValueError, match="gateways must be >= 1, got 0"):
        split_shards(range(4), 0)


def test_a_guild_has_one_owner_and_a_handover_moves_it() -> None:
    plan = ShardMap(4, {"g0": (0, 1), "g1": (2, 3)})
    guild = next(g for g in range(1 << 22, 1 << 30, 1 << 22) if shard_of(g, 4) == 3)
    assert plan.owner(guild) == "g1"
    moved = plan.moved("g1", (3,), "g2")
    assert moved.owner(guild) == "g2" and moved.ranges["g1"] == (2,)
    assert ShardMap(4, {"g0": (0,)}).owner(guild) is None  # nobody runs shard 3
    with pytest.raises(ValueError, match=r"g0 does not run shards \[3\]"):
        plan.moved("g0", (3,), "g1")


def test_shard_plan(tmp_path: Path) -> None:
    assert shard_plan(config(tmp_path, gateways=1, shards=0), "p-", nodes=1) is None
    plan = shard_plan(config(tmp_path, gateways=0, shards=0), "p-", nodes=3)
    assert plan is not None and plan.ranges == {"p-gateway-0": (0,), "p-gateway-1": (1,),
                                                "p-gateway-2": (2,)}  # fmt: skip
    few = shard_plan(config(tmp_path, gateways=4, shards=2), "p-", nodes=1)
    assert few is not None and len(few.ranges) == 2  # never a gateway without a shard
    discord = parse_config('[source]\nkind = "discord"\n[runtime]\ngateways = 2\n', env={})
    with pytest.raises(ValueError, match="shard count is needed"):
        shard_plan(discord, "p-", nodes=1)
    plan = shard_plan(discord, "p-", nodes=1, recommended=5)
    assert plan is not None and plan.ranges == {"p-gateway-0": (0, 1, 2), "p-gateway-1": (3, 4)}


def test_split_synthetic_traffic_is_the_whole_traffic_cut_by_shard() -> None:
    whole = SyntheticTraffic(200, 400.0, seed=2, start=0.0)
    parts = [
        SyntheticTraffic(200, 400.0, seed=2, start=0.0, only=lambda g, s=s: shard_of(g, 3) == s)
        for s in range(3)
    ]
    counts = [sum(1 for _ in p.events_until(600.0)) for p in parts]
    for s, part in enumerate(parts):
        assert {shard_of(e.guild_id, 3) for e in part.events_until(1200.0)} <= {s}
    total = sum(1 for _ in whole.events_until(600.0))
    assert all(counts) and abs(sum(counts) - total) < 0.1 * total  # the same traffic, cut in 3
    empty = SyntheticTraffic(5, 10.0, seed=2, start=0.0, only=lambda g: False)
    assert list(empty.events_until(1e6)) == []  # a gateway whose shards have no guild


def test_merge_stats() -> None:
    merged = merge_stats([{"applied": 3, "dropped": {"message:x": 1}}, {"applied": 4,
                          "dropped": {"message:x": 2, "presence:y": 1}}])  # fmt: skip
    assert merged == {"applied": 7, "dropped": {"message:x": 3, "presence:y": 1}}


# on Ray ---------------------------------------------------------------------------------------
@pytest.mark.usefixtures("ray_session")
async def test_two_gateways_split_the_guilds_and_send_through_the_shards_owner(tmp_path) -> None:
    rt = Runtime(config(tmp_path))
    rt.start()
    try:
        plan = rt.gateways.shards
        assert plan is not None and list(plan.ranges.values()) == [(0, 1), (2, 3)]
        handles = rt.gateways.handles
        roles = sorted(t.role for t in rt.targets.targets())
        assert roles == ["driver", "gateway", "gateway", "host", "host"]

        async def each_spoke():
            answers = [await h.stats.remote() for h in handles.values()]
            return answers if all(a["generated"] > 50 and a["delivered"] for a in answers) else None

        await wait_until_async(each_spoke, ok=bool, what="both gateways hear and speak",
                               timeout_s=60, interval_s=0.3)  # fmt: skip
        for name, handle in handles.items():  # a guild's messages leave from its shard's owner
            sent = await handle.sent.remote()
            assert sent and {plan.owner(s.message.guild_id) for s in sent} == {name}
        # A message handed to the wrong gateway (a host's fallback, a handover) is passed on.
        g0, g1 = handles
        theirs = next(
            g.guild_id
            for g in SyntheticTraffic(60, 40, seed=5).guilds
            if plan.owner(g.guild_id) == g1
        )
        note = OutgoingMessage(guild_id=theirs, channel_id=1, text="hi", action="handed-test")
        await handles[g0].deliver.remote(Outbox([note], "test"))

        async def arrived():
            sent = await handles[g1].sent.remote()
            return [s for s in sent if s.message.action == "handed-test"]

        (got,) = await wait_until_async(arrived, ok=bool, what="the handed message sent by g1",
                                        timeout_s=10, interval_s=0.1)  # fmt: skip
        assert got.message.guild_id == theirs
        assert not [s for s in await handles[g0].sent.remote() if s.message.action == "handed-test"]
        assert (await handles[g0].stats.remote())["handed"] == 1
        # nothing lost, nothing twice: once the sources stop, every generated event is applied
        for h in handles.values():
            await h.stop.remote()
        stats = await rt.stats()
        assert stats["host_errors"] == 0
        # (admission at the door may shed some on a machine this busy: counted, never lost)
        assert all(k.endswith(":overload") for k in stats["dropped"]), stats["dropped"]
        assert stats["applied"] + sum(stats["dropped"].values()) == stats["generated"], stats
    finally:
        rt.stop()


@pytest.mark.usefixtures("ray_session")
async def test_a_new_gateway_takes_half_a_range_and_a_restarted_one_keeps_its_new_range(
    tmp_path,
) -> None:
    rt = Runtime(config(tmp_path, gateways=1, shards=4))
    rt.start()
    try:
        (g0,) = rt.gateways.handles
        assert (await rt.gateway.info.remote())["shards"] == [0, 1, 2, 3]
        await wait_until_async(rt.stats, ok=lambda s: s["generated"] > 50, timeout_s=30,
                               what="events from the one gateway")  # fmt: skip
        node = ray.get_runtime_context().get_node_id()
        answer = await rt.gateways.add(node)
        assert answer is not None and answer["shards"] == [2, 3]
        g1 = answer["name"]
        assert (await rt.gateway.info.remote())["shards"] == [0, 1]
        plan = rt.gateways.shards
        assert await rt.directory.shards.remote() == plan
        handed_at = rt.clock.now()
        handles = rt.gateways.handles

        async def both_speak_after():
            sent = {n: [s for s in await h.sent.remote() if s.at > handed_at + 1]
                    for n, h in handles.items()}  # fmt: skip
            return sent if all(sent.values()) else None

        sent = await wait_until_async(both_speak_after, ok=bool, timeout_s=120, interval_s=0.3,
                                      what="both gateways speaking after the handover")  # fmt: skip
        for name, said in sent.items():  # each sends (and so hears) only its own shards now
            assert {plan.owner(s.message.guild_id) for s in said} == {name}
        # Ray restarts gateway 0, made with all four shards: it takes its range from the directory
        old = (await rt.gateway.stats.remote())["generated"]
        ray.kill(rt.gateway, no_restart=False)

        async def back():
            try:
                return await rt.gateway.info.remote()
            except Exception:
                return None

        again = await wait_until_async(back, ok=bool, timeout_s=60, interval_s=0.3,
                                       what="gateway 0 back")  # fmt: skip
        assert again["shards"] == [0, 1], again
        assert (await rt.gateway.stats.remote())["generated"] < old  # a new process indeed
        assert g1 in rt.gateways.handles and g0 in rt.gateways.handles
        assert await rt.gateways.add(node) is not None  # (2, 3) → (2,) and (3,)
        assert await rt.gateways.add(node) is not None  # (0, 1) → (0,) and (1,)
        assert await rt.gateways.add(node) is None  # one shard each: nothing left to move
    finally:
        rt.stop()
