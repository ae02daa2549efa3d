"""Two Ray nodes from `ray.cluster_utils.Cluster`, the runtime on them, one node removed.

    python tests/deploy/cluster_utils_driver.py WORKDIR

Run by `test_cluster_utils.py` in a process of its own (the test process keeps its session Ray).
Starts a head (resource ``node_a``) and a second node (``node_b``), the runtime with two guild
hosts spread over them and the SQLite store in WORKDIR, lets synthetic guilds run, removes the
second node and waits until its host is back on the head with its guilds reloaded. Prints one
JSON line starting with ``@gm ``: where each host was before and after, and what it reloaded.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import ray
from ray.cluster_utils import Cluster

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository: tests.fixtures

from actors.remote.runtime import Runtime
from guildmind.config import parse_config
from tests.fixtures.polling import wait_until_async

CONFIG = """
[runtime]
speed = 60
hosts = 2
data_dir = "{workdir}"
[state]
url = "sqlite:"
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
guilds = 30
rate = 20
seed = 11
"""


async def infos(runtime: Runtime) -> dict[str, dict]:
    await runtime.check(timeout_s=2)
    return {name: dict(w.info) for name, w in runtime.hosts.items()}


async def main(workdir: Path) -> dict:
    cluster = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 1, "resources": {"node_a": 1}, "include_dashboard": False,
                        "object_store_memory": 80 * 1024**2},
    )  # fmt: skip
    node_b = cluster.add_node(num_cpus=1, resources={"node_b": 1},
                              object_store_memory=80 * 1024**2)  # fmt: skip
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, log_to_driver=False)
    runtime = Runtime(parse_config(CONFIG.format(workdir=workdir), env={}))
    try:
        runtime.start()
        head_id, b_id = cluster.head_node.node_id, node_b.node_id

        async def spread_and_busy():
            now = await infos(runtime)
            stats = await runtime.stats()
            nodes = {i["node"] for i in now.values()}
            guilds = all(i["guilds"] > 0 for i in now.values())
            return now if nodes == {head_id, b_id} and guilds and stats["applied"] > 300 else None

        await wait_until_async(
            spread_and_busy,
            timeout_s=60,
            interval_s=0.3,
            what="hosts on both nodes, each with guilds, under load",
        )
        before = await infos(runtime)
        # every guild counted in `before` written (write-behind would within 0.5 s)
        await asyncio.gather(*(w.handle.flush.remote() for w in runtime.hosts.values()))
        on_b = [name for name, i in before.items() if i["node"] == b_id]
        cluster.remove_node(node_b, allow_graceful=False)

        async def back_on_head():
            now = await infos(runtime)
            moved = all(now[n]["node"] == head_id and now[n]["pid"] != before[n]["pid"]
                        for n in on_b)  # fmt: skip
            return now if moved else None

        after = await wait_until_async(
            back_on_head, timeout_s=60, interval_s=0.3, what=f"{on_b} restarted on the head"
        )
        applied = (await runtime.stats())["applied"]
        await wait_until_async(
            runtime.stats,
            ok=lambda s: s["applied"] > applied + 200,
            timeout_s=30,
            interval_s=0.3,
            what="200 more events applied",
        )
        restarts = {
            n: runtime.metrics.registry.get_sample_value(
                "guildmind_host_restarts_total", {"host": n}
            )
            for n in on_b
        }
        return {"head": head_id, "b": b_id, "on_b": on_b, "before": before, "after": after,
                "restarts": restarts, "stats": await runtime.stats()}  # fmt: skip
    finally:
        runtime.stop()
        ray.shutdown()
        cluster.shutdown()


if __name__ == "__main__":
    result = asyncio.run(main(Path(sys.argv[1])))
    print("@gm " + json.dumps(result), flush=True)
