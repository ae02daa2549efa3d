"""Benchmark: MESSAGE_CREATE events per second through discord.py, against the emulator.

Run by hand from the repository root::

    .venv/bin/python tests/bench/bench_discord_ingest.py --n 20000 --runs 5
    .venv/bin/python tests/bench/bench_discord_ingest.py --smoke   # tiny: the suite runs it

The emulator runs in a child process (so its JSON encoding and zlib work do not share the
client's event loop or GIL), pushes ``n`` MESSAGE_CREATE events as fast as the socket takes
them, and the client under test counts them. The figure is the median of ``runs`` blasts
over one connection, after a warm-up. ``measure_ingest(client_factory, n)`` is reusable:
the runtime's benchmark passes a factory for its own client and compares in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing as mp
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Protocol

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # discord.py imports audioop
    import discord

from actors.sources.discord.endpoints import configure_discord_endpoints, reset_discord_endpoints
from guildmind.emulator import Emulator, GuildSpec


class IngestClient(Protocol):
    """What ``measure_ingest`` needs from the client under test."""

    ready: asyncio.Event

    async def start(self, token: str) -> None: ...
    async def close(self) -> None: ...
    async def wait_received(self, n: int) -> None:
        """Return once ``n`` messages in total have been received since start."""
        ...


class CountingClient(discord.Client):
    """The baseline: a bare discord.py client whose ``on_message`` only counts."""

    def __init__(self) -> None:
        intents = discord.Intents.default()
        intents.message_content = True
        super().__init__(intents=intents, guild_ready_timeout=0.05)
        self.ready = asyncio.Event()
        self.received = 0
        self._target = 0
        self._reached = asyncio.Event()

    async def on_ready(self) -> None:
        self.ready.set()

    async def on_message(self, message: discord.Message) -> None:
        self.received += 1
        if self.received >= self._target:
            self._reached.set()

    async def wait_received(self, n: int) -> None:
        self._target = n
        self._reached.clear()
        if self.received < n:
            await self._reached.wait()


def _emulator_process(pipe: Connection, bot_token: str | None) -> None:
    async def main() -> None:
        emu = Emulator([GuildSpec("Bench", users=20, chatter="dead")], seed=1, bot_token=bot_token)
        async with emu:
            pipe.send((emu.api_base, emu.gateway_url, emu.token))
            loop = asyncio.get_running_loop()
            while True:
                command = await loop.run_in_executor(None, pipe.recv)
                if command[0] == "stop":
                    return
                start = time.perf_counter()
                await emu.blast(command[1])
                while emu.gateway.backlog():
                    await asyncio.sleep(0.001)
                pipe.send(time.perf_counter() - start)

    asyncio.run(main())


async def measure_ingest(
    client_factory: Callable[[], IngestClient], n: int, runs: int = 5, warmup: int = 2_000,
    bot_token: str | None = None,
) -> list[float]:  # fmt: skip
    """Events per second the client took in, one figure per run (``n`` events each).

    ``bot_token``: the token the emulator accepts (default: one of its own making)."""
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_emulator_process, args=(child, bot_token), daemon=True)
    proc.start()
    loop = asyncio.get_running_loop()
    try:
        api_base, gateway_url, token = await loop.run_in_executor(None, parent.recv)
        configure_discord_endpoints(api_base, gateway_url)
        client = client_factory()
        task = asyncio.create_task(client.start(token))
        try:
            await asyncio.wait_for(client.ready.wait(), 10)
            total, rates = 0, []
            for size in [warmup] + [n] * runs:
                total += size
                start = time.perf_counter()
                parent.send(("blast", size))
                await client.wait_received(total)
                elapsed = time.perf_counter() - start
                emulator_elapsed = await loop.run_in_executor(None, parent.recv)
                if size == n:
                    rates.append(n / elapsed)
                    # The emulator is done when its socket buffer took the last frame; if
                    # that is close to ``elapsed``, the emulator, not the client, is the limit.
                    print(
                        f"  run: client {n / elapsed:,.0f}/s, emulator done at "
                        f"{emulator_elapsed / elapsed:.0%} of the client's time"
                    )
            return rates
        finally:
            await client.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, 5)
    finally:
        reset_discord_endpoints()
        parent.send(("stop",))
        proc.join(10)


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark, print its figures and return them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="events per run")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2_000, help="events before the runs")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: does it run at all")
    args = parser.parse_args(argv)
    if args.smoke:
        args.n, args.runs, args.warmup = 300, 1, 100
    rates = asyncio.run(measure_ingest(CountingClient, args.n, args.runs, args.warmup))
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(f"python {sys.version.split()[0]}, discord.py {discord.__version__}")
    print("runs (events/s): " + ", ".join(f"{r:,.0f}" for r in rates))
    median = statistics.median(rates)
    print(f"bare discord.py on_message counter: median {median:,.0f} events/s")
    return {"rates": rates, "median_events_per_s": median}


if __name__ == "__main__":
    main()
