"""The Ray cluster as guildmind meets it: joining or starting Ray, shipping the code, its nodes.

`init_ray` joins `RAY_ADDRESS`/`--address` or starts a light local Ray; `shipped_code` is the
`runtime_env` that sends guildmind's packages to workers that lack them; `takes_work`,
`node_of_task` and `wait_name_free` are what placing actors on nodes needs (see
`actors.remote.runtime`).
"""

from __future__ import annotations

import asyncio
import importlib
import os
import time
from pathlib import Path

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from actors.remote.host import NAMESPACE
from config import RuntimeConfig


def init_ray(address: str = "", runtime_env: dict | None = None, *, quiet: bool = False) -> bool:
    """Join `address`, or start a light local Ray; False when Ray was already up (left as is).

    `runtime_env` (see `shipped_code`) is the job's: every actor the runtime creates gets it.
    `quiet`: the workers' logs stay out of this process's console (the demo's view owns it)."""
    if ray.is_initialized():
        return False
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    logs = {"log_to_driver": not quiet} | ({"configure_logging": False} if quiet else {})
    if address:
        ray.init(address=address, namespace=NAMESPACE, runtime_env=runtime_env, **logs)
    else:
        ray.init(
            address="local",  # a Ray of our own, not whatever else runs on this machine
            namespace=NAMESPACE, include_dashboard=False, object_store_memory=128 * 1024**2,
            runtime_env=runtime_env, **logs,
        )  # fmt: skip
    return True


def shutdown_ray() -> None:
    """Stop this process's Ray (what `init_ray` started)."""
    ray.shutdown()


PACKAGES = ("config", "engine", "actions", "actors", "metrics")  # what a worker imports


def shipped_code(runtime: RuntimeConfig) -> dict | None:
    """The runtime_env that sends guildmind's packages to every worker (`runtime.ship_code`).

    For clusters whose nodes run stock Ray without guildmind: Ray uploads the packages when the
    driver connects and every worker of the job imports them from its copy. Their dependencies
    must be on the nodes, or named in `runtime.ship_pip` for Ray to install there."""
    if not runtime.ship_code:
        return None
    here = [str(Path(importlib.import_module(p).__file__).parent) for p in PACKAGES]
    env: dict = {"py_modules": here, "excludes": ["__pycache__/"]}
    if runtime.ship_pip:
        env["pip"] = list(runtime.ship_pip)
    return env


@ray.remote(num_cpus=0)
def node_of_task() -> str:
    """The id of the node this task runs on."""
    return ray.get_runtime_context().get_node_id()


async def takes_work(node_id: str, timeout_s: float = 20.0) -> bool:
    """Whether `node_id` runs a task now (a soft placement there would otherwise spill over)."""
    there = NodeAffinitySchedulingStrategy(node_id, soft=False)
    probe = node_of_task.options(scheduling_strategy=there)
    ref = probe.remote()
    try:
        return await asyncio.wait_for(ref, timeout_s) == node_id
    except Exception:
        ray.cancel(ref, force=True)
        return False


def wait_name_free(name: str, timeout_s: float = 15.0) -> None:
    """Until Ray has let go of a killed actor's name (so a new one can take it)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            ray.get_actor(name, namespace=NAMESPACE)
        except ValueError:
            return
        time.sleep(0.1)
    raise TimeoutError(f"the actor name {name} was not released in {timeout_s}s")
