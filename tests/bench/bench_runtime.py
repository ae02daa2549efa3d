"""The full runtime on this machine: throughput, latency and memory per guild (run by hand).

    .venv/bin/python tests/bench/bench_runtime.py [--guilds 100000] [--duration 20]
        [--start-rate 20000] [--dedicated 200]

1. sharded: `guildmind loadtest --ramp` over `--guilds` synthetic guilds: the highest rate with no
   drops and p99 ≤ 100 ms, its latency percentiles and the hosts' resident growth per guild;
2. ceiling: the same gateway and routing to hosts that only decode batches and count events per
   guild (no engine, no rounds): what the plumbing alone sustains, in the same run;
3. dedicated: `--dedicated` guilds with a Ray actor each, at a low rate: resident bytes per guild
   (each actor is a process).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

import msgspec
import ray

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from actors.remote.host import rss_bytes
from actors.routing.wire import Batch
from guildmind.config import parse_config
from guildmind.loadtest import LoadSpec, load_config, ramp, run_load


@ray.remote(num_cpus=0)
class CountingHost:
    """The ceiling: decode each batch and count events per guild; nothing else."""

    def __init__(self, name, config, clock, started_at, owns, directory=None, gateway=""):
        self.name = name
        self.decode = msgspec.msgpack.Decoder(Batch).decode
        self.counts: dict[int, int] = {}
        self.latencies: list[tuple[float, int]] = []

    async def apply(self, data: bytes):
        import time

        batch = self.decode(data)
        counts = self.counts
        for e in batch.events:
            counts[e.guild_id] = counts.get(e.guild_id, 0) + 1
        self.latencies.append((time.time() - batch.sent_at, len(batch.events)))
        return len(batch.events), False, 0

    async def info(self) -> dict:
        return {"name": self.name, "pid": os.getpid(), "metrics": "127.0.0.1:1", "rss": rss_bytes()}

    async def load_report(self, reset: bool = False) -> dict:
        samples = list(self.latencies)
        if reset:
            self.latencies.clear()
        return {"latencies": samples, "decisions": {}, "rss": rss_bytes()}

    async def stop(self) -> None:
        pass

    async def guild(self, guild_id):
        return None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--guilds", type=int, default=100_000)
    ap.add_argument("--duration", type=float, default=20.0)
    ap.add_argument("--start-rate", type=float, default=20_000)
    ap.add_argument("--dedicated", type=int, default=200)
    ap.add_argument("--p99-ms", type=float, default=100.0)
    ap.add_argument("--out", default="out/bench_runtime.json")
    args = ap.parse_args()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(include_dashboard=False, object_store_memory=256 * 1024**2, log_to_driver=False,
             namespace="guildmind")  # fmt: skip
    base = parse_config("[metrics]\nport = 0\n")
    results = {}
    spec = LoadSpec(args.guilds, args.start_rate, args.duration)
    print(f"1. sharded, {args.guilds:,} guilds, ramp from {args.start_rate:,.0f} events/s")
    results["sharded"] = asyncio.run(
        ramp(spec, lambda s: load_config(s, base, "/tmp/guildmind-bench"), p99_ms=args.p99_ms)
    )
    print("2. ceiling: the same routing to hosts that only count")
    results["ceiling"] = asyncio.run(
        ramp(spec, lambda s: load_config(s, base, "/tmp/guildmind-bench"), p99_ms=args.p99_ms,
             host_class=CountingHost)
    )  # fmt: skip
    print(f"3. dedicated placement, {args.dedicated} guilds")
    small = LoadSpec(args.dedicated, 50.0, min(args.duration, 10.0), placement="dedicated")
    results["dedicated"] = asyncio.run(run_load(small, load_config(small, base, "/tmp/gm-bench")))
    ray.shutdown()
    s, c, d = results["sharded"], results["ceiling"], results["dedicated"]
    print()
    lat = s["latency_ms"]
    sharded, ceil = s["ramp"]["sustained_events_per_s"], c["ramp"]["sustained_events_per_s"]
    print(
        f"sharded  : {sharded:>10,.0f} events/s sustained (no drops, p99 ≤ {args.p99_ms:.0f} ms);"
        f" p50 {lat['p50']} ms, p99 {lat['p99']} ms; {s['rss_bytes_per_guild']:,.0f} B per guild"
    )
    print(f"ceiling  : {ceil:>10,.0f} events/s sustained (routing only)")
    print(f"ratio    : {sharded / max(ceil, 1):.2f} of the ceiling")
    per_guild = d["rss_bytes_total"] / max(d["guilds"], 1)
    print(
        f"dedicated: {d['guilds']} guilds, {per_guild / 2**20:,.1f} MiB resident per guild "
        f"(one process each) vs {s['rss_bytes_per_guild']:,.0f} B sharded"
    )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
