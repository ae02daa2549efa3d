"""`guildmind loadtest`: synthetic guilds through the full runtime, and a report of how it held up.

The runtime runs at real speed (1×) with the synthetic source at the asked rate. When the time is
up the report gives what was sent, processed and dropped, the events per second the hosts
applied, event→decision latency percentiles, decisions by action and by mood, and memory.

Latency: each host records, per batch, the time from the arrival of the batch's *oldest* event at
the gateway to the batch being decided, weighted by the batch's events: an upper bound for every
event in it (arrival at the gateway, never the synthetic schedule, which may fall behind). Memory
per guild is the hosts' resident growth over the run divided by the guilds (and by the guilds the
hosts hold at the end: at 10k events/s a short run meets only some of a million guilds).

`--load K` offers each generated event K times (past what one process generates: overload); what
the gateway sheds is reported by type. `--ramp` repeats short runs at rising rates, reports the
highest one with no drops and p99 under the bound, then offers 2× and 5× that rate (`--overload`),
and draws applied and shed events/s and p50/p99 latency against the offered rate in a PNG beside
the JSON report.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import msgspec

from config import Config


@dataclass(frozen=True)
class LoadSpec:
    guilds: int
    rate: float
    duration_s: float
    hosts: int = 0
    placement: str = "sharded"
    source: str = "synthetic"
    seed: int = 0
    warmup_s: float = 3.0
    load: int = 1  # each generated event offered this many times (overload)

    def __post_init__(self) -> None:
        if isinstance(self.load, bool) or not isinstance(self.load, int) or self.load < 1:
            raise ValueError(f"load must be an int >= 1 (offers per event), got {self.load!r}")


def percentile(samples: list[tuple[float, int]], q: float) -> float:
    """The weighted `q`-quantile (0..1) of (value, weight) samples; 0.0 when there are none."""
    total = sum(w for _, w in samples)
    if not total:
        return 0.0
    target, seen = q * total, 0
    for value, weight in sorted(samples):
        seen += weight
        if seen >= target:
            return value
    return samples[-1][0]


def load_config(spec: LoadSpec, base: Config, data_dir: str) -> Config:
    r = msgspec.structs.replace
    runtime = r(base.runtime, speed=1.0, hosts=spec.hosts, placement=spec.placement,
                data_dir=data_dir)  # fmt: skip
    synthetic = r(base.source.synthetic, guilds=spec.guilds, rate=spec.rate, seed=spec.seed)
    source = r(base.source, kind=spec.source, synthetic=synthetic)
    state = r(base.state, url="memory:") if base.state.url == "sqlite:" else base.state
    metrics = r(base.metrics, port=0)
    rules = r(base.rules, startup_s=0.0)  # a short run must see decisions from its first second
    return r(base, runtime=runtime, source=source, state=state, metrics=metrics, rules=rules)


async def run_load(spec: LoadSpec, config: Config, *, progress=None, host_class=None) -> dict:
    """One load run; returns the report (see the module docstring for what it holds).

    `host_class` replaces the guild host actor (the benchmark's routing-only ceiling).
    """
    from actors.remote.runtime import Runtime

    runtime = Runtime(config, host_class=host_class)
    runtime.start()
    try:
        rss_before = sum(w.info.get("rss", 0) for w in runtime.hosts.values())
        if spec.load != 1:
            await runtime.gateway.set_load.remote(spec.load)
        await asyncio.sleep(spec.warmup_s)  # start-up (imports, first guilds) is not steady
        await runtime.check()  # dedicated placement: the hosts made for the guilds seen so far
        hosts = [w.handle for w in runtime.hosts.values()]
        first = await asyncio.gather(*(h.load_report.remote(reset=True) for h in hosts))
        start_stats = await runtime.stats()
        started = time.monotonic()
        while (elapsed := time.monotonic() - started) < spec.duration_s:
            await asyncio.sleep(min(1.0, spec.duration_s - elapsed))
            if progress is not None:
                progress(min(elapsed + 1, spec.duration_s), await runtime.stats())
        end_stats = await runtime.stats()
        elapsed = time.monotonic() - started
        reports = await asyncio.gather(*(h.load_report.remote(reset=False) for h in hosts))
        held = sum(i["guilds"] for i in await asyncio.gather(*(h.info.remote() for h in hosts)))
    finally:
        runtime.stop()
    samples = [s for r in reports for s in r["latencies"]]
    decisions: Counter[str] = Counter()
    by_mood: Counter[str] = Counter()
    for r in reports:
        for (action, mood, _trigger), n in r["decisions"].items():
            if action != "none":
                decisions[action] += int(n)
                by_mood[mood] += int(n)
    sent = end_stats["generated"] - start_stats["generated"]
    offered = end_stats.get("offered", 0) - start_stats.get("offered", 0)
    processed = end_stats["applied"] - start_stats["applied"]
    drops = {k: n - start_stats["dropped"].get(k, 0) for k, n in end_stats["dropped"].items()}
    drops = {k: n for k, n in sorted(drops.items()) if n}
    dropped = sum(drops.values())
    shed = {k.split(":")[0]: n for k, n in drops.items() if k.endswith(":overload")}
    rss_hosts = sum(r["rss"] for r in reports)
    guilds = spec.guilds
    return {
        "guilds": guilds,
        "duration_s": round(elapsed, 3),
        "rate_asked": spec.rate,
        "load": spec.load,
        "events_sent": sent,
        "events_offered": offered,
        "events_processed": processed,
        "events_dropped": dropped,
        "dropped_by_type_reason": drops,
        "shed_by_type": shed,
        "offered_per_s": round(offered / elapsed, 1),
        "shed_per_s": round(sum(shed.values()) / elapsed, 1),
        "events_per_s": round(processed / elapsed, 1),
        "latency_ms": {
            "p50": round(percentile(samples, 0.50) * 1000, 2),
            "p99": round(percentile(samples, 0.99) * 1000, 2),
            "p999": round(percentile(samples, 0.999) * 1000, 2),
        },
        "decisions": dict(decisions),
        "decisions_by_mood": dict(by_mood),
        "rss_bytes_total": rss_hosts + end_stats.get("rss", 0),
        "rss_bytes_per_guild": round(max(0, rss_hosts - rss_before) / guilds, 1),
        "guilds_held": held,
        "rss_bytes_per_guild_held": round(max(0, rss_hosts - rss_before) / max(held, 1), 1),
        # resident memory at the start and the end of the measured stretch (flat under overload)
        "rss_hosts_bytes": [sum(r["rss"] for r in first), rss_hosts],
        "rss_gateway_bytes": [start_stats.get("rss", 0), end_stats.get("rss", 0)],
        "hosts": len(reports),
        "placement": spec.placement,
    }


def _step(rate: float, report: dict, ok: bool) -> dict:
    lat = report["latency_ms"]
    return {"rate": rate, "load": report["load"], "ok": ok,
            "offered_per_s": report["offered_per_s"], "events_per_s": report["events_per_s"],
            "shed_per_s": report["shed_per_s"], "shed_by_type": report["shed_by_type"],
            "p50_ms": lat["p50"], "p99_ms": lat["p99"]}  # fmt: skip


async def ramp(
    spec: LoadSpec, config_for, *, p99_ms: float, factor: float = 1.5, host_class=None,
    max_steps: int | None = None, overload: tuple[int, ...] = (),
) -> dict:  # fmt: skip
    """Raise the rate by `factor` per step until drops or p99 > `p99_ms` (or `max_steps` runs);
    the best run wins. Then, for each K in `overload`, offer the best rate K times over (each
    event K times: one process generates only so many); those steps are in `ramp.steps` too."""
    if max_steps is not None and max_steps < 1:
        raise ValueError(f"a ramp takes at least one step, got max_steps={max_steps!r}")
    best, rate, runs = None, spec.rate, []
    while max_steps is None or len(runs) < max_steps:
        step = LoadSpec(**{**spec.__dict__, "rate": rate})
        report = await run_load(step, config_for(step), host_class=host_class)
        # sustained: nothing dropped, p99 within the bound, and what was sent was applied (the
        # synthetic rate follows a time-of-day shape, so "sent" is the measure, not "asked")
        ok = (
            report["events_dropped"] == 0
            and report["latency_ms"]["p99"] <= p99_ms
            and report["events_processed"] >= 0.97 * report["events_sent"]
        )
        runs.append(_step(rate, report, ok))
        _say(runs[-1], report)
        if not ok:
            break
        best, rate = report, rate * factor
    result = best or report
    sustained = best["events_per_s"] if best else 0.0
    base = best["rate_asked"] if best else spec.rate
    overloaded = []
    for k in overload:
        step = LoadSpec(**{**spec.__dict__, "rate": base, "load": k})
        report = await run_load(step, config_for(step), host_class=host_class)
        runs.append(_step(base, report, False))
        overloaded.append(report)
        _say(runs[-1], report)
    result["ramp"] = {"sustained_events_per_s": sustained, "steps": runs}
    result["overload"] = overloaded  # each overload step's whole report
    return result


def _say(step: dict, report: dict) -> None:
    print(f"  ramp: {step['offered_per_s']:>10,.0f} events/s offered → "
          f"{step['events_per_s']:>10,.0f} applied, {step['shed_per_s']:>9,.0f} shed, "
          f"p99 {step['p99_ms']:.1f} ms, dropped {report['events_dropped']:,}"
          f"{'' if step['ok'] else '  ✗'}")  # fmt: skip


def plot_ramp(steps: list[dict], path: str | Path, *, title: str = "guildmind load test") -> Path:
    """Draw a ramp's steps: applied and shed events/s, and p50/p99 latency (ms, log scale),
    against the offered rate (events/s); a PNG at `path`. Returns the path."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    steps = sorted(steps, key=lambda s: s["offered_per_s"])
    x = [s["offered_per_s"] for s in steps]
    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(7, 6.5))
    top.plot(x, [s["events_per_s"] for s in steps], "o-", label="applied")
    top.plot(x, [s["shed_per_s"] for s in steps], "s--", label="shed")
    top.plot(x, x, ":", color="grey", label="offered")
    top.set_ylabel("events/s")
    top.legend()
    top.grid(alpha=0.3)
    bottom.plot(x, [max(s["p50_ms"], 0.1) for s in steps], "o-", label="p50")
    bottom.plot(x, [max(s["p99_ms"], 0.1) for s in steps], "s-", label="p99")
    bottom.set_yscale("log")
    bottom.set_ylabel("event→decision latency (ms)")
    bottom.set_xlabel("offered events/s")
    bottom.legend()
    bottom.grid(alpha=0.3, which="both")
    fig.suptitle(title)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def print_table(report: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="guildmind load test", show_header=False)
    lat = report["latency_ms"]
    rows = [
        ("guilds / hosts", f"{report['guilds']:,} / {report['hosts']} ({report['placement']})"),
        ("duration", f"{report['duration_s']:.1f} s"),
        ("events sent / processed", f"{report['events_sent']:,} / {report['events_processed']:,}"),
        ("events dropped", f"{report['events_dropped']:,}"),
        ("events/s applied", f"{report['events_per_s']:,.0f}"),
        ("event→decision p50/p99/p999", f"{lat['p50']} / {lat['p99']} / {lat['p999']} ms"),
        ("decisions", ", ".join(f"{k} {v}" for k, v in sorted(report["decisions"].items()))),
        ("memory", f"{report['rss_bytes_total'] / 2**20:,.0f} MiB in all, "
                   f"{report['rss_bytes_per_guild']:,.0f} B per guild (host growth)"),
    ]  # fmt: skip
    for k, v in rows:
        table.add_row(k, v)
    Console().print(table)


