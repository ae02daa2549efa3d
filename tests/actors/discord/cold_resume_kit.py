"""SIGKILL a runtime's gateway while people talk, and count what the guilds applied.

Shared by the end-to-end test (`test_discord_cold_resume.py`) and the benchmark
(`tests/bench/bench_cold_resume.py`): the whole runtime on Ray behind the real discord.py client
(the `emulator` source: the `discord` one with the emulator's fixed token), against the emulator.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from actors.remote.runtime import Runtime
from actors.sources.discord.resume import decode_session
from actors.stores.base import open_configured
from guildmind.config import Config, parse_config
from guildmind.emulator import Emulator, GuildSpec
from guildmind.emulator.wiring import EMULATOR_TOKEN, pointed_at

SPEED = 20.0  # the 120 s start-up gate passes in 6 s; 30 s between actions is 1.5 s
CONFIG = """
[runtime]
speed = {speed}
hosts = 1
data_dir = "{data}"
[metrics]
port = 0
[mood_rotation]
interval_s = 0
[defaults]
quiet_hours = false
[source.discord]
cold_resume = {cold}
session_save_s = {save_s}
"""


@dataclass
class Outage:
    """What happened around one SIGKILL of the gateway's process."""

    sent: list[int] = field(default_factory=list)  # the humans' message ids, in order
    sent_before_kill: int = 0
    identifies: int = 0  # IDENTIFYs after the kill
    resumes: int = 0  # RESUMEs after the kill
    replayed: int = 0  # dispatches the emulator replayed on RESUME
    applied: int = 0  # the guild's human messages, as its host counts them
    kill_to_connected_s: float = 0.0  # SIGKILL → the new gateway's source ready
    kill_to_applied_s: float = 0.0  # SIGKILL → the first message sent after it applied
    replies_in_outage: int = 0  # the bot's replies before the mention sent once it was back
    replies_after: int = 0  # …and after it
    doubled_replies: int = 0  # messages the bot answered more than once

    @property
    def lost(self) -> int:
        return max(0, len(self.sent) - self.applied)

    @property
    def doubled(self) -> int:
        return max(0, self.applied - len(self.sent))


@contextlib.asynccontextmanager
async def world(data: str, *, cold: bool, save_s: float = 0.2) -> AsyncIterator[tuple]:
    """An emulator with one guild and a runtime on the session's Ray pointed at it."""
    emu = Emulator([GuildSpec("Talk", users=6, chatter="dead")], seed=21, bot_token=EMULATOR_TOKEN)
    await emu.start()
    text = CONFIG.format(speed=SPEED, data=data, cold=str(cold).lower(), save_s=save_s)
    cfg: Config = pointed_at(parse_config(text, env={}), emu)
    rt = Runtime(cfg)
    emu.use_clock(rt.clock.now, rt.clock.speed)
    try:
        await asyncio.to_thread(rt.start)
        await connected(rt, 60)
        yield emu, rt, cfg
    finally:
        await asyncio.to_thread(rt.stop)
        await emu.stop()


async def connected(rt: Runtime, timeout_s: float) -> None:
    """Until the gateway's source is ready, asking the gateway as the driver does (`check()`
    starts a gateway Ray restarted)."""
    deadline = time.monotonic() + timeout_s
    while True:
        with contextlib.suppress(Exception):
            await rt.check(timeout_s=2.0)
            status = await asyncio.wait_for(rt.gateway.source_status.remote(), 2.0)
            if status["ready"]:
                return
            assert not status["error"], status["error"]
        if time.monotonic() > deadline:
            raise TimeoutError(f"the gateway's source was not ready within {timeout_s} s")
        await asyncio.sleep(0.1)


async def applied(rt: Runtime, guild_id: int) -> int:
    """The guild's human messages in the last hour, as its host counts them."""
    for w in list(rt.hosts.values()):
        with contextlib.suppress(Exception):
            g = await asyncio.wait_for(w.handle.guild.remote(guild_id), 5.0)
            if g is not None:
                return int(g["signals"]["messages_hour"])
    return 0


