"""The whole runtime on Ray behind the real discord.py client, against the emulator.

One runtime and one emulator for the module (each test has guilds of its own), the runtime clock
at 20× so the 120 s start-up gate passes in 6 s and a quiet hour is minutes. Chatter is off: each
test writes its own traffic.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import pytest_asyncio
from discord_testkit import config

from actors.remote.runtime import Runtime
from actors.stores.base import open_store
from engine.state import restore
from guildmind.emulator import Emulator, GuildSpec
from guildmind.emulator.wiring import EMULATOR_TOKEN, pointed_at, wait_connected
from tests.fixtures.polling import wait_until_async

pytestmark = [pytest.mark.usefixtures("ray_session"), pytest.mark.asyncio(loop_scope="module")]

SPEED = 20.0
SPECS = {  # name → (mood, spec)
    "early": ("neutral", GuildSpec("Early", users=3, chatter="dead")),
    "bubbly": ("bubbly", GuildSpec("Bubbly", users=6, chatter="dead")),
    "shy": ("shy", GuildSpec("Shy", users=6, chatter="dead")),
    "mentions": ("neutral", GuildSpec("Mentions", users=4, chatter="dead")),
    "admin": ("neutral", GuildSpec("Admin", users=3, chatter="dead")),
    "dead": ("restless", GuildSpec("Dead", users=4, chatter="dead")),
    # asleep: it never speaks on its own, so no remark of its own can move its chattiness
    "chatty": ("asleep", GuildSpec("Chatty", users=3, chatter="dead")),
}
# silence_base_s: a quiet spell of 300 s (15 s of real time) is enough to break the silence
EXTRA = """
[runtime]
speed = {speed}
hosts = 2
data_dir = "{data}"
[metrics]
port = 0
[mood_rotation]
interval_s = 0
[defaults]
quiet_hours = false
[rules]
silence_base_s = 300
[moods.restless]
energy = 1.0
sociability = 0.5
impulsiveness = 0.5
curiosity = 0.1
"""


@dataclass
class World:
    emu: Emulator
    rt: Runtime
    ids: dict[str, int]

    def guild(self, name: str):
        return self.emu.guild(self.ids[name])

    async def said(self, name: str) -> list:
        _, said = await self.rt.gateway.said_since.remote(0)
        return [s for s in said if s.message.guild_id == self.ids[name]]

    async def wait_said(self, name: str, n: int = 1, timeout: float = 20.0) -> list:
        return await wait_until_async(lambda: self.said(name), ok=lambda found: len(found) >= n,
                                      what=f"{n} messages of the bot in {name}",
                                      timeout_s=timeout)  # fmt: skip

    async def virtual_time(self, at: float, what: str) -> None:
        """Until the runtime clock reaches `at`."""
        await wait_until_async(lambda: self.rt.clock.now() >= at, what=what,
                               timeout_s=(at - self.rt.clock.now()) / SPEED + 20)  # fmt: skip

    async def past_the_gap(self, name: str) -> None:
        """Until the 30 s minimum between the bot's actions in `name` has passed (virtual)."""
        last = max((s.at for s in await self.said(name)), default=0.0)
        await self.virtual_time(last + 31, f"31 s after the bot last spoke in {name}")

    async def replies_to(self, message_id: int, timeout: float = 10.0):
        def answered() -> list:
            return [
                s for s in self.emu.sent
                if int((s.message_reference or {}).get("message_id") or 0) == message_id
            ]  # fmt: skip

        await self.emu.wait_until(lambda: bool(answered()), timeout)
        return answered()

    async def talk(self, name: str, n: int, *, every: float = 0.03, mention: bool = False):
        g = self.guild(name)
        last = 0
        for i in range(n):
            user = g.human_ids[i % len(g.human_ids)]
            last = await self.emu.post_message(
                g.id, g.system_channel_id, user, f"message {i}", mention_bot=mention
            )
            await asyncio.sleep(every)
        return last

    def virtual_since_start(self) -> float:
        return self.rt.clock.now() - self.rt.started_at


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory) -> AsyncIterator[World]:
    emu = Emulator([spec for _, spec in SPECS.values()], seed=11, bot_token=EMULATOR_TOKEN)
    await emu.start()
    ids = {name: g.id for name, g in zip(SPECS, emu.guilds, strict=True)}
    moods = "".join(f"[guilds.{ids[n]}]\nmood = '{m}'\n" for n, (m, _) in SPECS.items())
    data = tmp_path_factory.mktemp("discord-runtime")
    cfg = pointed_at(config(emu, extra=EXTRA.format(speed=SPEED, data=data) + moods), emu)
    rt = Runtime(cfg)
    emu.use_clock(rt.clock.now, rt.clock.speed)
    await asyncio.to_thread(rt.start)
    try:
        status = await wait_connected(rt.gateway, 30)
        assert status["ready"] and status["guilds"] == len(SPECS), status
        yield World(emu, rt, ids)
    finally:
        await asyncio.to_thread(rt.stop)
        await emu.stop()