def main(args) -> int:
    import tempfile

    from rich.progress import Progress

    from .config import load_config as load_file

    base = load_file(args.config)
    data_dir = tempfile.mkdtemp(prefix="guildmind-load-")
    spec = LoadSpec(args.guilds, args.rate, args.duration, args.hosts or 0, args.placement,
                    args.source, args.seed, load=args.load)  # fmt: skip
    if args.ramp:
        report = asyncio.run(
            ramp(spec, lambda s: load_config(s, base, data_dir), p99_ms=args.p99_ms,
                 overload=tuple(args.overload))
        )  # fmt: skip
    else:
        with Progress(transient=True) as bar:
            task = bar.add_task("load", total=spec.duration_s)

            def progress(elapsed: float, stats: dict) -> None:
                bar.update(task, completed=elapsed,
                           description=f"{stats['applied']:,} events applied")  # fmt: skip

            report = asyncio.run(
                run_load(spec, load_config(spec, base, data_dir), progress=progress)
            )
    print_table(report)
    out = args.report or ("out/loadtest-ramp.json" if args.ramp else None)
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(report, indent=2))
        print(f"report written to {out}")
    if args.ramp:
        png = plot_ramp(report["ramp"]["steps"], Path(out).with_suffix(".png"),
                        title=f"guildmind load test, {spec.guilds:,} guilds")  # fmt: skip
        print(f"plot written to {png}")
    return 0


def add_arguments(p) -> None:
    p.add_argument("--config", help="guildmind.toml to start from")
    p.add_argument("--guilds", type=int, default=1000)
    p.add_argument("--rate", type=float, default=1000.0, help="events per second, all guilds")
    p.add_argument("--duration", type=float, default=30.0, help="seconds")
    p.add_argument("--source", choices=("synthetic", "emulator"), default="synthetic")
    p.add_argument("--hosts", type=int, help="guild hosts (default: the cluster's CPUs)")
    p.add_argument("--placement", choices=("sharded", "dedicated"), default="sharded")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--ramp", action="store_true", help="find the highest sustained rate")
    p.add_argument("--p99-ms", type=float, default=100.0, help="the ramp's latency bound")
    p.add_argument("--load", type=int, default=1,
                   help="offer each generated event this many times (overload)")  # fmt: skip
    p.add_argument(
        "--overload",
        type=int,
        nargs="*",
        default=[2, 5],
        metavar="K",
        help="after the ramp, offer its best rate K times over (default: 2 5)",
    )
    p.add_argument("--report", help="write the JSON report here (--ramp: out/loadtest-ramp.json; "
                   "its plot beside it, .png)")  # fmt: skip
