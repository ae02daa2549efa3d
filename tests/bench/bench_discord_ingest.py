"""Benchmark: MESSAGE_CREATE/s a gateway process takes in, the fast path vs bare discord.py.

Run by hand from the repository root::

    .venv/bin/python tests/bench/bench_discord_ingest.py --n 20000 --runs 5
    .venv/bin/python tests/bench/bench_discord_ingest.py --smoke   # tiny: the suite runs it

The emulator runs in a child process (so its JSON encoding and zlib work do not share the
client's event loop or GIL), pushes ``n`` plain MESSAGE_CREATE events as fast as the socket takes
them, and the client under test counts them. Three clients, interleaved run by run (each run a
fresh emulator process of the same configuration, then each client in turn):

- ``bare``: a bare discord.py client whose ``on_message`` only counts (the baseline, issue 14);
- ``fast``: guildmind's discord source as a gateway runs it (``actors/sources/discord``, the
  fast ingest path on), its events offered to the gateway's door (``GatewayCore.offer``) and
  batched and encoded for a host (``due_batches``, ``encode``) in the same process: an event
  counts once the door has it (what the door admits or sheds is the overload benchmark's);
- ``slow``: the same with ``fast_ingest = false`` (every event through discord.py's models).

The figures are medians over the runs; the ratios fast/bare and slow/bare are taken run by run
(the same emulator configuration, one after the other) and their medians quoted. Target:
fast/bare ≥ 4. ``measure_ingest(client_factory, n)`` is reusable: the runtime's benchmark passes
a factory for its own client and compares in the same run.
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

from discord.gateway import DiscordWebSocket
from discord.http import Route

from actors.clock import ManualClock
from actors.routing.batching import GatewayCore
from actors.sources.discord.endpoints import configure_discord_endpoints, reset_discord_endpoints
from actors.sources.discord.source import DiscordSource
from config import DiscordSourceConfig
from guildmind.emulator import Emulator, GuildSpec
from guildmind.emulator.wiring import EMULATOR_TOKEN
from metrics import GuildmindMetrics, new_registry


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


class SourceClient:
    """guildmind's discord source and the gateway's batching, as a gateway process runs them
    (without the Ray calls to the hosts): an event counts once it is offered to the door."""

    def __init__(self, fast: bool) -> None:
        self.fast = fast
        self.ready = asyncio.Event()
        self.received = 0
        self.source: DiscordSource | None = None
        self._tasks: list[asyncio.Task] = []

    async def start(self, token: str) -> None:
        config = DiscordSourceConfig(
            api_base=Route.BASE, gateway_url=str(DiscordWebSocket.DEFAULT_GATEWAY),
            fast_ingest=self.fast,
        )  # fmt: skip
        metrics = GuildmindMetrics(new_registry(process_metrics=False))
        core = GatewayCore("gw-0", route=lambda guild_id: "host-0", metrics=metrics)
        self.source = DiscordSource(config, ManualClock(1.9e9), token=token, emulated=True)
        self.source.attach(None, metrics)  # type: ignore[arg-type]
        self._tasks = [asyncio.create_task(self._pump(core))]

        def offer(event, line) -> bool:
            self.received += 1
            return core.offer(event, line)

        run = asyncio.create_task(self.source.run(offer))
        self._tasks.append(run)
        while not self.source.status()["ready"]:
            if run.done():
                raise RuntimeError(f"the source stopped: {self.source.error}")
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.5)  # the guild's arrival (its presences) settles
        self.received = 0
        self.ready.set()
        await run

    async def _pump(self, core: GatewayCore) -> None:
        while True:  # the gateway's batching loop; each batch "lands" at once
            for host, batch in core.due_batches(time.time()):
                core.encode(batch)
                core.done(host, batch.seq)
            await asyncio.sleep(0.002)

    async def wait_received(self, n: int) -> None:
        while self.received < n:
            await asyncio.sleep(0.002)

    async def close(self) -> None:
        if self.source is not None:
            await self.source.close()
        for task in self._tasks:
            task.cancel()


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
    bot_token: str | None = None, ready_s: float = 10.0,
) -> list[float]:  # fmt: skip
    """Events per second the client took in, one figure per run (``n`` events each).

    ``bot_token``: the token the emulator accepts (default: one of its own making); ``ready_s``:
    how long the client may take to connect (seconds; a runtime starts Ray first)."""
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
            ready = asyncio.ensure_future(client.ready.wait())
            await asyncio.wait((ready, task), timeout=ready_s, return_when=asyncio.FIRST_COMPLETED)
            if not ready.done():
                ready.cancel()
                raise task.exception() if task.done() else TimeoutError("the client not ready")  # type: ignore[misc]
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


CLIENTS: dict[str, Callable[[], IngestClient]] = {
    "bare": CountingClient,
    "fast": lambda: SourceClient(fast=True),
    "slow": lambda: SourceClient(fast=False),
}


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark, print its figures and return them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="events per run")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2_000, help="events before each run")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: does it run at all")
    args = parser.parse_args(argv)
    if args.smoke:
        args.n, args.runs, args.warmup = 300, 1, 100
    rates: dict[str, list[float]] = {name: [] for name in CLIENTS}
    for run in range(args.runs):
        for name, factory in CLIENTS.items():
            print(f"run {run + 1}, {name}:")
            (rate,) = asyncio.run(measure_ingest(factory, args.n, 1, args.warmup, EMULATOR_TOKEN))
            rates[name].append(rate)
    fast_ratios = [f / b for f, b in zip(rates["fast"], rates["bare"], strict=True)]
    slow_ratios = [s / b for s, b in zip(rates["slow"], rates["bare"], strict=True)]
    medians = {name: statistics.median(r) for name, r in rates.items()}
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(f"python {sys.version.split()[0]}, discord.py {discord.__version__}")
    for name, r in rates.items():
        print(f"{name}: median {medians[name]:,.0f} events/s ({', '.join(f'{x:,.0f}' for x in r)})")
    print(f"bare discord.py on_message counter: median {medians['bare']:,.0f} events/s")
    fast_ratio, slow_ratio = statistics.median(fast_ratios), statistics.median(slow_ratios)
    print(f"ratio fast/bare: median {fast_ratio:.2f} (target ≥ 4; runs "
          f"{', '.join(f'{x:.2f}' for x in fast_ratios)})")  # fmt: skip
    print(f"ratio slow/bare: median {slow_ratio:.2f}")
    return {
        "rates": rates,
        "medians": medians,
        "median_events_per_s": medians["bare"],
        "fast_ratios": fast_ratios,
        "fast_ratio": fast_ratio,
        "slow_ratio": slow_ratio,
    }


if __name__ == "__main__":
    main()
