"""Fixture: a started emulator with discord.py pointed at it, reset afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from emulator_harness import SPECS

from actors.sources.discord.endpoints import configure_discord_endpoints, reset_discord_endpoints
from guildmind.emulator import Emulator


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    # identify_window=0: these tests connect clients back to back (the limit has its own tests)
    emulator = Emulator(SPECS, seed=7, identify_window=0)
    async with emulator:
        configure_discord_endpoints(emulator.api_base, emulator.gateway_url)
        try:
            yield emulator
        finally:
            reset_discord_endpoints()
