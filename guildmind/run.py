"""`guildmind run`: the runtime until Ctrl-C or SIGTERM, with a status line now and then."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time

import msgspec

from config import Config

from .config import ConfigError, load_config


def configure(args) -> Config:
    """The configuration file, with the command line's overrides applied."""
    cfg = load_config(args.config)
    runtime, source = cfg.runtime, cfg.source
    if args.address:
        runtime = msgspec.structs.replace(runtime, address=args.address)
    if args.speed is not None:
        runtime = msgspec.structs.replace(runtime, speed=args.speed)
    if args.hosts is not None:
        runtime = msgspec.structs.replace(runtime, hosts=args.hosts)
    if args.source:
        source = msgspec.structs.replace(source, kind=args.source)
    synthetic = source.synthetic
    if args.guilds is not None:
        synthetic = msgspec.structs.replace(synthetic, guilds=args.guilds)
    if args.rate is not None:
        synthetic = msgspec.structs.replace(synthetic, rate=args.rate)
    source = msgspec.structs.replace(source, synthetic=synthetic)
    return msgspec.structs.replace(cfg, runtime=runtime, source=source)


async def serve(
    cfg: Config, *, duration: float | None, report_s: float = 5.0, guilds: int | None = None
) -> int:
    from actors.remote.cluster import init_ray, shipped_code, shutdown_ray
    from actors.remote.runtime import Runtime

    emu = None
    if cfg.source.kind == "emulator":  # a loopback Discord in this process, on the runtime clock
        from guildmind.emulator.wiring import guild_specs, start_emulator

        emu, cfg = await start_emulator(cfg, guild_specs(guilds or 4))
        print(f"guildmind: Discord emulator at {emu.api_base} with {len(emu.guilds)} guilds")
    runtime = Runtime(cfg)
    if emu is not None:
        emu.use_clock(runtime.clock.now, runtime.clock.speed)
    print(f"guildmind: starting ({cfg.source.kind} source, {cfg.runtime.placement} placement)")
    # here, in the main thread (Ray's signal handlers)
    owns_ray = init_ray(cfg.runtime.address, shipped_code(cfg.runtime))
    await asyncio.to_thread(runtime.start)  # the emulator keeps serving meanwhile
    assert runtime.discovery is not None
    print(f"guildmind: {len(runtime.hosts)} hosts; Prometheus discovery at {runtime.discovery.url}")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    watcher = asyncio.create_task(runtime.watch(stop))
    started = time.monotonic()
    failed = 0
    try:
        if cfg.source.kind in ("discord", "emulator"):
            from guildmind.emulator.wiring import wait_connected

            status = await wait_connected(runtime.gateway)
            if status["error"]:
                print(f"guildmind: {status['error']}", file=sys.stderr)
                failed = 1
                stop.set()
            else:
                print(f"guildmind: connected to Discord, {status['guilds']} guilds")
        if emu is not None:
            emu.start_chatter()
        while not stop.is_set():
            with_timeout = report_s if duration is None else min(report_s, duration)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), with_timeout)
            try:
                s = await asyncio.wait_for(runtime.stats(), report_s)
            except Exception as e:  # the gateway is restarting (Ray brings it back): ride it out
                print(f"  the gateway is not answering ({type(e).__name__}); Ray restarts it")
            else:
                dropped = sum(s["dropped"].values())
                print(
                    f"  events {s['applied']:,} applied, {s['queued']:,} queued, "
                    f"{dropped:,} dropped · messages sent {s['delivered']:,} "
                    f"(failed {s['failed']:,})"
                )
            if duration is not None and time.monotonic() - started >= duration:
                stop.set()
    finally:
        print("guildmind: stopping: draining buffers and writing every guild …")
        stop.set()  # the watcher lets a partition move under way finish
        with contextlib.suppress(Exception):
            await asyncio.wait_for(watcher, 60)
        if emu is not None:
            await emu.stop_chatter()
        await asyncio.to_thread(runtime.stop)
        if emu is not None:
            await emu.stop()
        if owns_ray:
            shutdown_ray()
        print("guildmind: stopped")
    return failed


def main(args) -> int:
    try:
        cfg = configure(args)
    except ConfigError as e:
        print(f"guildmind: {e}", file=sys.stderr)
        return 2
    return asyncio.run(serve(cfg, duration=args.duration, guilds=args.guilds))


def add_arguments(p) -> None:
    p.add_argument("--config", help="guildmind.toml (default: every default)")
    p.add_argument("--source", choices=("synthetic", "emulator", "discord"))
    p.add_argument("--address", help="a Ray cluster to join (default: RAY_ADDRESS, else local)")
    p.add_argument("--speed", type=float, help="runtime clock speed (tests and demos only)")
    p.add_argument("--hosts", type=int, help="guild hosts (default: the cluster's CPUs)")
    p.add_argument("--guilds", type=int, help="synthetic (or emulated) guilds")
    p.add_argument("--rate", type=float, help="synthetic events per second, all guilds")
    p.add_argument("--duration", type=float, help="stop after this many seconds")
