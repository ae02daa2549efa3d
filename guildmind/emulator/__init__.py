"""A loopback Discord for tests, demos and benchmarks: REST + gateway that discord.py connects to.

Start an :class:`Emulator`, point discord.py at it with
``actors.sources.discord.endpoints.configure_discord_endpoints(emu.api_base, emu.gateway_url)``,
then inject events and read ``emu.sent``. This package never imports ray or discord.
"""

from __future__ import annotations

from guildmind.emulator.chatter import GAMES, LEVELS, PHRASES, ChatterProcess, Level
from guildmind.emulator.records import Counters, SentMessage
from guildmind.emulator.server import DEFAULT_GUILDS, Emulator
from guildmind.emulator.state import Channel, Guild, GuildSpec, User

__all__ = [
    "DEFAULT_GUILDS",
    "GAMES",
    "LEVELS",
    "PHRASES",
    "Channel",
    "ChatterProcess",
    "Counters",
    "Emulator",
    "Guild",
    "GuildSpec",
    "Level",
    "SentMessage",
    "User",
]
