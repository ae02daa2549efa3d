"""Latency and memory with the number of guilds: 100k and 1M guilds at the same rate (run by hand;
issue 14 item 5).

    .venv/bin/python tests/bench/bench_guilds.py [--guilds 100000 1000000] [--rate 10000]
        [--duration 20]
    .venv/bin/python tests/bench/bench_guilds.py --smoke   # tiny sizes: the suite runs it

Each size is one `guildmind loadtest` run at `--rate`: event→decision p50/p99 (targets for 1M at
10k events/s: p99 ≤ 100 ms) and the hosts' resident growth per guild (≤ 1 KiB), per guild of
the run and per guild the hosts hold at its end (a short run meets only some of a million
guilds). The smallest size is the reference: p99 of each size over its p99, in the same run.
It joins the Ray this process already runs (the test suite's), else starts a light local one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

import ray

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from guildmind.config import parse_config
from guildmind.loadtest import LoadSpec, load_config, run_load


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark, print its figures and return them (the JSON report's content)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--guilds", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--rate", type=float, default=10_000)
    ap.add_argument("--duration", type=float, default=20.0)
    ap.add_argument("--warmup", type=float, default=3.0, help="seconds before each run counts")
    ap.add_argument("--out", help="the JSON report (default out/bench_guilds.json)")
    ap.add_argument("--smoke", action="store_true", help="tiny sizes: does it run at all")
    args = ap.parse_args(argv)
    if args.smoke:
        args.guilds, args.rate, args.duration, args.warmup = [500, 5_000], 300.0, 1.5, 0.5
    out = Path(args.out or ("/dev/null" if args.smoke else "out/bench_guilds.json"))
    owns_ray = not ray.is_initialized()
    if owns_ray:
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        ray.init(include_dashboard=False, object_store_memory=256 * 1024**2, log_to_driver=False,
                 namespace="guildmind")  # fmt: skip
    base = parse_config("[metrics]\nport = 0\n")
    runs = []
    try:
        for guilds in sorted(args.guilds):
            print(f"{guilds:,} guilds at {args.rate:,.0f} events/s for {args.duration:g} s")
            spec = LoadSpec(guilds, args.rate, args.duration, warmup_s=args.warmup)
            runs.append(asyncio.run(run_load(spec, load_config(spec, base, "/tmp/gm-guilds"))))
    finally:
        if owns_ray:
            ray.shutdown()
    ref = runs[0]["latency_ms"]["p99"]
    results = {"rate": args.rate, "runs": runs, "p99_ratio": {}}
    print()
    for r in runs:
        lat = r["latency_ms"]
        results["p99_ratio"][r["guilds"]] = lat["p99"] / max(ref, 1e-9)
        print(
            f"{r['guilds']:>9,} guilds: {r['events_per_s']:>8,.0f} events/s applied, "
            f"dropped {r['events_dropped']:,}, p50 {lat['p50']} ms, p99 {lat['p99']} ms "
            f"({results['p99_ratio'][r['guilds']]:.2f}× the smallest's); "
            f"{r['rss_bytes_per_guild']:,.0f} B per guild, "
            f"{r['rss_bytes_per_guild_held']:,.0f} B per guild held ({r['guilds_held']:,})"
        )
    if not args.smoke:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2, default=str))
    return results


if __name__ == "__main__":
    main()
