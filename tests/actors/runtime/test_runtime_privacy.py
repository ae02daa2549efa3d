"""A runtime that starts on an old store forgets what is due, in every placement, without waiting
for an event: personal data past its hours, a guild the bot left past its grace."""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

import msgspec
import pytest

from actors.remote.runtime import Runtime
from actors.stores.base import open_store
from engine import AutonomousEngine, GuildSnapshot
from guildmind.config import parse_config
from tests.fixtures.polling import wait_until_async

pytestmark = pytest.mark.usefixtures("ray_session")

QUIET = 900_000_000_000_000_001  # a guild that hears nothing after the restart
LEFT = 900_000_000_000_000_002  # a guild the bot left two hours ago


@pytest.mark.parametrize("placement", ["sharded", "dedicated"])
async def test_a_restarted_runtime_forgets_what_is_due_in_guilds_that_hear_nothing(
    placement: str, tmp_path: Path
) -> None:
    now = time.time()
    engine = AutonomousEngine(rng=random.Random(0), started_at=now - 10 * 3600)
    engine.track_presence(QUIET, 5, at=now - 7 * 3600, activity="Celeste")  # 6 h ago: expired
    engine.track_presence(QUIET, 6, at=now - 60)  # still counts as present
    engine.track_presence(LEFT, 7, at=now - 3 * 3600)
    engine.leave(LEFT, at=now - 2 * 3600)
    store = open_store("sqlite:", data_dir=tmp_path)
    store.save({g: engine.snapshot(g) for g in (QUIET, LEFT)})
    cfg = parse_config(
        f"""
[runtime]
placement = "{placement}"
hosts = 1
data_dir = "{tmp_path}"
[state]
write_behind_s = 0.2
[metrics]
port = 0
[source.synthetic]
guilds = 1
rate = 1
[privacy]
left_grace_s = 3600
""",
        env={},
    )
    rt = Runtime(cfg)
    await asyncio.to_thread(rt.start)
    try:

        def cleaned() -> bool:
            data = store.load([QUIET, LEFT])
            if LEFT in data or QUIET not in data:
                return False
            snap = msgspec.msgpack.decode(data[QUIET], type=GuildSnapshot)
            return set(snap.present or {}) == {6} and snap.activity_user is None

        await wait_until_async(lambda: asyncio.to_thread(cleaned), timeout_s=30,
                               what="member 5 and the guild left gone from the store")  # fmt: skip
        if placement == "dedicated":  # each stored guild got a host of its own at start
            held = [g for w in rt.hosts.values() for g in await w.handle.guild_ids.remote()]
            assert QUIET in held
    finally:
        await asyncio.to_thread(rt.stop)
        store.close()