def stored_sequence(cfg: Config) -> int | None:
    store = open_configured(cfg)
    try:
        data = store.load_sessions([0]).get(0)
    finally:
        store.close()
    record = decode_session(data) if data else None
    return record.sequence if record else None


async def replies(rt: Runtime) -> int:
    """The bot's replies that went out through the (new) gateway (there was no mention before
    the kill, so none went out before it)."""
    with contextlib.suppress(Exception):
        _, said = await asyncio.wait_for(rt.gateway.said_since.remote(0), 5.0)
        return sum(1 for s in said if s.message.action == "reply" and s.failure is None)
    return 0


def replies_to(emu: Emulator, message_id: int) -> int:
    return sum(
        1 for s in emu.sent if int((s.message_reference or {}).get("message_id") or 0) == message_id
    )


async def kill_while_talking(
    emu: Emulator,
    rt: Runtime,
    cfg: Config,
    *,
    before: int = 30,
    outage: int = 40,
    every_s: float = 0.05,
    settle_s: float = 20.0,
) -> Outage:
    """Humans talk (`before` messages), the gateway's process is SIGKILLed while they go on
    (`outage` more, one of them a mention of the bot, every `every_s` s), Ray restarts it; then
    a mention once it is back. Returns what the guild applied and what the bot answered."""
    guild = emu.guilds[0]
    out = Outage()
    users = guild.human_ids

    async def say(i: int, mention: bool = False) -> int:
        mid = await emu.post_message(guild.id, guild.system_channel_id, users[i % len(users)],
                                     f"line {i}", mention_bot=mention)  # fmt: skip
        out.sent.append(mid)
        return mid

    # past the start-up gate, so that the bot may answer
    while rt.clock.now() < rt.started_at + 125:
        await asyncio.sleep(0.1)
    for i in range(before):
        await say(i)
        await asyncio.sleep(every_s)
    if cfg.source.discord.cold_resume:  # a session stored that covers some of it
        deadline = time.monotonic() + 30
        while (stored_sequence(cfg) or 0) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    ops = dict(emu.counters.ops)
    replayed = emu.gateway.replayed
    pid = await rt.gateway.__ray_call__.remote(lambda self: os.getpid())
    out.sent_before_kill = len(out.sent)
    os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()

    async def keep_talking() -> None:
        for i in range(before, before + outage):
            await say(i, mention=i == before + outage // 2)
            await asyncio.sleep(every_s)

    talking = asyncio.create_task(keep_talking())
    await connected(rt, 120)
    out.kill_to_connected_s = time.monotonic() - killed
    while await applied(rt, guild.id) <= out.sent_before_kill:
        if time.monotonic() - killed > 120:
            break
        await asyncio.sleep(0.02)
    out.kill_to_applied_s = time.monotonic() - killed
    await talking
    # the outage's mention answered (a reply answers the newest message it saw: with a replay
    # that is often a later one than the mention), and 30 s (virtual) on, another mention
    deadline = time.monotonic() + settle_s
    while not await replies(rt) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.6)
    out.replies_in_outage = await replies(rt)
    await say(before + outage, mention=True)
    deadline = time.monotonic() + settle_s
    while time.monotonic() < deadline:
        out.applied = await applied(rt, guild.id)
        if out.applied >= len(out.sent) and await replies(rt) > out.replies_in_outage:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)  # anything late (a double) would show by now
    out.applied = await applied(rt, guild.id)
    out.identifies = emu.counters.ops["IDENTIFY"] - ops.get("IDENTIFY", 0)
    out.resumes = emu.counters.ops["RESUME"] - ops.get("RESUME", 0)
    out.replayed = emu.gateway.replayed - replayed
    out.replies_after = await replies(rt) - out.replies_in_outage
    out.doubled_replies = sum(1 for mid in out.sent if replies_to(emu, mid) > 1)
    return out
