"""The `guildmind` command."""

from __future__ import annotations

import argparse
import logging
import sys


def _scenario(args: argparse.Namespace) -> int:
    from . import scenario

    print("guildmind: the engine alone, over a built-in three-hour story (virtual time)\n")
    for g in scenario.GUILDS:
        print(f"  {g.name:<15} mood {g.mood}")
    print()
    spoken = scenario.run(hours=args.hours, seed=args.seed, emit=scenario.print_decision)
    print(f"\n{len(spoken)} times the bot chose to speak; every other moment it stayed quiet.")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="guildmind", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="the offline demo (for now: the engine over a built-in story)")
    p.add_argument("--hours", type=float, default=3.0)
    p.add_argument("--seed", type=int, default=7)
    p.set_defaults(func=_scenario)
    p = sub.add_parser("scenario", help="the engine alone over a built-in story, every decision")
    p.add_argument("--hours", type=float, default=3.0)
    p.add_argument("--seed", type=int, default=7)
    p.set_defaults(func=_scenario)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
