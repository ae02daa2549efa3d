"""Many gateways: events/s applied with 1 and 2 gateways, here and on a 2-node cluster (by hand).

    .venv/bin/python tests/bench/bench_gateways.py [--guilds 20000] [--rate 80000]
        [--warmup 8] [--duration 10] [--runs 3] [--no-cluster]
    .venv/bin/python tests/bench/bench_gateways.py --smoke   # tiny sizes: the suite runs it

Each measurement starts the runtime (`[runtime] gateways = N`, the synthetic source split into
`2 × N` shards over the gateways, SQLite store) and offers `--rate` events/s, more than it
applies, so what it applies is its capacity: events applied per second over `--duration` s after
`--warmup` s, with what the gateways shed (counted by type). Measured in one run:

1. this machine (one Ray node): 1 and 2 gateways, each with the real guild hosts and, as the
   ceiling, with hosts that only decode batches and count events (bench_runtime's CountingHost);
2. a `ray.cluster_utils` cluster of two nodes of one CPU each on this machine (a process of its
   own, since this process may already run the test suite's Ray): 1 and 2 gateways (the default,
   one per node: the second one on the second node), real hosts.

Medians over `--runs`; ratios (2 gateways / 1, runtime / ceiling) within the run. The machine's
2 cores are shared by everything here (and by whatever else runs): more gateways only help where
the gateway is the bottleneck and a core is free.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import ray

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from actors.remote.runtime import Runtime
from guildmind.config import parse_config

CONFIG = """
[runtime]
gateways = {gateways}
data_dir = "{data}"
[state]
url = "sqlite:"
[metrics]
port = 0
[rules]
startup_s = 0
[defaults]
quiet_hours = false
[source.synthetic]
guilds = {guilds}
rate = {rate}
seed = {seed}
shards = {shards}
"""


async def measure(args, gateways: int, seed: int, *, ceiling: bool = False) -> dict:
    """One runtime with `gateways` gateways: events/s applied and offered, shed by type."""
    host_class = None
    if ceiling:
        from bench_runtime import CountingHost  # tests/bench is on the path

        host_class = CountingHost
    data = Path(tempfile.mkdtemp(prefix="gm-gateways-"))
    text = CONFIG.format(gateways=gateways, data=data, guilds=args.guilds, rate=args.rate,
                         seed=seed, shards=2 * gateways)  # fmt: skip
    runtime = Runtime(parse_config(text, env={}), host_class=host_class)
    runtime.start()
    try:
        await asyncio.sleep(args.warmup)
        a, t0 = await runtime.stats(), time.monotonic()
        await asyncio.sleep(args.duration)
        b, t1 = await runtime.stats(), time.monotonic()
        made = len(runtime.gateways.handles)
    finally:
        runtime.stop()
        shutil.rmtree(data, ignore_errors=True)
    shed = {k: v - a["dropped"].get(k, 0) for k, v in b["dropped"].items()}
    return {
        "gateways": made,
        "ceiling": ceiling,
        "applied_per_s": round((b["applied"] - a["applied"]) / (t1 - t0), 1),
        "offered_per_s": round((b["generated"] - a["generated"]) / (t1 - t0), 1),
        "shed": {k: v for k, v in shed.items() if v},
    }


def median_of(runs: list[dict], key: str = "applied_per_s") -> float:
    return statistics.median(r[key] for r in runs)


def local_part(args) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for i in range(args.runs):
        for n in (1, 2):
            for ceiling in (False, True):
                run = asyncio.run(measure(args, n, seed=i, ceiling=ceiling))
                print(json.dumps({"where": "local", **run}), flush=True)
                out.setdefault(f"{n}{'c' if ceiling else ''}", []).append(run)
    return out


def cluster_part(args) -> dict[str, list[dict]]:
    """In this process: a 2-node `ray.cluster_utils` cluster, 1 then 2 gateways on it."""
    from ray.cluster_utils import Cluster

    cluster = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 1, "include_dashboard": False,
                        "object_store_memory": 100 * 1024**2},
    )  # fmt: skip
    cluster.add_node(num_cpus=1, object_store_memory=100 * 1024**2)
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, log_to_driver=False)
    out: dict[str, list[dict]] = {}
    try:
        for i in range(args.runs):
            for n in (2,) if args.smoke else (1, 2):  # smoke: does the spread one run at all
                run = asyncio.run(measure(args, n, seed=i))
                print("@gm " + json.dumps({"where": "cluster", **run}), flush=True)
                out.setdefault(str(n), []).append(run)
    finally:
        ray.shutdown()
        cluster.shutdown()
    return out


def run_cluster_process(args) -> dict[str, list[dict]]:
    """`cluster_part` in a process (and Ray temporary directory) of its own, reaped after."""
    from tests.deploy.raynodes import ROOT, ray_env, reap

    temp_dir = Path(tempfile.mkdtemp(prefix="gmb", dir="/tmp"))  # short: Ray's socket paths
    env = dict(ray_env(os.urandom(32).hex()), RAY_TMPDIR=str(temp_dir))
    argv = [sys.executable, __file__, "--cluster-only", "--guilds", str(args.guilds),
            "--rate", str(args.rate), "--warmup", str(args.warmup),
            "--duration", str(args.duration), "--runs", str(args.runs),
            *(["--smoke"] if args.smoke else [])]  # fmt: skip
    proc = subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        out, _ = proc.communicate(timeout=300 + args.runs * 2 * (args.warmup + args.duration + 30))
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 9)
            proc.communicate()
        reap(temp_dir)
    lines = [json.loads(line[4:]) for line in out.splitlines() if line.startswith("@gm ")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"the cluster part failed:\n{out[-3000:]}")
    result: dict[str, list[dict]] = {}
    for line in lines:
        print(json.dumps(line), flush=True)
        result.setdefault(str(line["gateways"]), []).append(line)
    return result


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark, print its figures and return them (with every run's)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--guilds", type=int, default=20_000)
    ap.add_argument("--rate", type=float, default=80_000)
    ap.add_argument("--warmup", type=float, default=8.0)
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-cluster", action="store_true", help="this machine's Ray only")
    ap.add_argument("--cluster-only", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--out", help="JSON report (default out/bench_gateways.json; none in smoke)")
    ap.add_argument("--smoke", action="store_true", help="tiny sizes: does it run at all")
    args = ap.parse_args(argv)
    if args.smoke:
        args.guilds, args.rate, args.warmup, args.duration, args.runs = 200, 2_000.0, 1.0, 1.0, 1
    if args.cluster_only:
        if args.smoke:
            args.guilds, args.rate, args.warmup, args.duration, args.runs = 200, 2e3, 1, 1, 1
        cluster_part(args)
        return {}
    out = args.out or (None if args.smoke else "out/bench_gateways.json")
    owns_ray = not ray.is_initialized()
    if owns_ray:
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        ray.init(include_dashboard=False, object_store_memory=256 * 1024**2, log_to_driver=False,
                 namespace="guildmind")  # fmt: skip
    try:
        local = local_part(args)
    finally:
        if owns_ray:
            ray.shutdown()
    cluster = {} if args.no_cluster else run_cluster_process(args)
    figures: dict = {"local": {k: median_of(v) for k, v in local.items()},
                     "cluster": {k: median_of(v) for k, v in cluster.items()},
                     "runs": {"local": local, "cluster": cluster}}  # fmt: skip
    lo = figures["local"]
    figures["ratio_local_2_over_1"] = lo["2"] / lo["1"]
    figures["ratio_runtime_over_ceiling"] = {n: lo[n] / lo[f"{n}c"] for n in ("1", "2")}
    print()
    print(f"{args.guilds:,} guilds offered {args.rate:,.0f} events/s, {args.runs} runs, medians")
    for n in ("1", "2"):
        print(
            f"local    : {n} gateway(s): {lo[n]:,.0f} events/s applied; ceiling (counting "
            f"hosts) {lo[n + 'c']:,.0f} → ratio {figures['ratio_runtime_over_ceiling'][n]:.2f}"
        )
    print(f"ratio    : 2 gateways / 1 here: {figures['ratio_local_2_over_1']:.2f}")
    if "1" in cluster:
        cl = figures["cluster"]
        figures["ratio_cluster_2_over_1"] = cl["2"] / cl["1"]
        print(f"cluster  : 2 nodes × 1 CPU: 1 gateway {cl['1']:,.0f}, 2 gateways {cl['2']:,.0f} "
              f"events/s applied → ratio {figures['ratio_cluster_2_over_1']:.2f}")  # fmt: skip
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps({"args": vars(args), **figures}, indent=2))
    return figures


if __name__ == "__main__":
    main()
