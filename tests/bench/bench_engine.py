"""Engine throughput and memory, beside the practical ceiling, in one run (run by hand).

    .venv/bin/python tests/bench/bench_engine.py [--guilds 100000] [--events 1000000] [--runs 5]
    .venv/bin/python tests/bench/bench_engine.py --smoke   # tiny sizes, ~1 s: the suite runs it

Events are pre-encoded as msgpack batches of 1,000 (as they cross the Ray boundary). The engine
path decodes each batch and applies every event, deciding after each counted message (as a guild
host does). The ceiling decodes the same batches and bumps a dict counter per event. Also prints
the bytes one idle guild costs (tracemalloc over 100k guilds).
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from engine import AutonomousEngine, Event, MemberJoinEvent, MessageEvent, PresenceEvent

T0 = 1_700_000_000.0
MOODS = ["neutral", "bubbly", "shy", "curious", "excited", "silly", "serious", "sleepy"]


def make_batches(guilds: int, events: int, seed: int = 1) -> list[bytes]:
    """A realistic mix: 85 % messages (bursty, skewed to busy guilds), 12 % presence, 3 % joins."""
    rng = random.Random(seed)
    weights = [1.0 / (i + 1) ** 0.8 for i in range(guilds)]  # a few busy guilds, a long tail
    ids = rng.choices(range(1, guilds + 1), weights=weights, k=events)
    out, batch, at = [], [], T0 + 300
    for gid in ids:
        at += 0.0005
        r = rng.random()
        if r < 0.85:
            ev: Event = MessageEvent(gid, 1, rng.randrange(1, 50), at, r < 0.01, r < 0.005)
        elif r < 0.97:
            ev = PresenceEvent(
                gid, rng.randrange(1, 50), at, r < 0.95, "Tetris" if r < 0.88 else None
            )
        else:
            ev = MemberJoinEvent(gid, rng.randrange(50, 10_000), at)
        batch.append(ev)
        if len(batch) == 1000:
            out.append(msgspec.msgpack.encode(batch))
            batch = []
    if batch:
        out.append(msgspec.msgpack.encode(batch))
    return out


def run_engine(batches: list[bytes], guilds: int) -> tuple[float, int, int]:
    decoder = msgspec.msgpack.Decoder(list[Event])
    engine = AutonomousEngine(rng=random.Random(7), started_at=T0)
    for gid in range(1, guilds + 1):
        engine.update_mood(gid, MOODS[gid % len(MOODS)], at=T0)
    apply, check, record = engine.apply, engine.check, engine.record_action
    n = acted = 0
    start = time.perf_counter()
    for data in batches:
        for ev in decoder.decode(data):
            n += 1
            if apply(ev):
                d = check(ev.guild_id, at=ev.at, triggered_by_message=True)
                if d is not None:
                    record(ev.guild_id, d.action, at=ev.at)
                    acted += 1
    return time.perf_counter() - start, n, acted


def run_ceiling(batches: list[bytes]) -> tuple[float, int]:
    decoder = msgspec.msgpack.Decoder(list[Event])
    counts: dict[int, int] = {}
    n = 0
    start = time.perf_counter()
    for data in batches:
        for ev in decoder.decode(data):
            counts[ev.guild_id] = counts.get(ev.guild_id, 0) + 1
            n += 1
    return time.perf_counter() - start, n


def idle_guild_bytes(guilds: int) -> float:
    gc.collect()
    tracemalloc.start()
    engine = AutonomousEngine(rng=random.Random(1), started_at=T0)
    base = tracemalloc.get_traced_memory()[0]
    for gid in range(1, guilds + 1):
        engine.update_mood(gid, MOODS[gid % len(MOODS)], at=T0)
        engine.track_presence(gid, 5, at=T0 + 1)  # one member seen online
    used = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    return used / guilds


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Run the benchmark, print its figures and return them."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--guilds", type=int, default=100_000)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--smoke", action="store_true", help="tiny sizes: does it run, not how fast")
    args = ap.parse_args(argv)
    if args.smoke:
        args.guilds, args.events, args.runs = 1_000, 20_000, 1
    batches = make_batches(args.guilds, args.events)
    engine_rates, ceiling_rates = [], []
    for _ in range(args.runs):
        dt, n = run_ceiling(batches)
        ceiling_rates.append(n / dt)
        dt, n, acted = run_engine(batches, args.guilds)
        engine_rates.append(n / dt)
    eng, ceil = statistics.median(engine_rates), statistics.median(ceiling_rates)
    print(f"guilds={args.guilds} events={args.events} runs={args.runs} (medians)")
    print(f"engine  : {eng:12,.0f} events/s  (decode + apply + check per message; {acted} acted)")
    print(f"ceiling : {ceil:12,.0f} events/s  (decode + dict counter)")
    print(f"ratio   : {eng / ceil:.2f} of the ceiling")
    idle = idle_guild_bytes(args.guilds)
    print(f"idle guild: {idle:,.0f} bytes each")
    return {
        "engine_events_per_s": eng, "ceiling_events_per_s": ceil, "ratio": eng / ceil,
        "events": n, "acted": acted, "idle_guild_bytes": idle,
    }  # fmt: skip


if __name__ == "__main__":
    main()
