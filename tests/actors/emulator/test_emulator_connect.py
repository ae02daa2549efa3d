"""Logging in and connecting with the real discord.py client, and the REST error shapes."""

from __future__ import annotations

import aiohttp
import discord
import pytest
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route
from emulator_harness import SPECS, Bot, running

from actors.sources.discord.endpoints import (
    DEFAULT_API_BASE,
    configure_discord_endpoints,
    reset_discord_endpoints,
)
from guildmind.emulator import Emulator, GuildSpec


async def test_client_sees_every_guild_with_channels_and_members(emu: Emulator) -> None:
    bot = Bot()
    async with running(bot, emu.token):
        assert bot.user is not None and bot.user.id == emu.bot_id and bot.user.bot
        assert bot.application_id == emu.application_id
        assert sorted(g.id for g in bot.guilds) == sorted(g.id for g in emu.guilds)
        for spec_guild in emu.guilds:
            guild = bot.get_guild(spec_guild.id)
            assert guild is not None and guild.name == spec_guild.spec.name
            assert [c.id for c in guild.text_channels] == spec_guild.channel_ids
            assert guild.system_channel is not None
            assert guild.system_channel.id == spec_guild.system_channel_id
            assert sorted(m.id for m in guild.members) == sorted(spec_guild.member_ids)
            assert guild.member_count == spec_guild.spec.users + 1
            me = guild.me
            assert guild.system_channel.permissions_for(me).send_messages
            announcements = discord.utils.get(guild.text_channels, name="announcements")
            assert announcements is not None
            assert not announcements.permissions_for(me).send_messages
    assert emu.counters.ops["IDENTIFY"] == 1
    assert emu.counters.events["GUILD_CREATE"] == len(SPECS)
    assert emu.counters.rest["GET /users/@me"] == 1
    assert emu.counters.rest["GET /oauth2/applications/@me"] == 1


async def test_plain_json_gateway_without_compression(emu: Emulator) -> None:
    # discord.py only turns compression off through this private switch; the emulator must
    # then answer in text frames.
    class PlainBot(Bot):
        async def connect(self, *, reconnect: bool = True) -> None:
            original = DiscordWebSocket.from_client.__func__  # type: ignore[attr-defined]

            async def no_compress(cls, client, **kw):  # type: ignore[no-untyped-def]
                return await original(cls, client, compress=False, **kw)

            DiscordWebSocket.from_client = classmethod(no_compress)  # type: ignore[method-assign]
            try:
                await super().connect(reconnect=reconnect)
            finally:
                DiscordWebSocket.from_client = classmethod(original)  # type: ignore[method-assign]

    bot = PlainBot()
    async with running(bot, emu.token):
        assert len(bot.guilds) == len(SPECS)


async def test_wrong_token_is_a_login_failure(emu: Emulator) -> None:
    bot = Bot()
    with pytest.raises(discord.LoginFailure, match="Improper token"):
        async with running(bot, "not-the-token"):
            pass
    assert emu.counters.rest["status 401"] == 1


async def test_refused_privileged_intent_raises_privileged_intents_required() -> None:
    async with Emulator([GuildSpec("Solo", users=2)], refuse_intents={"presences"}) as emu:
        configure_discord_endpoints(emu.api_base, emu.gateway_url)
        try:
            bot = Bot()
            with pytest.raises(discord.PrivilegedIntentsRequired):
                async with running(bot, emu.token):
                    pass
        finally:
            reset_discord_endpoints()


async def test_endpoints_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_API_BASE", "http://127.0.0.1:9/api/v10/")
    monkeypatch.setenv("DISCORD_GATEWAY_URL", "ws://127.0.0.1:9/")
    try:
        endpoints = configure_discord_endpoints()
        assert endpoints.api_base == Route.BASE == "http://127.0.0.1:9/api/v10"
        assert yarl.URL("ws://127.0.0.1:9/") == DiscordWebSocket.DEFAULT_GATEWAY
    finally:
        reset_discord_endpoints()
    assert Route.BASE == DEFAULT_API_BASE


@pytest.mark.parametrize(
    ("api", "gateway", "match"),
    [
        ("ws://127.0.0.1/api/v10", None, "must be an absolute http:// or https://"),
        (None, "http://127.0.0.1/", "must be an absolute ws:// or wss://"),
        (None, "ws://127.0.0.1/?v=10", "has a query string"),
    ],
)
def test_bad_endpoint_urls_are_clear_errors(
    api: str | None, gateway: str | None, match: str
) -> None:
    try:
        with pytest.raises(ValueError, match=match):
            configure_discord_endpoints(api, gateway)
    finally:
        reset_discord_endpoints()


async def test_rest_errors_are_discord_shaped(emu: Emulator) -> None:
    auth = {"Authorization": f"Bot {emu.token}"}
    channel = emu.guilds[0].system_channel_id
    async with aiohttp.ClientSession() as http:
        cases = [
            ("GET", "/users/@me", {}, None, 401, 0),
            ("GET", "/no/such/route", auth, None, 404, 0),
            ("POST", f"/channels/{channel}/messages", auth, b"{not json", 400, 50109),
            ("POST", f"/channels/{channel}/messages", auth, b"{}", 400, 50006),
            ("POST", "/channels/123/messages", auth, b'{"content": "x"}', 404, 10003),
            ("PUT", f"/applications/{emu.application_id}/commands", auth, b"{}", 400, 50035),
        ]
        for method, path, headers, body, status, code in cases:
            headers = {**headers, "Content-Type": "application/json"}
            async with http.request(method, emu.api_base + path, headers=headers, data=body) as r:
                assert (r.status, r.headers["Content-Type"]) == (status, "application/json"), path
                payload = await r.json()
                assert payload["code"] == code and payload["message"], path


async def test_gateway_bot_points_at_the_emulator(emu: Emulator) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.get(emu.api_base + "/gateway/bot", headers={"Authorization": f"Bot {emu.token}"}) as r,
    ):
        data = await r.json()
    assert data["url"] == emu.gateway_url
    assert data["shards"] == 1


def test_emulator_refuses_non_loopback_and_unknown_intents() -> None:
    with pytest.raises(ValueError, match="loopback only"):
        Emulator(host="0.0.0.0")
    with pytest.raises(ValueError, match="Unknown privileged intent"):
        Emulator(refuse_intents={"voice"})
    with pytest.raises(ValueError, match="chatter level 'loud'"):
        GuildSpec("x", chatter="loud")  # type: ignore[arg-type]


def test_emulator_package_imports_neither_ray_nor_discord() -> None:
    import subprocess
    import sys

    code = (
        "import sys, guildmind.emulator; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('ray', 'discord')); "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
