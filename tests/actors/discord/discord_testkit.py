"""Helpers for the discord source tests (a uniquely named module, not a conftest)."""

from __future__ import annotations

import warnings
from typing import Any

with warnings.catch_warnings():  # discord.py imports the deprecated stdlib audioop
    warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)
    import discord  # noqa: F401

from guildmind.config import Config, parse_config
from guildmind.emulator import Emulator, GuildSpec
from tests.fixtures.polling import wait_until_async


def config(emu: Emulator, *, kind: str = "emulator", extra: str = "", env=None) -> Config:
    return parse_config(
        f"""
[source]
kind = "{kind}"
[source.discord]
api_base = "{emu.api_base}"
gateway_url = "{emu.gateway_url}"
"""
        + extra,
        env=env or {},
    )


class Collected:
    """An `offer` that keeps what the source offered."""

    def __init__(self) -> None:
        self.items: list[tuple[Any, Any]] = []

    def __call__(self, event, line) -> bool:
        self.items.append((event, line))
        return True

    def of(self, kind: type) -> list:
        return [e for e, _ in self.items if type(e) is kind]

    async def wait(self, predicate, timeout: float = 5.0, what: str = "an offer") -> None:
        await wait_until_async(predicate, what=what, timeout_s=timeout, interval_s=0.02,
                               detail=lambda: f"the last offers: {self.items[-5:]}")  # fmt: skip


SPECS = [
    GuildSpec("Alpha", users=5, chatter="dead"),
    GuildSpec("Beta", users=3, chatter="dead"),
]
