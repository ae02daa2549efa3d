"""The full runtime on this machine: throughput, latency and memory per guild (run by hand).

    .venv/bin/python tests/bench/bench_runtime.py [--guilds 100000] [--duration 20]
        [--start-rate 20000] [--dedicated 200]
    .venv/bin/python tests/bench/bench_runtime.py --smoke   # tiny sizes: the suite runs it

0. the synthetic source alone: events generated per second in one process (the gateway's share
   of the work when the source is synthetic);
1. sharded: `guildmind loadtest --ramp` over `--guilds` synthetic guilds: the highest rate with no
   drops and p99 ≤ 100 ms, its latency percentiles and the hosts' resident growth per guild;
2. ceiling: the same gateway and routing to hosts that only decode batches and count events per
   guild (no engine, no rounds): what the plumbing alone sustains, in the same run;
3. dedicated: `--dedicated` guilds with a Ray actor each, at a low rate: resident bytes per guild
   (each actor is a process).

It joins the Ray this process already runs (the test suite's), else starts a light local one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

import msgspec
import ray

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from actors.remote.host import HostInfo, host_info, rss_bytes
from actors.routing.wire import Batch
from actors.sources.traffic import SyntheticTraffic
from guildmind.config import parse_config
from guildmind.loadtest import LoadSpec, load_config, ramp, run_load

if __name__ != "__main__":  # imported by the smoke test: Ray workers cannot import this file
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])


@ray.remote(num_cpus=0)
class CountingHost:
    """The ceiling: decode each batch and count events per guild; nothing else."""

    def __init__(self, name, config, clock, started_at, owns, directory=None, gateway=""):
        self.name = name
        self.decode = msgspec.msgpack.Decoder(Batch).decode
        self.counts: dict[int, int] = {}
        self.latencies: list[tuple[float, int]] = []

    async def apply(self, data: bytes):
        batch = self.decode(data)
        counts = self.counts
        for e in batch.events:
            counts[e.guild_id] = counts.get(e.guild_id, 0) + 1
        self.latencies.append((time.time() - batch.sent_at, len(batch.events)))
        return len(batch.events), False, 0

    async def info(self) -> HostInfo:
        # the same contract as GuildHost's; "127.0.0.1:1": it serves no metrics
        return host_info(self.name, "127.0.0.1:1", guilds=len(self.counts))

    async def load_report(self, reset: bool = False) -> dict:
        samples = list(self.latencies)
        if reset:
            self.latencies.clear()
        return {"latencies": samples, "decisions": {}, "rss": rss_bytes()}

    async def stop(self) -> None:
        pass

    async def guild(self, guild_id):
        return None


def synthetic_rate(guilds: int, seconds: float) -> float:
    """Events per second the synthetic source generates in this process (`seconds` of virtual
    traffic at 10,000 events/s)."""
    traffic = SyntheticTraffic(guilds, 10_000.0, seed=0)
    start = time.perf_counter()
    n = sum(1 for _ in traffic.events_until(traffic.now + seconds))
    return n / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark, print its figures and return them (the JSON report's content)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--guilds", type=int, default=100_000)
    ap.add_argument("--duration", type=float, default=20.0)
    ap.add_argument("--start-rate", type=float, default=20_000)
    ap.add_argument("--dedicated", type=int, default=200)
    ap.add_argument("--p99-ms", type=float, default=100.0)
    ap.add_argument("--warmup", type=float, default=3.0, help="seconds before each run counts")
    ap.add_argument("--steps", type=int, default=None, help="at most this many ramp steps")
    ap.add_argument("--out", help="the JSON report (default out/bench_runtime.json; none in smoke)")
    ap.add_argument("--smoke", action="store_true", help="tiny sizes: does it run at all")
    args = ap.parse_args(argv)
    if args.smoke:  # one short step of each, a few hundred guilds
        args.guilds, args.duration, args.start_rate, args.dedicated = 300, 1.0, 300.0, 1
        args.warmup, args.steps = 0.5, 1
    out = args.out or (None if args.smoke else "out/bench_runtime.json")
    owns_ray = not ray.is_initialized()
    if owns_ray:
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        ray.init(include_dashboard=False, object_store_memory=256 * 1024**2, log_to_driver=False,
                 namespace="guildmind")  # fmt: skip
    base = parse_config("[metrics]\nport = 0\n")
    results: dict = {}
    print("0. the synthetic source alone, in this process")
    results["synthetic_events_per_s"] = synthetic_rate(min(args.guilds, 1_000),
                                                       3.0 if args.smoke else 30.0)  # fmt: skip
    spec = LoadSpec(args.guilds, args.start_rate, args.duration, warmup_s=args.warmup)
    try:
        print(f"1. sharded, {args.guilds:,} guilds, ramp from {args.start_rate:,.0f} events/s")
        results["sharded"] = asyncio.run(
            ramp(spec, lambda s: load_config(s, base, "/tmp/guildmind-bench"),
                 p99_ms=args.p99_ms, max_steps=args.steps)
        )  # fmt: skip
        print("2. ceiling: the same routing to hosts that only count")
        results["ceiling"] = asyncio.run(
            ramp(spec, lambda s: load_config(s, base, "/tmp/guildmind-bench"), p99_ms=args.p99_ms,
                 host_class=CountingHost, max_steps=args.steps)
        )  # fmt: skip
        print(f"3. dedicated placement, {args.dedicated} guilds")
        small = LoadSpec(args.dedicated, 50.0, min(args.duration, 10.0), placement="dedicated",
                         warmup_s=args.warmup)  # fmt: skip
        results["dedicated"] = asyncio.run(
            run_load(small, load_config(small, base, "/tmp/gm-bench"))
        )
    finally:
        if owns_ray:
            ray.shutdown()
    s, c, d = results["sharded"], results["ceiling"], results["dedicated"]
    print()
    lat = s["latency_ms"]
    sharded, ceil = s["ramp"]["sustained_events_per_s"], c["ramp"]["sustained_events_per_s"]
    results["ratio"] = sharded / max(ceil, 1)
    results["dedicated_rss_bytes_per_guild"] = d["rss_bytes_total"] / max(d["guilds"], 1)
    print(f"synthetic: {results['synthetic_events_per_s']:>10,.0f} events/s generated (one core)")
    print(
        f"sharded  : {sharded:>10,.0f} events/s sustained (no drops, p99 ≤ {args.p99_ms:.0f} ms);"
        f" p50 {lat['p50']} ms, p99 {lat['p99']} ms; {s['rss_bytes_per_guild']:,.0f} B per guild"
    )
    print(f"ceiling  : {ceil:>10,.0f} events/s sustained (routing only)")
    print(f"ratio    : {results['ratio']:.2f} of the ceiling")
    print(
        f"dedicated: {d['guilds']} guilds, "
        f"{results['dedicated_rss_bytes_per_guild'] / 2**20:,.1f} MiB resident per guild "
        f"(one process each) vs {s['rss_bytes_per_guild']:,.0f} B sharded"
    )
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(results, indent=2, default=str))
    return results


if __name__ == "__main__":
    main()
