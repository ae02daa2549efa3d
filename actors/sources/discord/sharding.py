"""What Discord says about the bot's shards: `GET /gateway/bot`, asked before the gateways start.

The runtime splits the bot's shards over its gateway actors, so it must know the shard count
before any of them connects (discord.py's `AutoShardedClient` asks by itself only when it runs
every shard). The token is read here from the environment of this process, as the source does.
"""

from __future__ import annotations

import asyncio
import os

import msgspec
from discord.http import HTTPClient

from actors.sources.discord.endpoints import configure_discord_endpoints
from config import Config


class BotGateway(msgspec.Struct, frozen=True):
    """Discord's answer: the recommended shard count and the IDENTIFY concurrency (buckets)."""

    shards: int
    max_concurrency: int


async def fetch_bot_gateway(config: Config) -> BotGateway:
    """`GET /gateway/bot` with the bot's token (the emulator's, for the `emulator` source).

    Raises ValueError without a token, and discord.py's `LoginFailure`/`HTTPException` when
    Discord refuses (https://discord.com/developers/docs/events/gateway#get-gateway-bot)."""
    from actors.sources.discord.source import EMULATOR_TOKEN  # (a cycle otherwise)

    d = config.source.discord
    token = (
        EMULATOR_TOKEN if config.source.kind == "emulator" else os.environ.get(d.token_env, "")
    ).strip()
    if not token:
        raise ValueError(f"no bot token: set the environment variable {d.token_env}")
    configure_discord_endpoints(d.api_base or None, d.gateway_url or None)
    http = HTTPClient(asyncio.get_running_loop())
    try:
        await http.static_login(token)
        shards, _, limit = await http.get_bot_gateway()
    finally:
        await http.close()
    return BotGateway(int(shards), int(limit.get("max_concurrency", 1)) or 1)


__all__ = ["BotGateway", "fetch_bot_gateway"]
