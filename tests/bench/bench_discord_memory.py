"""Benchmark: a gateway's memory per guild and per member, with realistic GUILD_CREATE payloads.

Run by hand from the repository root::

    .venv/bin/python tests/bench/bench_discord_memory.py
    .venv/bin/python tests/bench/bench_discord_memory.py --smoke   # tiny: the suite runs it

The emulator (in a child process) serves 10 guilds of 300 members, 4 of 3,000, 2 of 30,000
(10 % online: Discord's GUILD_CREATE of a guild above 250 members lists only those online; the
rest come on request). guildmind's discord source connects to it as a gateway runs it, and the
Python heap it keeps once every guild is ready is measured with tracemalloc (after a
collection): discord.py's caches (guilds, channels, roles, members and their users and
presences) and guildmind's own.
Each size is compared with a run of as many one-member guilds, and that with a run of one
one-member guild (what the process keeps whatever it serves: the client, its HTTP session, the
slash command tree), so

    bytes per guild  = (kept(G one-member guilds) − kept(1 one-member guild)) / (G − 1)
    bytes per member = (kept(G N-member guilds) − kept(G one-member guilds)) / (G × (N − 1))

Two configurations, each against a fresh emulator of the same guilds:

- ``chunked``: the source as it runs (discord.py asks for every guild's whole member list at
  start, with the members intent: it needs each member cached to pass on their presence
  updates, so a large guild's offline members are fetched and kept);
- ``online only``: the same without that request (members online at GUILD_CREATE, and those who
  join, are cached): what the member cache costs for the members who are offline.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import multiprocessing as mp
import statistics
import sys
import time
import tracemalloc
import warnings
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # discord.py imports audioop
    import discord  # noqa: F401

from actors.clock import ManualClock
from actors.sources.discord.endpoints import configure_discord_endpoints, reset_discord_endpoints
from actors.sources.discord.source import DiscordSource
from config import DiscordSourceConfig
from guildmind.emulator import Emulator, GuildSpec
from guildmind.emulator.wiring import EMULATOR_TOKEN


def _emulator_process(pipe: Connection) -> None:
    """Serves one emulator at a time: ("start", guilds, members, online) → its URLs; "stop"."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        while True:
            command = await loop.run_in_executor(None, pipe.recv)
            if command == "quit":
                return
            _, guilds, members, online = command
            specs = [
                GuildSpec(
                    f"G{i}", users=members, chatter="dead", online=online, second_channel=False
                )
                for i in range(guilds)
            ]
            async with Emulator(specs, seed=1, bot_token=EMULATOR_TOKEN) as emu:
                pipe.send((emu.api_base, emu.gateway_url))
                await loop.run_in_executor(None, pipe.recv)  # "stop"

    asyncio.run(main())


async def kept_bytes(
    pipe: Connection, guilds: int, members: int, online: float, chunked: bool
) -> int:
    """The Python heap a source keeps for `guilds` guilds of `members` members each."""
    loop = asyncio.get_running_loop()
    pipe.send(("start", guilds, members, online))
    try:
        api_base, gateway_url = await loop.run_in_executor(None, pipe.recv)
        configure_discord_endpoints(api_base, gateway_url)
        gc.collect()
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        config = DiscordSourceConfig(api_base=api_base, gateway_url=gateway_url)
        source = DiscordSource(config, ManualClock(1.9e9), token=EMULATOR_TOKEN, emulated=True)
        make = source._make_client

        def make_client():  # the `online only` configuration: no member list asked for
            client = make()
            client._connection._chunk_guilds = chunked
            return client

        source._make_client = make_client  # type: ignore[method-assign]
        task = asyncio.create_task(source.run(lambda event, line: True))
        try:
            deadline = time.monotonic() + 120
            while not _settled(source, guilds, members, chunked):
                if task.done() or time.monotonic() > deadline:
                    raise RuntimeError(f"the source did not settle: {source.error}")
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.2)
            gc.collect()
            kept = tracemalloc.get_traced_memory()[0] - base
        finally:
            tracemalloc.stop()
            await source.close()
            task.cancel()
        return kept
    finally:
        reset_discord_endpoints()
        pipe.send("stop")


def _settled(source: DiscordSource, guilds: int, members: int, chunked: bool) -> bool:
    client = source.client
    if client is None or not source.status()["ready"] or len(client.guilds) < guilds:
        return False
    return not chunked or all(len(g.members) == members + 1 for g in client.guilds)


async def _measure(
    pipe: Connection, label: str, chunked: bool, sizes: list[tuple[int, ...]], online: float
) -> dict:
    fixed = await kept_bytes(pipe, 1, 1, 1.0, chunked)
    print(f"{label:12}: the process, with one one-member guild: {fixed:,} B kept")
    rows = []
    for members, guilds in sizes:
        empty = await kept_bytes(pipe, guilds, 1, 1.0, chunked)
        full = await kept_bytes(pipe, guilds, members, online, chunked)
        per_guild = (empty - fixed) / (guilds - 1)
        per_member = (full - empty) / (guilds * (members - 1))
        rows.append({"members": members, "guilds": guilds, "kept_bytes": full,
                     "bytes_per_guild": per_guild, "bytes_per_member": per_member})  # fmt: skip
        print(f"{label:12}: {guilds:3} guilds × {members:6,} members ({online:.0%} online): "
              f"{full / 2**20:7.1f} MiB kept, {per_guild:9,.0f} B per guild, "
              f"{per_member:7,.0f} B per member")  # fmt: skip
    return {
        "fixed_bytes": fixed,
        "rows": rows,
        "bytes_per_member": statistics.median(r["bytes_per_member"] for r in rows),
        "bytes_per_guild": statistics.median(r["bytes_per_guild"] for r in rows),
    }


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark, print its figures and return them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="300x10,3000x4,30000x2",
                        help="members x guilds, comma-separated")  # fmt: skip
    parser.add_argument("--online", type=float, default=0.1, help="share of members online")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: does it run at all")
    args = parser.parse_args(argv)
    if args.smoke:
        args.sizes = "300x2"
    sizes = [tuple(int(x) for x in part.split("x")) for part in args.sizes.split(",")]
    if any(members < 2 or guilds < 2 for members, guilds in sizes):
        parser.error(f"--sizes: each needs ≥ 2 members and ≥ 2 guilds, got {args.sizes!r}")
    figures: dict[str, dict] = {}
    ctx = mp.get_context("spawn")
    pipe, child = ctx.Pipe()
    proc = ctx.Process(target=_emulator_process, args=(child,), daemon=True)
    proc.start()
    try:
        for label, chunked in (("chunked", True), ("online only", False)):
            figures[label] = asyncio.run(_measure(pipe, label, chunked, sizes, args.online))
    finally:
        pipe.send("quit")
        proc.join(10)
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    for label, f in figures.items():
        print(f"{label}: median {f['bytes_per_guild']:,.0f} B per guild, "
              f"{f['bytes_per_member']:,.0f} B per member")  # fmt: skip
    return figures


if __name__ == "__main__":
    main()
