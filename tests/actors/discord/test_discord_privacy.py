"""Forgetting, on the whole runtime: Ray, the real discord.py client, the emulator, and the state
store (SQLite, then Redis: every test runs against both).

A member erases themselves with `/guildmind-forget-me` in every guild guildmind serves (memory,
store, transcripts), also when a host crashes in the middle; an admin erases a member of their
guild; the settings commands need Manage Server; a guild the bot was removed from is deleted from
the store after its grace (not one that was only unavailable, nor one it was invited back to).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass

import msgspec
import pytest
import pytest_asyncio
from discord_testkit import config

from actors.remote.runtime import Runtime
from actors.stores.base import StateStore, open_store
from engine import GuildSnapshot
from guildmind.emulator import Emulator, GuildSpec
from guildmind.emulator.wiring import EMULATOR_TOKEN, pointed_at, wait_connected
from tests.fixtures.polling import wait_until_async

pytestmark = [pytest.mark.usefixtures("ray_session"), pytest.mark.asyncio(loop_scope="module")]

SPEED = 20.0
GRACE_S = 200.0  # virtual seconds: 10 s of real time
MANAGE_GUILD = 1 << 5
SPECS = {
    "home": GuildSpec("Home", users=3, chatter="dead"),
    "games": GuildSpec("Games", users=3, chatter="dead"),
    "gone": GuildSpec("Gone", users=2, chatter="dead"),
    "back": GuildSpec("Back", users=2, chatter="dead"),
    "outage": GuildSpec("Outage", users=2, chatter="dead"),
}
EXTRA = """
[runtime]
speed = {speed}
hosts = 2
data_dir = "{data}"
[state]
url = "{url}"
write_behind_s = 0.2
[metrics]
port = 0
[mood_rotation]
interval_s = 0
[defaults]
quiet_hours = false
[privacy]
left_grace_s = {grace}
"""
_prefixes = itertools.count()


@dataclass
class World:
    emu: Emulator
    rt: Runtime
    store: StateStore
    ids: dict[str, int]

    def guild(self, name: str):
        return self.emu.guild(self.ids[name])

    def stored(self, gid: int) -> GuildSnapshot | None:
        data = self.store.load([gid]).get(gid)
        return None if data is None else msgspec.msgpack.decode(data, type=GuildSnapshot)

    def people(self, gid: int) -> set[int]:
        """The members the store holds about, in one guild."""
        snap = self.stored(gid)
        return set() if snap is None else set(snap.present or {}) | ({snap.activity_user} - {None})

    async def wait_store(self, check, what: str, timeout: float = 30.0):
        return await wait_until_async(lambda: asyncio.to_thread(check), what=what,
                                      timeout_s=timeout, interval_s=0.1)  # fmt: skip

    async def command(self, guild: str, user: int, name: str, options=(), *,
                      permissions: int = 0) -> str:  # fmt: skip
        """Run a slash command as `user`; the text of the answer it ends with."""
        g = self.guild(guild)
        iid = await self.emu.invoke_command(g.id, user, name, list(options),
                                            permissions=permissions)  # fmt: skip
        responses = self.emu.recorder.interaction_responses

        def answered() -> list[dict]:
            mine = [r for r in responses if r["interaction_id"] == iid]
            return [r for r in mine if r.get("type") in (4, "followup")]

        await self.emu.wait_until(lambda: bool(answered()), 60)
        [answer] = answered()
        assert answer["data"].get("flags") == 64  # ephemeral: only who asked sees it
        return answer["data"]["content"]

    async def holds(self, user: int) -> int:
        """How many guilds any host still holds something about `user` in (memory): asking for
        the erasure again answers it, before erasing (nothing, when the first was complete)."""
        return sum(await asyncio.gather(
            *(w.handle.forget_user.remote(user) for w in self.rt.hosts.values())
        ))  # fmt: skip

    async def host_of(self, gid: int):
        for w in self.rt.hosts.values():
            if gid in await w.handle.guild_ids.remote():
                return w
        raise AssertionError(f"no host holds guild {gid}")


def sub(command: str, /, **options: tuple[int, object]) -> list[dict]:
    """A `/guildmind <name>` invocation's options: name=(type, value)."""
    opts = [{"name": k, "type": t, "value": v} for k, (t, v) in options.items()]
    return [{"type": 1, "name": command, "options": opts}]


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=["sqlite", "redis"])
async def world(request, tmp_path_factory) -> AsyncIterator[World]:
    data = tmp_path_factory.mktemp(f"privacy-{request.param}")
    if request.param == "redis":
        server = request.getfixturevalue("redis_server")
        url = f"{server.url}?prefix=privacy{next(_prefixes)}:"
    else:
        url = "sqlite:"
    emu = Emulator(list(SPECS.values()), seed=23, bot_token=EMULATOR_TOKEN)
    await emu.start()
    ids = {name: g.id for name, g in zip(SPECS, emu.guilds, strict=True)}
    extra = EXTRA.format(speed=SPEED, data=data, url=url, grace=GRACE_S)
    cfg = pointed_at(config(emu, extra=extra), emu)
    rt = Runtime(cfg)
    emu.use_clock(rt.clock.now, rt.clock.speed)
    await asyncio.to_thread(rt.start)
    store = open_store(url, data_dir=data)
    try:
        status = await wait_connected(rt.gateway, 30)
        assert status["ready"] and status["guilds"] == len(SPECS), status
        await emu.wait_until(lambda: bool(emu.commands.get(None)), 10)
        yield World(emu, rt, store, ids)
    finally:
        store.close()
        await asyncio.to_thread(rt.stop)
        await emu.stop()