async def test_nothing_is_sent_in_the_first_120_seconds(world: World) -> None:
    g = world.guild("early")
    early_at = world.virtual_since_start()
    early = await world.emu.post_message(
        g.id, g.system_channel_id, g.human_ids[0], "hi", mention_bot=True
    )
    await world.virtual_time(world.rt.started_at + 125, "125 s of virtual time since the start")
    later = await world.emu.post_message(
        g.id, g.system_channel_id, g.human_ids[1], "hi?", mention_bot=True
    )
    assert await world.replies_to(later)
    if early_at < 120:  # the runtime was up within the gate: the early mention stays unanswered
        assert not [
            s
            for s in world.emu.sent
            if int((s.message_reference or {}).get("message_id") or 0) == early
        ]
    assert world.emu.sent and all(s.at >= world.rt.started_at + 120 for s in world.emu.sent)


async def test_a_busy_chat_gets_join_conversation_in_a_bubbly_guild_and_fomo_in_a_shy_one(
    world: World,
) -> None:
    for _ in range(19):  # the same busy traffic in both guilds
        await world.talk("bubbly", 1, every=0)
        await world.talk("shy", 1, every=0.05)
    first = (await world.wait_said("bubbly"))[0]
    assert first.message.action == "join_conversation" and "momentum" in first.reason
    await world.talk("shy", 19, every=0.05)  # 38 messages: shy still waits
    # every one of them applied (each decided as it came), and none made the bot act ...
    shy = await wait_until_async(
        lambda: world.rt.guild(world.ids["shy"]),
        ok=lambda g: g and (g["messages_since_appearance"] >= 38 or g["last_action"]),
        what="the 38 messages in the shy guild applied",
    )
    assert shy["last_action"] is None and shy["messages_since_appearance"] == 38, shy
    assert await world.said("shy") == []
    # ... while four more, in the same guild, do: fomo's threshold for shy is 40
    await world.talk("shy", 4, every=0.05)
    first = (await world.wait_said("shy"))[0]
    assert first.message.action == "fomo_response"


async def test_a_mention_and_a_reply_to_the_bot_get_replies(world: World) -> None:
    mention = await world.talk("mentions", 1, mention=True)
    answer = (await world.replies_to(mention))[0]
    g = world.guild("mentions")
    await world.past_the_gap("mentions")
    reply = await world.emu.post_message(
        g.id, g.system_channel_id, g.human_ids[1], "really?", reply_to=answer.message_id
    )
    assert await world.replies_to(reply)
    actions = {s.message.action for s in await world.said("mentions")}
    assert actions == {"reply"}


async def test_malformed_message_creates_do_not_stop_the_bot(world: World) -> None:
    g = world.guild("mentions")
    good = world.emu.messages.create(g.system_channel_id, g.human_ids[0], "x", dispatch=False)
    for missing in ("channel_id", "author", "id"):
        broken = {k: v for k, v in good.items() if k != missing}
        await world.emu.dispatch_raw("MESSAGE_CREATE", broken, g.id)
    await world.past_the_gap("mentions")
    mention = await world.talk("mentions", 1, mention=True)
    assert await world.replies_to(mention)
    stats = await world.rt.stats()
    assert stats["malformed_payloads"] == 3 and stats["restarts"] == 0


async def test_a_forced_reconnect_resumes_without_losing_the_guilds(world: World) -> None:
    resumes = world.emu.counters.ops["RESUME"]
    assert await world.emu.force_reconnect() >= 1
    await world.emu.wait_until(lambda: world.emu.counters.ops["RESUME"] > resumes, 10)
    await world.past_the_gap("mentions")
    mention = await world.talk("mentions", 1, mention=True)
    assert await world.replies_to(mention)
    assert (await world.rt.stats())["guilds"] == len(SPECS)
    assert world.emu.counters.ops["IDENTIFY"] == 1  # resumed, never identified again


def command(sub: str, /, **options: object) -> list[dict]:
    opts = [{"name": k, "type": 3, "value": v} for k, v in options.items()]
    return [{"type": 1, "name": sub, "options": opts}]


