"""Synthetic users: chat in bursts and quiet spells, games, status changes, joins, mentions.

Each guild runs a small continuous-time process. Its conversation is a two-state chain
(``busy`` with several messages a minute, ``quiet`` with nearly none), and next to it run
presence changes and member joins. The next event is drawn the Gillespie way: one
exponential wait for the sum of all rates, then one event chosen by weight. Waits are in
emulated seconds; the runner divides them by the emulator's speed (at speed 60 one emulated
minute passes in one real second). All randomness comes from one seeded ``random.Random``
per guild, so a seed gives the same story (timing on a busy event loop aside).
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import TYPE_CHECKING

import msgspec

if TYPE_CHECKING:
    from guildmind.emulator.server import Emulator
    from guildmind.emulator.state import Guild

_log = logging.getLogger(__name__)

PHRASES = (
    "anyone around?",
    "that was a good match",
    "brb, getting coffee",
    "did you see the update?",
    "lol",
    "same here",
    "what are you all playing tonight?",
    "gg",
    "I think it's going to rain again",
    "just finished work",
    "any music recommendations?",
    "haha yes",
    "that's wild",
    "ok back",
    "good morning!",
    "night all",
)
GAMES = (
    "Project DIVA Mega Mix",
    "Minecraft",
    "Stardew Valley",
    "Tetris 99",
    "Celeste",
    "Hades",
    "Rocket League",
    "osu!",
)


class Level(msgspec.Struct, frozen=True):
    """Rates of one chatter level, per emulated minute (durations in emulated minutes)."""

    busy_msgs: float
    quiet_msgs: float
    busy_minutes: float
    quiet_minutes: float
    presence_per_user: float = 0.01
    joins: float = 1 / 720
    mention_share: float = 0.05
    reply_share: float = 0.1


LEVELS: dict[str, Level] = {
    "busy": Level(busy_msgs=8, quiet_msgs=0.5, busy_minutes=25, quiet_minutes=10),
    "normal": Level(busy_msgs=5, quiet_msgs=0.1, busy_minutes=12, quiet_minutes=40),
    "quiet": Level(busy_msgs=3, quiet_msgs=0.02, busy_minutes=5, quiet_minutes=150),
    "dead": Level(
        busy_msgs=0, quiet_msgs=0, busy_minutes=1, quiet_minutes=1e9, presence_per_user=0.002
    ),
}


class ChatterProcess:
    """The pure part: which event comes next and after how many emulated seconds."""

    def __init__(self, level: Level, users: int, rng: random.Random) -> None:
        self.level = level
        self.users = users
        self.rng = rng
        self.busy = rng.random() < level.busy_minutes / (level.busy_minutes + level.quiet_minutes)

    def next_event(self) -> tuple[float, str]:
        """Return ``(wait_seconds, kind)``; kind is message, switch, presence or join."""
        lv = self.level
        rates = {
            "message": lv.busy_msgs if self.busy else lv.quiet_msgs,
            "switch": 1 / (lv.busy_minutes if self.busy else lv.quiet_minutes),
            "presence": lv.presence_per_user * self.users,
            "join": lv.joins,
        }
        total = sum(rates.values())
        wait_minutes = self.rng.expovariate(total)
        kind = self.rng.choices(list(rates), weights=list(rates.values()))[0]
        if kind == "switch":
            self.busy = not self.busy
        return wait_minutes * 60.0, kind


class Chatter:
    """Runs one :class:`ChatterProcess` per guild against an :class:`Emulator`."""

    def __init__(self, emulator: Emulator, seed: int) -> None:
        self.emulator = emulator
        self.seed = seed
        self._tasks: list[asyncio.Task[None]] = []
        self.mention_share: float | None = None  # overrides the levels' share (demos)

    @property
    def running(self) -> bool:
        return any(not t.done() for t in self._tasks)

    def start(self) -> None:
        if self.running:
            return
        for index, guild in enumerate(self.emulator.guilds):
            rng = random.Random(self.seed * 1_000_003 + index)
            process = ChatterProcess(LEVELS[guild.spec.chatter], len(guild.human_ids), rng)
            self._tasks.append(asyncio.create_task(self._run(guild, process, rng)))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    async def _run(self, guild: Guild, process: ChatterProcess, rng: random.Random) -> None:
        last_message: dict[int, int] = {}  # channel id -> last synthetic message id
        while True:
            wait, kind = process.next_event()
            await asyncio.sleep(wait / self.emulator.speed)
            try:
                if kind == "message":
                    await self._message(guild, process, rng, last_message)
                elif kind == "presence":
                    await self._presence(guild, rng)
                elif kind == "join":
                    await self.emulator.member_join(guild.id)
            except Exception:
                # A chatter bug must not silently end the guild's story; log and go on.
                _log.exception("Synthetic chatter failed in guild %s (%s).", guild.id, kind)

    async def _message(
        self, guild: Guild, process: ChatterProcess, rng: random.Random, last: dict[int, int]
    ) -> None:
        author = rng.choice(guild.human_ids)
        channel = guild.chat_channel_ids[0]
        if len(guild.chat_channel_ids) > 1 and rng.random() < 0.2:
            channel = rng.choice(guild.chat_channel_ids[1:])
        level = process.level
        share = level.mention_share if self.mention_share is None else self.mention_share
        mention = rng.random() < share
        reply_to = last.get(channel) if rng.random() < level.reply_share else None
        last[channel] = await self.emulator.post_message(
            guild.id, channel, author, rng.choice(PHRASES), mention_bot=mention, reply_to=reply_to
        )

    async def _presence(self, guild: Guild, rng: random.Random) -> None:
        user = rng.choice(guild.human_ids)
        status, activity = guild.presences.get(user, ("offline", None))
        roll = rng.random()
        if status == "offline":
            status, activity = "online", None
        elif activity is None and roll < 0.6:
            activity = rng.choice(GAMES)
        elif roll < 0.8:
            activity = None
        else:
            status, activity = rng.choice(["offline", "idle"]), None
        await self.emulator.set_presence(guild.id, user, status=status, activity=activity)
