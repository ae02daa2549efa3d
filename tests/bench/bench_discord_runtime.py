"""Benchmark: events/s through discord.py *and* the whole runtime, vs a bare discord.py client.

Run by hand from the repository root::

    .venv/bin/python tests/bench/bench_discord_runtime.py --n 20000 --runs 5
    .venv/bin/python tests/bench/bench_discord_runtime.py --smoke   # tiny: the suite runs it

Both sides take the same MESSAGE_CREATE blasts from the emulator (in a child process, see
``bench_discord_ingest.measure_ingest``), in the same run. The baseline is a bare discord.py
client whose ``on_message`` only counts. The runtime side is guildmind itself: the gateway
actor's discord.py client (the ``emulator`` source: the ``discord`` one with the emulator's fixed
token, so no secret has to reach Ray's workers), normalisation, batching, Ray calls to the guild
hosts, and the engine applying each event; an event counts once a host has applied it (the
gateway's ``stats()["applied"]``). Target: runtime/baseline ≥ 0.8. The runtime joins the Ray this
process already runs (the test suite's), else starts a light local one.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1]), str(HERE)]

from bench_discord_ingest import CountingClient, measure_ingest  # noqa: E402
from discord.gateway import DiscordWebSocket  # noqa: E402
from discord.http import Route  # noqa: E402

from actors.remote.runtime import Runtime  # noqa: E402
from guildmind.config import parse_config  # noqa: E402
from guildmind.emulator.wiring import EMULATOR_TOKEN, wait_connected  # noqa: E402


class RuntimeClient:
    """The whole runtime, behind `measure_ingest`'s client interface."""

    def __init__(self, hosts: int) -> None:
        self.hosts = hosts
        self.ready = asyncio.Event()
        self.runtime: Runtime | None = None
        self.base = 0
        self._closed = asyncio.Event()

    async def start(self, token: str) -> None:
        assert token == EMULATOR_TOKEN, "measure_ingest(..., bot_token=EMULATOR_TOKEN)"
        cfg = parse_config(
            f"""
[runtime]
hosts = {self.hosts}
address = "local"  # a Ray of its own (unless this process runs one), never a cluster here
data_dir = "{tempfile.mkdtemp(prefix="gm-bench-")}"
[state]
url = "memory:"
[metrics]
port = 0
[defaults]
quiet_hours = false
[source]
kind = "emulator"
[source.discord]
api_base = "{Route.BASE}"
gateway_url = "{DiscordWebSocket.DEFAULT_GATEWAY}"
""",
            env={},
        )
        self.runtime = Runtime(cfg)
        await asyncio.to_thread(self.runtime.start)
        status = await wait_connected(self.runtime.gateway, 60)
        if status["error"]:
            raise RuntimeError(status["error"])
        await asyncio.sleep(1.0)  # the guild's arrival (presences, default channel) settles
        self.base = await self.applied()
        self.ready.set()
        await self._closed.wait()

    async def applied(self) -> int:
        assert self.runtime is not None
        return (await self.runtime.stats())["applied"]

    async def wait_received(self, n: int) -> None:
        while await self.applied() - self.base < n:
            await asyncio.sleep(0.005)

    async def close(self) -> None:
        if self.runtime is not None:
            await asyncio.to_thread(self.runtime.stop)
            self.runtime = None
        self._closed.set()


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark, print its figures and return them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="events per run")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2_000, help="events before the runs")
    parser.add_argument("--hosts", type=int, default=2)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: does it run at all")
    args = parser.parse_args(argv)
    if args.smoke:
        args.n, args.runs, args.warmup, args.hosts = 300, 1, 100, 1
    token = EMULATOR_TOKEN
    print("bare discord.py client (on_message counts):")
    bare = asyncio.run(measure_ingest(CountingClient, args.n, args.runs, args.warmup, token))
    print("guildmind runtime (discord.py → gateway actor → hosts → engine):")
    # the runtime starts Ray, its actors and the shared limits before it connects: minutes, not 10 s
    full = asyncio.run(
        measure_ingest(
            lambda: RuntimeClient(args.hosts), args.n, args.runs, args.warmup, token, ready_s=120.0
        )
    )
    b, f = statistics.median(bare), statistics.median(full)
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(f"bare discord.py: median {b:,.0f} events/s ({', '.join(f'{r:,.0f}' for r in bare)})")
    print(f"guildmind runtime: median {f:,.0f} events/s ({', '.join(f'{r:,.0f}' for r in full)})")
    print(f"ratio runtime/bare: {f / b:.2f} (target ≥ 0.8)")
    return {"bare": bare, "runtime": full, "bare_median": b, "runtime_median": f, "ratio": f / b}


if __name__ == "__main__":
    main()
