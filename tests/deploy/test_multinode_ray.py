"""guildmind on a real two-node Ray cluster on this machine, joined by address, state in Redis.

Two ``ray start`` nodes (head with ``node_a``, a second with ``node_b``; ports, temporary
directory and auth token of their own; see `raynodes`), a real redis-server, and the driver
(`cluster_driver.py`, the real `Runtime`) in a process of its own joining at ``127.0.0.1:PORT``:
the test process never touches its own session Ray. The Redis password reaches every node's
processes through their environment, as a Kubernetes secret would. Under synthetic load the
guild hosts spread over both nodes while the gateway and directory stay on the head; the second
node then dies (SIGKILL of its process group): its hosts come back on the head with their guilds
from Redis, the runtime keeps applying events and never posts twice; the node starts again and
rejoins, and the runtime (`Runtime.watch`, as ``guildmind run``) starts a host there and moves a
share of the partitions to it: their guilds written through by the old hosts, loaded by the new.
"""

from __future__ import annotations

import json
import secrets
import time
import urllib.request
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.actors.conftest import RedisServer
from tests.deploy.driver_process import Driver
from tests.deploy.raynodes import RayNodes


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server with a password, which the nodes get from their environment."""
    server = RedisServer(tmp_path, password=secrets.token_hex(16))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def config(tmp_path: Path, address: str, redis_url: str) -> Path:
    path = tmp_path / "guildmind.toml"
    path.write_text(f"""
[runtime]
address = "{address}"
speed = 60
hosts = 4  # round robin over the nodes: two on each
data_dir = "{tmp_path}"
[state]
url = "{redis_url}"
password_env = "GUILDMIND_REDIS_PASSWORD"
write_behind_s = 0.5
[metrics]
port = 0
# failover, not admission: admission is off here (a host restarted after a failover measures
# slow at first and its backlog of presences would be shed: an open fault, see the notes)
[gateway]
max_wait_ms = 600000
[defaults]
quiet_hours = false
[source.synthetic]
guilds = 40
rate = 20
seed = 3
""")
    return path


def node_with(report: dict, resource: str) -> str | None:
    alive = [n["id"] for n in report["nodes"] if n["alive"] and resource in n["resources"]]
    return alive[0] if alive else None


def test_hosts_spread_over_two_nodes_come_back_from_redis_and_rebalance_on_rejoin(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    url = f"redis://127.0.0.1:{redis_server.port}/0?prefix=mn:"  # the password: from the env
    with RayNodes() as nodes:
        nodes.env["GUILDMIND_REDIS_PASSWORD"] = redis_server.password or ""
        head = nodes.start_head(resource="node_a")
        node_b = nodes.start_worker(head, resource="node_b")
        driver = Driver(config(tmp_path, head.address, url), nodes.env)
        try:
            started = driver.wait_for(lambda r: "started" in r, what="driver start")
            head_id = started["driver_node"]
            prefix = started["prefix"]

            # under load, the hosts spread over both nodes; gateway and directory on the head
            def spread(r: dict) -> bool:
                hosts = r.get("hosts", {})
                return (
                    len({i.get("node") for i in hosts.values()}) == 2
                    and all(i.get("guilds", 0) > 0 for i in hosts.values())
                    and r["stats"]["applied"] > 300
                    and r["stats"]["delivered"] > 3
                )

            report = driver.wait_for(spread, what="hosts on both nodes under load")
            b_id = node_with(report, "node_b")
            assert head_id == node_with(report, "node_a")
            assert {i["node"] for i in report["hosts"].values()} == {head_id, b_id}
            assert report["actors"][f"{prefix}gateway-0"] == head_id
            assert report["actors"][f"{prefix}directory"] == head_id
            time.sleep(1.5)  # past the write-behind window: every guild seen is in Redis
            before = driver.wait_for(lambda r: "hosts" in r, what="a report")
            on_b = {n: i for n, i in before["hosts"].items() if i["node"] == b_id}
            assert on_b

            node_b.kill()  # the node dies: its raylet, agents and workers, no draining

            def back_on_head(r: dict) -> bool:
                hosts = r.get("hosts", {})
                return (
                    all(
                        hosts[n]["node"] == head_id and hosts[n]["pid"] != i["pid"]
                        for n, i in on_b.items()
                    )
                    and node_with(r, "node_b") is None
                )

            after = driver.wait_for(back_on_head, what="node_b's host back on the head")
            for name, was in on_b.items():
                now = after["hosts"][name]
                assert now["loaded"] >= was["guilds"] > 0  # its guilds, from Redis
                assert after["restarts"][name] == 1
            applied = after["stats"]["applied"]
            going = driver.wait_for(
                lambda r: "stats" in r and r["stats"]["applied"] > applied + 300,
                what="events still applied after the node died",
            )
            assert going["stats"]["host_errors"] == 0  # batches retried by Ray, none lost
            assert going["stats"]["dropped"] == {}

            # discovery lists the restarted host at its new address
            with urllib.request.urlopen(started["sd"], timeout=5) as r:
                groups = json.load(r)
            where = {g["labels"]["process"]: g["targets"][0] for g in groups}
            for name in on_b:
                assert where[name] == going["hosts"][name]["metrics"] != on_b[name]["metrics"]

            # the node starts again and rejoins: a new host there takes its share of the
            # partitions (their guilds saved by the old hosts, loaded by the new one)
            nodes.restart(node_b)
            rejoined = driver.wait_for(
                lambda r: "nodes" in r and node_with(r, "node_b") not in (None, b_id),
                what="node_b rejoined",
            )
            b2_id = node_with(rejoined, "node_b")

            def rebalanced(r: dict) -> bool:
                new = {n: i for n, i in r.get("hosts", {}).items() if n not in before["hosts"]}
                return any(i.get("node") == b2_id and i.get("guilds", 0) > 0 for i in new.values())

            moved = driver.wait_for(rebalanced, what="a new host on node_b holding guilds")
            held = sum(i["guilds"] for i in moved["hosts"].values())
            # none lost, none held twice (the synthetic source has 40 guilds)
            assert sum(i["guilds"] for i in going["hosts"].values()) <= held <= 40
            applied = moved["stats"]["applied"]
            going = driver.wait_for(
                lambda r: "stats" in r and r["stats"]["applied"] > applied + 200,
                what="events applied after the partitions moved",
            )
            assert going["stats"]["host_errors"] == 0 and going["stats"]["dropped"] == {}

            sent = driver.close()
            assert driver.proc.wait(timeout=30) == 0
        finally:
            driver.kill()

    # never posted twice: no two autonomous messages of a guild within the 30 s action gate
    last: dict[int, float] = defaultdict(lambda: -1e18)
    autonomous = sorted((at, gid) for gid, action, at in sent if action != "reply")
    assert autonomous
    for at, gid in autonomous:
        assert at - last[gid] >= 29.0, (gid, at, last[gid])
        last[gid] = at
    # every guild the hosts held is in Redis (the runtime wrote them all when it stopped)
    guilds = sum(i["guilds"] for i in driver.last["hosts"].values())
    client = redis.Redis.from_url(redis_server.url)
    try:
        assert len(list(client.scan_iter("mn:guild:*"))) == guilds
    finally:
        client.close()
