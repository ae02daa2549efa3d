"""Benchmark: cold resume, the gateway's process SIGKILLed while people talk.

Run by hand from the repository root::

    .venv/bin/python tests/bench/bench_cold_resume.py --runs 3
    .venv/bin/python tests/bench/bench_cold_resume.py --smoke   # tiny: the suite runs it

The whole runtime on Ray behind the real discord.py client (the ``emulator`` source) against the
emulator: humans talk in a guild (a message every ``--every`` s), the gateway actor's process is
SIGKILLed, Ray restarts it, the driver's ``check()`` starts it again, and it RESUMEs the session it
stored. Figures, per run and as medians:

- **kill → first replayed message applied**: from the SIGKILL until the guild's host has applied
  more messages than were sent before the kill (so at least one sent during the outage, which
  only Discord's replay can bring);
- **lost** (sent, never applied) and **applied twice**: from the host's own count of the guild's
  messages against what the humans sent; **IDENTIFYs** spent after the kill (the emulator counts
  the opcodes).

Compared in the same run with the floor, **kill → connected** (Ray's restart of the process and
the new gateway connection: nothing can be applied before it), and with the control, the same kill
with ``cold_resume = false``: it identifies, and what was sent meanwhile is lost.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1]), str(HERE.parents[0] / "actors" / "discord")]

from cold_resume_kit import Outage, kill_while_talking, world  # noqa: E402


async def one(cold: bool, before: int, outage: int, every_s: float, settle_s: float) -> Outage:
    async with world(tempfile.mkdtemp(prefix="gm-bench-resume-"), cold=cold) as (emu, rt, cfg):
        return await kill_while_talking(
            emu, rt, cfg, before=before, outage=outage, every_s=every_s, settle_s=settle_s
        )


def line(name: str, runs: list[Outage]) -> None:
    print(
        f"{name}: kill→connected {[round(r.kill_to_connected_s, 2) for r in runs]} s, "
        f"kill→first replayed applied {[round(r.kill_to_applied_s, 2) for r in runs]} s, "
        f"sent {[len(r.sent) for r in runs]}, lost {[r.lost for r in runs]}, applied twice "
        f"{[r.doubled for r in runs]}, IDENTIFYs {[r.identifies for r in runs]}, RESUMEs "
        f"{[r.resumes for r in runs]}, replayed {[r.replayed for r in runs]}"
    )


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark, print its figures and return them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--before", type=int, default=60, help="messages before the kill")
    parser.add_argument("--outage", type=int, default=80, help="messages from the kill on")
    parser.add_argument("--every", type=float, default=0.05, help="seconds between messages")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: does it run at all")
    args = parser.parse_args(argv)
    settle_s = 20.0
    if args.smoke:
        args.runs, args.before, args.outage, settle_s = 1, 10, 10, 6.0
    cold, control = [], []
    for i in range(args.runs):
        cold.append(asyncio.run(one(True, args.before, args.outage, args.every, settle_s)))
        control.append(asyncio.run(one(False, args.before, args.outage, args.every, settle_s)))
        line(f"run {i + 1} cold resume ", cold[-1:])  # as it goes: a long run may be cut short
        line(f"run {i + 1} control     ", control[-1:])
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    line("cold resume   ", cold)
    line("control (off) ", control)
    applied_s = statistics.median(r.kill_to_applied_s for r in cold)
    connected_s = statistics.median(r.kill_to_connected_s for r in cold)
    lost = sum(r.lost for r in cold)
    print(f"median kill→first replayed applied: {applied_s:.2f} s; floor kill→connected "
          f"{connected_s:.2f} s (ratio {connected_s / applied_s:.2f}); lost {lost}, applied "
          f"twice {sum(r.doubled for r in cold)}, IDENTIFYs {sum(r.identifies for r in cold)}; "
          f"control: lost {sum(r.lost for r in control)}, "
          f"IDENTIFYs {sum(r.identifies for r in control)}")  # fmt: skip
    return {
        "kill_to_applied_s": [r.kill_to_applied_s for r in cold],
        "kill_to_connected_s": [r.kill_to_connected_s for r in cold],
        "median_kill_to_applied_s": applied_s,
        "median_kill_to_connected_s": connected_s,
        "ratio": connected_s / applied_s,
        "sent": [len(r.sent) for r in cold],
        "lost": [r.lost for r in cold],
        "doubled": [r.doubled for r in cold],
        "identifies": [r.identifies for r in cold],
        "resumes": [r.resumes for r in cold],
        "control_lost": [r.lost for r in control],
        "control_identifies": [r.identifies for r in control],
    }


if __name__ == "__main__":
    main()
