"""A guildmind driver for the multi-node tests: joins a Ray cluster, reports as JSON lines.

    python tests/deploy/cluster_driver.py CONFIG.toml     # address: runtime.address/RAY_ADDRESS

It runs the real `Runtime` as ``guildmind run`` does (`Runtime.watch`: health checks and
scale-out onto nodes that join), looking every half second, with its log on stderr. It prints
JSON objects to stdout, each on a line of its own starting with ``@gm ``: first
``{"started": ...}``, then a report every half second (the cluster's nodes, where each actor of
the runtime lives, each host's `info()`, the gateway's stats). When stdin closes it stops the
runtime and prints ``{"sent": [...]}``, every message the bot sent (guild, action, virtual
time) for the no-double-post check, then ``{"stopped": true}``. A process of its own, because
the test process keeps its own session Ray.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
import threading

import ray
from ray._private import state  # the GCS actor table: where each actor lives (no dashboard)

from actors.remote.host import NAMESPACE
from actors.remote.runtime import Runtime
from guildmind.config import load_config

MARK = "@gm "  # Ray prints the workers' output on the driver's stdout too: mark our lines


def emit(obj: dict) -> None:
    sys.stdout.write(f"{MARK}{json.dumps(obj, default=str)}\n")  # one write: never split
    sys.stdout.flush()


def placement() -> dict[str, str]:
    """Actor name -> node id, for the live actors of this cluster's guildmind namespace."""
    return {
        a["Name"]: a["Address"]["NodeID"]
        for a in state.actors().values()
        if a.get("Name") and a.get("State") == "ALIVE"
    }


def nodes() -> list[dict]:
    return [
        {"id": n["NodeID"], "alive": n["Alive"], "resources": n.get("Resources", {})}
        for n in ray.nodes()
    ]


async def main(path: str) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("actors").setLevel(logging.INFO)
    runtime = Runtime(load_config(path))
    runtime.start()
    assert runtime.discovery is not None
    stdin_closed = asyncio.Event()
    loop = asyncio.get_running_loop()

    def wait_stdin() -> None:
        sys.stdin.read()
        loop.call_soon_threadsafe(stdin_closed.set)

    threading.Thread(target=wait_stdin, daemon=True).start()
    emit(
        {
            "started": True,
            "driver_node": ray.get_runtime_context().get_node_id(),
            "namespace": NAMESPACE,
            "prefix": runtime.prefix,
            "sd": runtime.discovery.url,
        }
    )
    watcher = asyncio.create_task(runtime.watch(stdin_closed, every_s=0.5))
    try:
        while not stdin_closed.is_set():
            report = {
                "nodes": nodes(),
                "actors": placement(),
                "hosts": {name: w.info for name, w in runtime.hosts.items()},
                "stats": await asyncio.wait_for(runtime.stats(), 5),
                "restarts": {
                    name: runtime.metrics.registry.get_sample_value(
                        "guildmind_host_restarts_total", {"host": name}
                    )
                    for name in runtime.hosts
                },
            }
            emit(report)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stdin_closed.wait(), 0.5)
        await watcher
        sent = await runtime.gateway.sent.remote()
        emit({"sent": [[s.message.guild_id, s.message.action, s.at] for s in sent]})
    finally:
        runtime.stop()
        ray.shutdown()
    emit({"stopped": True})


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
