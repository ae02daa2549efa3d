"""Wiring the loopback emulator to a runtime: `guildmind run --source emulator` and the demo.

The emulator runs in the driver's event loop on 127.0.0.1; the gateway actor's discord.py client
connects to it like to Discord. It follows the runtime clock (same speed, same virtual time).
"""

from __future__ import annotations

import asyncio
import itertools

import msgspec

from actors.sources.discord.source import EMULATOR_TOKEN
from config import Config

from .server import Emulator
from .state import GuildSpec

NAMES = (
    "Karaoke Night", "Speedrun Club", "Book Nook", "Pixel Artists", "Night Owls",
    "Study Hall", "Retro Arcade", "Garden Talk", "Synth Lab", "Movie Buffs",
)  # fmt: skip
LEVELS = ("busy", "normal", "quiet", "dead")


def guild_specs(n: int) -> list[GuildSpec]:
    """`n` guilds of every liveliness in turn (busy, normal, quiet, dead)."""
    names = itertools.cycle(NAMES)
    return [
        GuildSpec(f"{next(names)}" + (f" {i // len(NAMES) + 1}" if i >= len(NAMES) else ""),
                  users=8 if LEVELS[i % 4] != "dead" else 4, chatter=LEVELS[i % 4])  # type: ignore[arg-type]
        for i in range(n)
    ]  # fmt: skip


async def start_emulator(
    config: Config, specs: list[GuildSpec] | None = None, *, seed: int = 0
) -> tuple[Emulator, Config]:
    """Start an emulator on loopback; the configuration with the emulator source pointed at it."""
    emu = Emulator(specs, seed=seed, speed=config.runtime.speed, bot_token=EMULATOR_TOKEN)
    await emu.start()
    return emu, pointed_at(config, emu)


def pointed_at(config: Config, emu: Emulator) -> Config:
    """`config` with the `emulator` source at `emu`'s REST and gateway URLs."""
    d = msgspec.structs.replace(
        config.source.discord, api_base=emu.api_base, gateway_url=emu.gateway_url
    )
    source = msgspec.structs.replace(config.source, kind="emulator", discord=d)
    return msgspec.structs.replace(config, source=source)


async def wait_connected(gateway, timeout_s: float = 60.0) -> dict:
    """Wait until the gateway's source is connected or has stopped with an error; its status."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        status = await gateway.source_status.remote()
        if status["ready"] or status["error"]:
            return status
        if asyncio.get_running_loop().time() > deadline:
            return {**status, "error": f"not connected within {timeout_s:.0f} s"}
        await asyncio.sleep(0.1)
