"""`guildmind demo`: the whole bot, offline, in a minute.

No token, no network: a loopback Discord emulator with a handful of guilds of different moods
and liveliness, the real discord.py client in the gateway actor, the full Ray runtime, template
content, and the runtime clock sped up (60× by default: a virtual hour a real minute). A live
console shows each guild's mood and momentum and a feed of what the bot said and why; Prometheus
discovers the runtime's metrics on localhost. Ctrl-C stops it cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import sys
import tempfile
import time

from config import Config

from .config import parse_config
from .demo_view import DemoView

# (name, chatter, users, mood): a lively bubbly guild and a shy one with the same traffic, …
GUILDS = (
    ("Karaoke Night", "busy", 10, "bubbly"),
    ("Book Nook", "busy", 8, "shy"),
    ("Speedrun Club", "normal", 8, "excited"),
    ("Night Owls", "quiet", 6, "curious"),
    ("Dusty Archive", "dead", 5, "silly"),
    ("Study Hall", "normal", 6, "serious"),
    ("Garden Talk", "quiet", 5, "sleepy"),
    ("Retro Arcade", "busy", 9, "neutral"),
)


def _port(preferred: int) -> int:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", preferred))
        except OSError:
            return 0  # taken: any free port
    return preferred


def demo_config(moods: dict[int, str], *, speed: float, hosts: int) -> Config:
    guilds = "".join(f"[guilds.{gid}]\nmood = '{mood}'\n" for gid, mood in moods.items())
    return parse_config(
        f"""
[runtime]
speed = {speed}
hosts = {hosts}
data_dir = "{tempfile.mkdtemp(prefix="guildmind-demo-")}"
[state]
url = "memory:"
[metrics]
port = {_port(9464)}
[defaults]
quiet_hours = false   # the demo runs whatever the hour
"""
        + guilds,
        file="<demo>",
        env={},
    )


async def run(
    *, speed: float, guilds: int, duration: float | None, seed: int, live: bool | None
) -> int:
    from actors.remote.cluster import init_ray, shutdown_ray
    from actors.remote.runtime import Runtime
    from guildmind.emulator import Emulator, GuildSpec
    from guildmind.emulator.wiring import EMULATOR_TOKEN, pointed_at, wait_connected

    chosen = [GUILDS[i % len(GUILDS)] for i in range(guilds)]
    specs = [GuildSpec(n, users=u, chatter=c) for n, c, u, _ in chosen]  # type: ignore[arg-type]
    emu = Emulator(specs, seed=seed, speed=speed, bot_token=EMULATOR_TOKEN)
    moods = {g.id: m for g, (*_, m) in zip(emu.guilds, chosen, strict=True)}
    names = {g.id: g.name for g in emu.guilds}
    live = sys.stdout.isatty() if live is None else live
    say = print if not live else (lambda *a, **k: None)
    print(f"guildmind demo: {guilds} emulated guilds, runtime clock at {speed:g}×, starting Ray …")
    await emu.start()
    cfg = pointed_at(demo_config(moods, speed=speed, hosts=2), emu)
    owns_ray = init_ray(quiet=True)  # quiet workers: the console is the demo's
    runtime = Runtime(cfg)
    emu.use_clock(runtime.clock.now, runtime.clock.speed)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    failed = 0
    try:
        await asyncio.to_thread(runtime.start)
        status = await wait_connected(runtime.gateway, 60)
        if status["error"]:
            print(f"guildmind demo: {status['error']}", file=sys.stderr)
            return 1
        emu.chatter.mention_share = 0.01  # mostly chatter among themselves, now and then the bot
        emu.start_chatter()
        assert runtime.discovery is not None
        view = DemoView(
            names, started_at=runtime.started_at, speed=speed, url=runtime.discovery.url
        )
        say(f"guildmind demo: connected; Prometheus discovery at {runtime.discovery.url}")
        await _watch(runtime, view, stop, duration, live, say)
    finally:
        print("guildmind demo: stopping …")
        t0 = time.monotonic()
        await emu.stop_chatter()
        await asyncio.to_thread(runtime.stop)
        await emu.stop()
        if owns_ray:
            shutdown_ray()
        print(f"guildmind demo: stopped in {time.monotonic() - t0:.1f} s")
    return failed


async def _watch(runtime, view: DemoView, stop, duration, live: bool, say) -> None:
    from rich.live import Live

    cursor, started = 0, time.monotonic()
    where: dict[int, object] = {}  # guild → the host that answered for it
    context = Live(view.render(), refresh_per_second=4, transient=False) if live else None
    with context or contextlib.nullcontext():
        while not stop.is_set():
            states = {gid: await _guild(runtime, gid, where) for gid in view.names}
            cursor, said = await runtime.gateway.said_since.remote(cursor)
            for line in view.update(runtime.clock.now(), states, said):
                say(line)
            for line in view.summary():
                say(line)
            if context is not None:
                context.update(view.render())
            if duration is not None and time.monotonic() - started >= duration:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)


async def _guild(runtime, gid: int, where: dict[int, object]) -> dict | None:
    handle = where.get(gid)
    if handle is not None:
        return await handle.guild.remote(gid)
    for w in runtime.hosts.values():
        found = await w.handle.guild.remote(gid)
        if found is not None:
            where[gid] = w.handle
            return found
    return None


def main(args) -> int:
    live = False if args.plain else None
    return asyncio.run(
        run(speed=args.speed, guilds=args.guilds, duration=args.duration, seed=args.seed, live=live)
    )


def add_arguments(p) -> None:
    p.add_argument("--speed", type=float, default=60.0, help="runtime clock speed (default 60×)")
    p.add_argument("--guilds", type=int, default=5, help="emulated guilds (default 5)")
    p.add_argument("--duration", type=float, help="stop after this many seconds")
    p.add_argument("--seed", type=int, default=7, help="the emulated users' story")
    p.add_argument("--plain", action="store_true", help="plain lines even on a terminal")
