"""Overload: offered 2× and 5× the sustained rate, what the runtime applies, sheds and keeps
waiting (run by hand; issue 14 item 5).

    .venv/bin/python tests/bench/bench_overload.py [--guilds 100000] [--start-rate 10000]
        [--duration 20] [--factors 2 5]
    .venv/bin/python tests/bench/bench_overload.py --smoke   # tiny sizes: the suite runs it

1. sustained: `guildmind loadtest --ramp` from `--start-rate` (×1.5 a step): the highest rate
   with no drops and p99 ≤ 100 ms (the ceiling every figure below is compared with);
2. for each K in `--factors`: that rate, each event offered K times (one process generates only so
   many): events/s applied vs the sustained rate (target ≥ 0.9), event→decision p99 (target
   ≤ 1 s, from each event's arrival at the gateway), resident memory of the gateway and the hosts
   at the start and the end of the run (flat), what was shed, by type.

Writes out/bench_overload.json and the ramp's plot beside it (out/bench_overload.png).
It joins the Ray this process already runs (the test suite's), else starts a light local one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path

import ray

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from guildmind.config import parse_config
from guildmind.loadtest import LoadSpec, load_config, plot_ramp, ramp

MiB = 2**20


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark, print its figures and return them (the JSON report's content)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--guilds", type=int, default=100_000)
    ap.add_argument("--start-rate", type=float, default=10_000)
    ap.add_argument("--duration", type=float, default=20.0)
    ap.add_argument("--factors", type=int, nargs="+", default=[2, 5])
    ap.add_argument("--steps", type=int, default=None, help="at most this many ramp steps")
    ap.add_argument("--warmup", type=float, default=3.0, help="seconds before each run counts")
    ap.add_argument("--out", help="the JSON report (default out/bench_overload.json)")
    ap.add_argument("--smoke", action="store_true", help="tiny sizes: does it run at all")
    args = ap.parse_args(argv)
    if args.smoke:  # one ramp step, a few hundred guilds; the report in a temporary folder
        args.guilds, args.start_rate, args.duration, args.warmup = 300, 300.0, 1.5, 0.5
        args.steps, args.factors = 1, [2, 5]
        args.out = args.out or str(Path(tempfile.mkdtemp(prefix="gm-overload-")) / "o.json")
    out = Path(args.out or "out/bench_overload.json")
    owns_ray = not ray.is_initialized()
    if owns_ray:
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        ray.init(include_dashboard=False, object_store_memory=256 * 1024**2, log_to_driver=False,
                 namespace="guildmind")  # fmt: skip
    base = parse_config("[metrics]\nport = 0\n")
    spec = LoadSpec(args.guilds, args.start_rate, args.duration, warmup_s=args.warmup)
    try:
        print(f"{args.guilds:,} guilds: ramp from {args.start_rate:,.0f} events/s, then "
              f"{' and '.join(f'{k}×' for k in args.factors)} the sustained rate")  # fmt: skip
        report = asyncio.run(
            ramp(spec, lambda s: load_config(s, base, "/tmp/guildmind-bench-overload"),
                 p99_ms=100.0, max_steps=args.steps, overload=tuple(args.factors))
        )  # fmt: skip
    finally:
        if owns_ray:
            ray.shutdown()
    steps = report["ramp"]["steps"]
    ok = [s for s in steps if s["ok"]]
    sustained = max(ok, key=lambda s: s["events_per_s"]) if ok else steps[0]
    results: dict = {"guilds": args.guilds, "sustained": sustained, "overload": []}
    print()
    print(
        f"sustained : {sustained['events_per_s']:>9,.0f} events/s applied, p99 "
        f"{sustained['p99_ms']} ms{'' if ok else '  (no step was sustained: the first)'}"
    )
    for k, r in zip(args.factors, report["overload"], strict=True):
        row = {
            "factor": k,
            "offered_per_s": r["offered_per_s"],
            "events_per_s": r["events_per_s"],
            "applied_ratio": r["events_per_s"] / max(sustained["events_per_s"], 1.0),
            "p50_ms": r["latency_ms"]["p50"],
            "p99_ms": r["latency_ms"]["p99"],
            "shed_by_type": r["shed_by_type"],
            "dropped_by_type_reason": r["dropped_by_type_reason"],
            "rss_gateway_bytes": r["rss_gateway_bytes"],
            "rss_hosts_bytes": r["rss_hosts_bytes"],
        }
        results["overload"].append(row)
        g0, g1 = (b / MiB for b in r["rss_gateway_bytes"])
        h0, h1 = (b / MiB for b in r["rss_hosts_bytes"])
        shed = ", ".join(f"{t} {n:,}" for t, n in sorted(r["shed_by_type"].items())) or "nothing"
        print(f"{k}× offered : {r['offered_per_s']:>9,.0f} events/s → {r['events_per_s']:>9,.0f} "
              f"applied ({row['applied_ratio']:.2f} of sustained), p50 {row['p50_ms']} ms, "
              f"p99 {row['p99_ms']} ms")  # fmt: skip
        print(f"             shed: {shed}; resident: gateway {g0:,.0f} → {g1:,.0f} MiB, "
              f"hosts {h0:,.0f} → {h1:,.0f} MiB")  # fmt: skip
    results["plot"] = str(plot_ramp(steps, out.with_suffix(".png"),
                                    title=f"overload, {args.guilds:,} guilds"))  # fmt: skip
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=str))
    print(f"report: {out}, plot: {results['plot']}")
    return results


if __name__ == "__main__":
    main()
