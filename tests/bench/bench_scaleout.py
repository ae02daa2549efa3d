"""Scale-out under load: what adding a host costs while the bot runs (run by hand).

    .venv/bin/python tests/bench/bench_scaleout.py [--guilds 50000] [--rate 5000]
        [--warmup 20] [--runs 3] [--window 5]
    .venv/bin/python tests/bench/bench_scaleout.py --smoke   # tiny sizes: the suite runs it

Each run starts the runtime with two hosts and the SQLite store (a move goes through the store),
`--guilds` synthetic guilds at `--rate` events/s, and after `--warmup` seconds adds a third host
(`Runtime.add_hosts`): a third of the partitions move to it with their guilds. Measured: the time
of each step of the move (the moving partitions' new events wait at the gateway from "held" to
"routed"), the guilds moved, event-to-decision p50/p99 over the 5 s before and the 5 s from the
move's start, and whether anything was lost or applied twice (applied == generated once the
source stops). Ceiling, in the same run: the work a move cannot avoid, done directly in one
process: writing the moved guilds' snapshots to a fresh SQLite file, reading them back and
restoring them into an engine. Medians over the runs. The latency windows last `--window` s.

It joins the Ray this process already runs (the test suite's), else starts a light local one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import ray

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from actors.remote.runtime import Runtime
from actors.stores.base import open_store
from engine import AutonomousEngine
from guildmind.config import parse_config
from guildmind.loadtest import percentile

CONFIG = """
[runtime]
hosts = 2
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
"""


async def latencies(runtime: Runtime) -> dict[str, float]:
    """p50/p99 (ms) of event-to-decision since the last call, over every host."""
    hosts = [w.handle for w in runtime.hosts.values()]
    reports = await asyncio.gather(*(h.load_report.remote(reset=True) for h in hosts))
    samples = [s for r in reports for s in r["latencies"]]
    return {f"p{q}": round(percentile(samples, q / 100) * 1000, 1) for q in (50, 99)}


def ceiling(snapshots: dict[int, bytes]) -> float:
    """Seconds to write, read back and restore `snapshots`, directly (a move's floor)."""
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store("sqlite:", data_dir=tmp)
        engine = AutonomousEngine(started_at=0.0, clock=time.time)
        t0 = time.perf_counter()
        store.save(snapshots)
        ids = list(store.guild_ids())
        for gid, data in store.load(ids).items():
            engine.restore(gid, data)
        took = time.perf_counter() - t0
        store.close()
    return took


async def one_run(args, seed: int) -> dict:
    data = Path(tempfile.mkdtemp(prefix="gm-scaleout-"))
    config = parse_config(CONFIG.format(data=data, guilds=args.guilds, rate=args.rate, seed=seed))
    runtime = Runtime(config)
    runtime.start()
    try:
        await asyncio.sleep(args.warmup)
        await latencies(runtime)
        await asyncio.sleep(args.window)
        before = await latencies(runtime)
        t0 = time.monotonic()
        moves = await runtime.add_hosts(1)
        await asyncio.sleep(max(0.0, args.window - (time.monotonic() - t0)))
        during = await latencies(runtime)
        new_host = list(runtime.hosts.values())[-1].handle
        moved = await new_host.guild_ids.remote()
        await runtime.gateway.stop.remote()  # every buffered event goes out
        stats = await runtime.stats()
    finally:
        runtime.stop()
    store = open_store("sqlite:", data_dir=data)
    snapshots = store.load(moved)
    store.close()
    shutil.rmtree(data, ignore_errors=True)
    return {
        "partitions": len(moves),
        "guilds_moved": len(moved),
        "took_s": runtime.last_move["took_s"],
        "latency_ms_before": before,
        "latency_ms_during": during,
        "lost_or_twice": stats["generated"] - stats["applied"],
        "dropped": stats["dropped"],
        "ceiling_s": round(ceiling(snapshots), 3),
    }


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark, print its figures and return them (with every run's)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--guilds", type=int, default=50_000)
    ap.add_argument("--rate", type=float, default=5_000)
    ap.add_argument("--warmup", type=float, default=20.0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--window", type=float, default=5.0, help="seconds of each latency window")
    ap.add_argument("--out", help="JSON report (default out/bench_scaleout.json; none in smoke)")
    ap.add_argument("--smoke", action="store_true", help="tiny sizes: does it run at all")
    args = ap.parse_args(argv)
    if args.smoke:
        args.guilds, args.rate, args.warmup, args.runs, args.window = 300, 200.0, 1.0, 1, 1.0
    out = args.out or (None if args.smoke else "out/bench_scaleout.json")
    owns_ray = not ray.is_initialized()
    if owns_ray:
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        ray.init(include_dashboard=False, object_store_memory=256 * 1024**2, log_to_driver=False,
                 namespace="guildmind")  # fmt: skip
    runs = []
    try:
        for i in range(args.runs):
            run = asyncio.run(one_run(args, seed=i))
            print(json.dumps(run))
            runs.append(run)
    finally:
        if owns_ray:
            ray.shutdown()

    def med(f) -> float:
        return statistics.median(f(r) for r in runs)

    move = med(lambda r: r["took_s"]["routed"] - r["took_s"]["started"])
    held = med(lambda r: r["took_s"]["routed"] - r["took_s"]["held"])
    floor = med(lambda r: r["ceiling_s"])
    print()
    figures = {"move_s": move, "held_s": held, "ceiling_s": floor,
               "ratio": floor / max(move, 1e-9), "runs": runs}  # fmt: skip
    print(f"{args.guilds:,} guilds at {args.rate:,.0f} events/s, 2 → 3 hosts, {args.runs} runs")
    print(f"moved    : {med(lambda r: r['partitions']):.0f} partitions, "
          f"{med(lambda r: r['guilds_moved']):,.0f} guilds")  # fmt: skip
    print(f"move     : {move:.2f} s (hold to routed; host start not counted), "
          f"held events wait ≤ {held:.2f} s")  # fmt: skip
    print(f"ceiling  : {floor:.2f} s to write, read back and restore those guilds directly "
          f"→ ratio {figures['ratio']:.2f}")  # fmt: skip
    lat = {}
    for when in ("before", "during"):
        p50, p99 = (med(lambda r, w=when, q=q: r[f"latency_ms_{w}"][q]) for q in ("p50", "p99"))
        lat[when] = f"{p50}/{p99}"
    print(f"latency  : p50/p99 {lat['before']} ms before, {lat['during']} ms from the move on")
    print(f"lost     : {sum(r['lost_or_twice'] for r in runs)} events lost or applied twice, "
          f"drops {[r['dropped'] for r in runs]}")  # fmt: skip
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps({"args": vars(args), "runs": runs}, indent=2))
    return figures


if __name__ == "__main__":
    main()
