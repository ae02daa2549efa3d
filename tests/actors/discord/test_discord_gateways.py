"""Two gateways of the runtime on Ray, each running half of a 4-shard bot against the emulator.

The emulator has one IDENTIFY bucket (`max_concurrency` 1) and enforces it, and the global REST
limit: the gateways share the runtime's `SharedLimits`, so no breach; each gateway hears only
its shards' guilds and the bot's replies leave from the gateway that owns the guild's shard.
(The positive controls, clients that do not share the limits and breach both, are in
test_discord_limits.py.)
"""

from __future__ import annotations

import asyncio

import pytest
from discord_testkit import config

from actors.remote.runtime import Runtime
from actors.routing.shards import shard_of
from guildmind.emulator import Emulator, GuildSpec
from guildmind.emulator.wiring import EMULATOR_TOKEN, pointed_at, wait_connected
from tests.fixtures.polling import wait_until_async

pytestmark = pytest.mark.usefixtures("ray_session")

SPEED = 20.0  # the 120 s start-up gate passes in 6 s; Discord's windows shrink alike
EXTRA = """
identify_every_s = 8.0
[runtime]
speed = {speed}
hosts = 2
gateways = 2
data_dir = "{data}"
[metrics]
port = 0
[mood_rotation]
interval_s = 0
[defaults]
quiet_hours = false
"""


async def test_two_gateways_share_the_identify_bucket_and_reply_from_the_shards_owner(
    tmp_path,
) -> None:
    specs = [GuildSpec(f"G{i}", users=3, chatter="dead") for i in range(8)]
    emu = Emulator(specs, seed=21, bot_token=EMULATOR_TOKEN, shards=4, max_concurrency=1)
    await emu.start()
    cfg = pointed_at(config(emu, extra=EXTRA.format(speed=SPEED, data=tmp_path)), emu)
    rt = Runtime(cfg)
    emu.use_clock(rt.clock.now, rt.clock.speed)  # its 5 s IDENTIFY window: 0.25 s real
    await asyncio.to_thread(rt.start)
    try:
        plan = rt.gateways.shards
        assert plan is not None and list(plan.ranges.values()) == [(0, 1), (2, 3)]
        handles = rt.gateways.handles
        for handle in handles.values():
            status = await wait_connected(handle, 60)
            assert status["ready"], status
        guilds = {name: [g for g in emu.guilds if plan.owner(g.id) == name] for name in handles}
        for name, handle in handles.items():  # each hears its own shards' guilds only
            assert (await handle.source_status.remote())["guilds"] == len(guilds[name]) > 0
        assert sorted(shard for _, shard in emu.limits.identifies) == [0, 1, 2, 3]
        assert emu.limits.breaches["identify"] == 0  # one bucket, shared by both

        await wait_until_async(lambda: rt.clock.now() >= rt.started_at + 125, timeout_s=30,
                               what="past the start-up gate")  # fmt: skip
        for name, handle in handles.items():
            g = guilds[name][0]
            mid = await emu.post_message(
                g.id, g.system_channel_id, g.human_ids[0], "hey, you there?", mention_bot=True
            )

            def answered(mid=mid) -> bool:
                refs = (int((s.message_reference or {}).get("message_id") or 0) for s in emu.sent)
                return mid in refs

            await emu.wait_until(answered, 20)
            _, said = await handle.said_since.remote(0)
            assert g.id in {s.message.guild_id for s in said}  # sent by the shard's owner …
            assert {plan.owner(s.message.guild_id) for s in said} == {name}  # … and only its
            assert shard_of(g.id, 4) in plan.ranges[name]
        assert emu.limits.breaches["global"] == 0
    finally:
        await asyncio.to_thread(rt.stop)
        await emu.stop()
