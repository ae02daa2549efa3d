"""The `guildmind` command."""

from __future__ import annotations

import argparse
import logging
import sys


def _scenario(args: argparse.Namespace) -> int:
    from . import scenario

    print("guildmind: the hosts' guild loop over a built-in three-hour story (virtual time)\n")
    for g in scenario.GUILDS:
        print(f"  {g.name:<15} mood {g.mood}")
    print()
    spoken = scenario.run(hours=args.hours, seed=args.seed, emit=scenario.print_decision)
    print(f"\n{len(spoken)} times the bot chose to speak; every other moment it stayed quiet.")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from . import demo

    return demo.main(args)


def _simulate(args: argparse.Namespace) -> int:
    from . import simulate

    cfg = simulate.SimConfig(
        guilds=args.guilds, hours=args.hours, seed=args.seed, policy=args.policy, rate=args.rate,
        quiet_fraction=args.quiet_fraction, rotate_moods=args.rotate_moods, round_s=args.round_s,
        budget=args.budget,
    )  # fmt: skip
    return simulate.run(cfg, args.out)


def _run(args: argparse.Namespace) -> int:
    from . import run

    return run.main(args)


def _loadtest(args: argparse.Namespace) -> int:
    from . import loadtest

    return loadtest.main(args)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="guildmind", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="the whole bot offline: emulated Discord, Ray, live console")
    from .demo import add_arguments as demo_arguments

    demo_arguments(p)
    p.set_defaults(func=_demo)
    p = sub.add_parser("scenario", help="the guild loop over a built-in story, every decision")
    p.add_argument("--hours", type=float, default=3.0)
    p.add_argument("--seed", type=int, default=7)
    p.set_defaults(func=_scenario)
    p = sub.add_parser("simulate", help="virtual time: the guild loop vs v1 over synthetic guilds")
    p.add_argument("--guilds", type=int, default=1000)
    p.add_argument("--hours", type=float, default=24.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="out/simulate", help="where report.html/.json and PNGs go")
    p.add_argument("--policy", choices=("both", "v2", "v1"), default="both")
    p.add_argument("--rate", type=float, default=60.0, help="events per guild per hour")
    p.add_argument("--quiet-fraction", type=float, default=0.5, help="guilds with quiet hours")
    p.add_argument("--rotate-moods", action="store_true", help="a new mood every hour")
    p.add_argument("--round-s", type=float, default=2.0, help="virtual seconds a round takes")
    p.add_argument(
        "--budget", type=int, default=0, help="LLM tokens per guild per UTC day (0: no limit)"
    )
    p.set_defaults(func=_simulate)
    p = sub.add_parser("run", help="the runtime on Ray until Ctrl-C (synthetic, emulator, discord)")
    from .run import add_arguments

    add_arguments(p)
    p.set_defaults(func=_run)
    p = sub.add_parser("loadtest", help="synthetic guilds through the full runtime; a report")
    from .loadtest import add_arguments as loadtest_arguments

    loadtest_arguments(p)
    p.set_defaults(func=_loadtest)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
