"""`guildmind run` rides out an actor's restart: the gateway killed under it, it goes on."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
import ray

from guildmind import run
from guildmind.config import parse_config
from tests.fixtures.polling import wait_until_async

CONFIG = """
[runtime]
speed = 60
hosts = 1
data_dir = "{data}"
[state]
write_behind_s = 0.5
[metrics]
port = 0
[defaults]
quiet_hours = false
[source.synthetic]
guilds = 20
rate = 40
seed = 2
"""


def _gateway():
    names = [a["name"] for a in ray.util.list_named_actors(all_namespaces=True)]
    found = [n for n in names if n.endswith("gateway-0")]
    return ray.get_actor(found[0], namespace="guildmind") if found else None


def _applied(printed: str) -> list[int]:
    return [int(n.replace(",", "")) for n in re.findall(r"events ([\d,]+) applied", printed)]


@pytest.mark.usefixtures("ray_session")
async def test_the_driver_rides_out_a_gateway_restart(tmp_path: Path, capsys) -> None:
    """Killed under it (Ray restarts it), the gateway stops answering for a while; the driver
    says so and goes on, and once it is back events are applied again (the status line counts
    up from the new incarnation's zero)."""
    cfg = parse_config(CONFIG.format(data=tmp_path), env={})
    served = asyncio.create_task(run.serve(cfg, duration=40, report_s=1.0))
    gateway = await wait_until_async(_gateway, timeout_s=60, what="the gateway started")
    await wait_until_async(
        lambda: (a := _applied(capsys.readouterr().out)) and a[-1] > 0,
        timeout_s=60, what="events applied before the kill",
    )  # fmt: skip
    ray.kill(gateway, no_restart=False)
    assert await asyncio.wait_for(served, 120) == 0  # it never gave up
    after = capsys.readouterr().out
    assert "guildmind: stopped" in after
    counts = _applied(after)
    assert counts and counts[-1] > 0  # the restarted gateway applies events again
