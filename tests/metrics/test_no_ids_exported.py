"""No id and no name in anything guildmind exports, in every placement.

The whole runtime (Ray, the real discord.py client against the emulator, with busy chatter, games
started, members joining, mentions answered, slash commands run) under a real Prometheus that finds
every process through the driver's ``/sd``. Every label value of every series Prometheus scraped,
and every target and label the ``/sd`` document lists, is checked: none may look like a Discord id
(a number of 15 to 20 digits), be one of the emulator's ids, or hold a member's name, a guild's
name or a game's name. With ``placement = "dedicated"`` each guild has a host process of its
own, whose name (the ``process`` label, the ``host`` label of the restart counter) used to be
``…guild-<guild id>``. Every endpoint also listens on loopback, as nothing configured otherwise.
"""

from __future__ import annotations

import asyncio
import json
import re
import urllib.request
from pathlib import Path

import pytest

from actors.remote.runtime import Runtime
from guildmind.config import parse_config
from guildmind.emulator import Emulator, GuildSpec
from guildmind.emulator.chatter import GAMES
from guildmind.emulator.wiring import EMULATOR_TOKEN, pointed_at, wait_connected
from tests.fixtures.polling import wait_until_async
from tests.fixtures.prometheus import Prometheus, run_prometheus

pytestmark = pytest.mark.usefixtures("ray_session")

SNOWFLAKE = re.compile(r"(?<!\d)\d{15,20}(?!\d)")
SPECS = [
    GuildSpec("Quokka Lounge", users=4, chatter="busy"),
    GuildSpec("Zanzibar Nights", users=3, chatter="busy"),
]
TOML = """
[runtime]
speed = 20
hosts = 2
placement = "{placement}"
data_dir = "{data}"
[metrics]
port = 0
[defaults]
quiet_hours = false
"""


def leaks(value: str, ids: set[str], names: list[str]) -> str | None:
    """Why `value` must not be exported, or None."""
    if SNOWFLAKE.search(value):
        return "a Discord id"
    if any(i in value for i in ids):
        return "an id of the emulator's"
    folded = value.casefold()
    hit = next((n for n in names if n.casefold() in folded), None)
    return None if hit is None else f"the name {hit!r}"


def known(emu: Emulator) -> tuple[set[str], list[str]]:
    """The emulator's ids (guilds, channels, users, the bot) and names (members, guilds, games)."""
    world = emu.world
    ids = {str(u) for u in world.users} | {str(c) for c in world.channels}
    ids |= {str(g) for g in world.guilds}
    people = [u.username for u in world.users.values() if not u.bot]  # (the bot is guildmind)
    names = people + [p.title() for p in people] + [g.name for g in world.guilds.values()]
    names += list(GAMES)
    return ids, names


def sd_document(url: str) -> list[dict]:
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.load(r)


def exported(prom: Prometheus) -> list[dict[str, str]]:
    """Every series Prometheus holds, as its label sets (the metric name included)."""
    return prom.api("series", **{"match[]": '{__name__=~".+"}'})


@pytest.mark.parametrize("placement", ["sharded", "dedicated"])
async def test_no_label_and_no_target_carries_an_id_or_a_name(
    placement: str, tmp_path: Path
) -> None:
    emu = Emulator(SPECS, seed=31, bot_token=EMULATOR_TOKEN)
    await emu.start()
    cfg = pointed_at(
        parse_config(TOML.format(placement=placement, data=tmp_path / "data"), env={}), emu
    )
    assert cfg.metrics.host == "127.0.0.1"  # nothing configured: loopback
    rt = Runtime(cfg)
    emu.use_clock(rt.clock.now, rt.clock.speed)
    emu.speed = rt.clock.speed
    await asyncio.to_thread(rt.start)
    try:
        assert (await wait_connected(rt.gateway, 30))["ready"]
        assert rt.discovery is not None and rt.discovery.url.startswith("http://127.0.0.1:")
        emu.start_chatter()
        g = emu.guilds[0]
        await emu.wait_until(lambda: bool(emu.commands.get(None)), 10)
        for user in g.human_ids:  # every kind of event, with names and games in them
            await emu.set_presence(g.id, user, activity=GAMES[user % len(GAMES)])
        await emu.member_join(g.id)
        await emu.invoke_command(g.id, g.owner_id, "guildmind",
                                 [{"type": 1, "name": "status", "options": []}],
                                 permissions=1 << 5)  # fmt: skip
        await emu.invoke_command(g.id, g.human_ids[1], "guildmind-forget-me", [])
        ids, names = known(emu)
        with run_prometheus(tmp_path / "prom", rt.discovery.url) as prom:
            hosts = 2 if placement == "sharded" else len(SPECS)

            async def scraped() -> bool:
                await rt.check(timeout_s=10)
                up = [t for t in prom.targets() if t["health"] == "up"]
                sent = prom.query("sum(guildmind_messages_sent_total)")
                return (
                    sum(t["labels"]["role"] == "host" for t in up) == hosts
                    and len(up) == hosts + 2
                    and bool(sent) and float(sent[0]["value"][1]) > 0
                )  # fmt: skip

            # (at 20x the 120 s start-up gate passes in 6 s; then mentions get answers)
            what = f"{hosts} hosts, the gateway and the driver up; a message sent"
            await wait_until_async(scraped, timeout_s=90, interval_s=0.5, what=what)
            await asyncio.sleep(2)  # a scrape more of every target, after the bot spoke
            series = await asyncio.to_thread(exported, prom)
            document = await asyncio.to_thread(sd_document, rt.discovery.url)
        assert any(s["__name__"] == "guildmind_decisions_total" for s in series)
        bad = [
            (s["__name__"], label, value, why)
            for s in series
            for label, value in s.items()
            if (why := leaks(value, ids, names))
        ]
        assert bad == [], bad
        for group in document:
            for text in [*group["targets"], *group["labels"].values()]:
                assert leaks(text, ids, names) is None, (text, group)
            for target in group["targets"]:
                assert target.startswith("127.0.0.1:"), target  # loopback unless configured
        processes = {grp["labels"]["process"] for grp in document}
        if placement == "dedicated":
            assert sum(p.startswith(f"{rt.prefix}guild-") for p in processes) == len(SPECS)
    finally:
        await emu.stop_chatter()
        await asyncio.to_thread(rt.stop)
        await emu.stop()