async def test_forget_me_erases_a_member_everywhere_even_when_a_host_crashes_meanwhile(
    world: World,
) -> None:
    emu, home, games = world.emu, world.guild("home"), world.guild("games")
    alice, bob = home.human_ids[0], home.human_ids[1]
    await emu.member_join(games.id, alice)  # Alice is a member of both
    await emu.post_message(home.id, home.system_channel_id, alice, "hi, I'm Alice")
    await emu.post_message(home.id, home.system_channel_id, bob, f"<@{alice}> hi Alice!")
    await emu.set_presence(games.id, alice, activity="Celeste")
    await world.wait_store(
        lambda: alice in world.people(home.id) and alice in world.people(games.id)
        and bob in world.people(home.id),
        "Alice (and Bob) in the stored snapshots of both guilds",
    )  # fmt: skip
    # Alice asks; the host holding Games crashes while the erasure goes on
    crashed = await world.host_of(games.id)
    pid = crashed.info["pid"]
    answer = asyncio.ensure_future(world.command("home", alice, "guildmind-forget-me"))
    await asyncio.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    text = await answer
    assert text.startswith("Done: guildmind erased what it held about you"), text
    # complete afterwards: the store, and every host's memory (engine, held mentions, transcripts)
    assert alice not in world.people(home.id) and alice not in world.people(games.id)
    assert world.stored(games.id).activity_name is None
    assert await world.holds(alice) == 0
    assert bob in world.people(home.id)  # nobody else was erased
    await world.rt.check(timeout_s=30)
    assert crashed.info["pid"] != pid  # the host did restart, and reloaded the store


async def test_an_admin_erases_a_member_of_their_guild_and_only_there(world: World) -> None:
    emu, home = world.emu, world.guild("home")
    carol, owner = home.human_ids[2], home.owner_id
    await emu.post_message(home.id, home.system_channel_id, carol, "hello from Carol")
    await world.wait_store(lambda: carol in world.people(home.id), "Carol in the store")
    options = sub("forget-member", member=(6, str(carol)))
    refused = await world.command("home", world.guild("home").human_ids[1], "guildmind", options)
    assert "Manage Server" in refused and carol in world.people(home.id)
    text = await world.command("home", owner, "guildmind", options, permissions=MANAGE_GUILD)
    assert text.startswith(f"Done: guildmind erased what it held about <@{carol}>"), text
    assert carol not in world.people(home.id) and await world.holds(carol) == 0


async def test_changing_settings_needs_manage_server_and_the_prompt_setting_persists(
    world: World,
) -> None:
    g = world.guild("home")
    synced = {c["name"]: c for c in world.emu.commands[None]}
    assert int(synced["guildmind"]["default_member_permissions"]) == MANAGE_GUILD
    assert synced["guildmind-forget-me"]["default_member_permissions"] is None  # everyone's
    member = g.human_ids[1]  # a member a server's override let see the commands
    for name, options in [
        ("status", {}), ("mood", {"name": (3, "shy")}), ("channels", {"channels": (3, "default")}),
        ("timezone", {"zone": (3, "Europe/Paris")}), ("pause", {}), ("resume", {}),
        ("quiet-hours", {"start": (3, "22:00"), "end": (3, "06:00")}),
        ("prompt", {"names": (5, True)}), ("forget-member", {"member": (6, str(g.owner_id))}),
    ]:  # fmt: skip
        text = await world.command("home", member, "guildmind", sub(name, **options))
        assert "Manage Server" in text, (name, text)
    assert not world.stored(g.id).settings.prompt_names
    text = await world.command("home", g.owner_id, "guildmind",
                               sub("prompt", names=(5, True), lines=(4, 4)),
                               permissions=MANAGE_GUILD)  # fmt: skip
    assert "**The LLM sees** nothing: no LLM is configured" in text
    settings = world.stored(g.id).settings
    assert settings.prompt_names and settings.prompt_lines == 4 and settings.prompt_transcript


async def test_a_guild_the_bot_was_removed_from_is_deleted_after_its_grace(world: World) -> None:
    emu = world.emu
    gone, back, outage = (world.ids[n] for n in ("gone", "back", "outage"))
    for gid in (gone, back, outage):
        g = emu.guild(gid)
        await emu.post_message(gid, g.system_channel_id, g.human_ids[0], "hi")
    await world.wait_store(lambda: all(world.stored(g) for g in (gone, back, outage)),
                           "the three guilds in the store")  # fmt: skip
    await emu.remove_bot(gone)
    await emu.remove_bot(back)
    await emu.remove_bot(outage, outage=True)  # unavailable for a while: not removed
    await world.wait_store(
        lambda: world.stored(gone).left_at > 0 and world.stored(back).left_at > 0,
        "the removals recorded (the grace starts)",
    )
    assert world.people(gone) == set()  # its members' data went at once
    await emu.invite_bot(back)  # invited back within the grace: it resumes
    await emu.invite_bot(outage)
    await world.wait_store(lambda: world.stored(back).left_at < 0, "Back resumed")
    await world.wait_store(lambda: world.stored(gone) is None, "Gone deleted after its grace",
                           timeout=GRACE_S / SPEED + 30)  # fmt: skip
    assert world.stored(back) is not None and world.stored(outage) is not None
    assert world.stored(outage).left_at < 0
    assert await world.rt.guild(gone) is None  # and no host holds it any more