async def test_admins_steer_the_bot_with_slash_commands_and_changes_persist(world: World) -> None:
    emu, g = world.emu, world.guild("admin")
    await emu.wait_until(lambda: bool(emu.commands.get(None)), 10)
    responses = emu.recorder.interaction_responses

    async def run(sub: str, /, permissions: int = 1 << 5, **options: object) -> str:
        n = len(responses)
        await emu.invoke_command(g.id, g.owner_id, "guildmind", command(sub, **options),
                                 permissions=permissions)  # fmt: skip
        await emu.wait_until(lambda: len(responses) > n, 10)
        return responses[n]["data"]["content"]

    assert "Manage Server" in await run("pause", permissions=0)
    assert "**Mood** shy" in await run("mood", name="shy")
    random = g.channel_ids[1]
    assert f"<#{random}>" in await run("channels", channels=f"<#{random}>")
    assert "Europe/Paris" in await run("timezone", zone="Europe/Paris")
    assert "not a known IANA time zone" in await run("timezone", zone="Mars/Olympus")
    assert "22:00–06:00" in await run("quiet-hours", start="22:00", end="06:00")
    assert "**paused**" in await run("pause")
    status = await run("status")
    assert "**Mood** shy" in status and "**Last decision** none yet" in status
    store = open_store("sqlite:", data_dir=world.rt.config.runtime.data_dir)
    try:
        saved = restore(store.load([g.id])[g.id])
    finally:
        store.close()
    assert saved.mood == "shy" and saved.settings.paused
    assert (
        saved.settings.channels == frozenset({random}) and saved.settings.timezone == "Europe/Paris"
    )
    assert "speaking on its own" in await run("resume")


async def test_admins_set_the_chattiness_and_status_says_why_it_moved(world: World) -> None:
    """/guildmind chattiness through the real discord.py client: out-of-range and non-numbers
    are refused, a number is the admins', auto frees it; a member telling the bot to be quiet (in
    a message that addresses it) and /guildmind pause lower the learned value, and status says
    so. The control: a message addressing the bot without a quiet phrase, sent just before the
    quiet request (so applied before it), moves nothing."""
    emu, g = world.emu, world.guild("chatty")
    await emu.wait_until(lambda: bool(emu.commands.get(None)), 10)
    responses = emu.recorder.interaction_responses

    async def run(sub: str, /, **options: object) -> str:
        n = len(responses)
        await emu.invoke_command(g.id, g.owner_id, "guildmind", command(sub, **options),
                                 permissions=1 << 5)  # fmt: skip
        await emu.wait_until(lambda: len(responses) > n, 10)
        return responses[n]["data"]["content"]

    async def status_until_not(words: str) -> str:
        async def probe() -> str:
            return await run("status")

        return await wait_until_async(probe, ok=lambda text: words not in text,
                                      what=f"a status without {words!r}", timeout_s=20)  # fmt: skip

    for bad in ("3", "0.1", "lots", "nan"):
        assert "Not changed: give a number from 0.25 to 2" in await run("chattiness", value=bad)
    assert "**Chattiness** 1.50, set by the admins" in await run("chattiness", value="1.5")
    user = g.human_ids[0]
    await emu.post_message(g.id, g.system_channel_id, user, "hi there", mention_bot=True)
    await emu.post_message(g.id, g.system_channel_id, user, "please BE QUIET", mention_bot=True)
    status = await status_until_not("0 asked to be quiet")
    assert "1 asked to be quiet" in status  # not 2: "hi there" was no such request
    assert "**Chattiness** 1.50, set by the admins (learned: 0.60;" in status
    freed = await run("chattiness", value="auto")
    assert "**Chattiness** 0.60, learned" in freed and "a member told it to be quiet" in freed
    paused = await run("pause")
    assert "**Chattiness** 0.50, learned" in paused  # 0.6 × 0.7, within the 0.5 floor
    assert "the admins paused it" in paused and "1 pauses" in paused
    assert "speaking on its own" in await run("resume")
    store = open_store("sqlite:", data_dir=world.rt.config.runtime.data_dir)
    try:
        saved = restore(store.load([g.id])[g.id])
    finally:
        store.close()
    assert saved.settings.chattiness is None and saved.feedback[2:] == (1, 1)
    assert saved.chattiness == 0.5 and saved.chattiness_why == "paused"


async def test_a_dead_chat_with_people_online_gets_break_silence(world: World) -> None:
    first = (await world.wait_said("dead", timeout=40))[0]
    assert first.message.action == "break_silence"
    assert "someone online" in first.reason
    assert first.at - world.rt.started_at > 300  # quiet for the mood's whole period
