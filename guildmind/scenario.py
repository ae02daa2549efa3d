"""A short built-in story told through the guild loop: the seed's scenarios, in virtual time.

Four guilds of different moods live through about three hours: a busy conversation (where
someone also calls on the bot), a member starting a game, a dead chat with someone online, and a
busy chat the shy bot only joins out of FOMO. The story's events go through the same guild loop
the hosts run (`actors.loop.GuildLoop`: its timers, its rounds), each round taking
`ROUND_S` virtual seconds; every time the bot speaks is printed with its reason. No Ray, no
network, no LLM.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from actors.loop.guild_loop import GuildLoop, Round
from engine import AutonomousEngine, Decision, MessageEvent, PresenceEvent

T0 = 1_767_268_800.0  # 2026-01-01 12:00 UTC
ROUND_S = 2.0  # virtual seconds a round takes (the words being written)


@dataclass(frozen=True)
class Guild:
    id: int
    name: str
    mood: str


GUILDS = (
    Guild(1, "miku-fan-cafe", "bubbly"),
    Guild(2, "rhythm-gamers", "excited"),
    Guild(3, "quiet-library", "bubbly"),
    Guild(4, "study-hall", "shy"),
)


def _talk(guild: int, start: float, minutes: float, per_minute: float, rng: random.Random):
    at, end = start, start + minutes * 60
    while True:
        at += rng.expovariate(per_minute / 60)
        if at >= end:
            return
        yield MessageEvent(guild, 10 * guild, 100 + rng.randrange(5), at)


def script(rng: random.Random) -> Iterator[MessageEvent | PresenceEvent]:
    """The story's events, in any order (the runner sorts them)."""
    yield from _talk(1, T0 + 600, 20, 3.5, rng)  # a concert chat at ~3 messages a minute
    yield MessageEvent(1, 10, 104, T0 + 1500, mentions_bot=True)  # "Miku, sing with us!"
    yield PresenceEvent(2, 201, T0 + 300, online=True)
    yield from _talk(2, T0 + 400, 4, 2.0, rng)
    yield PresenceEvent(2, 202, T0 + 45 * 60, activity="Project DIVA Mega Mix")
    yield PresenceEvent(3, 301, T0 + 200, online=True)  # someone online in a dead chat
    yield from _talk(4, T0 + 900, 30, 4.0, rng)  # a busy study chat, the bot is shy
    yield from _talk(3, T0 + 150 * 60, 1, 1.0, rng)  # someone finally speaks in the library


def run(
    *, hours: float = 3.0, seed: int = 7, emit: Callable[[Decision, str], None] | None = None
) -> list[Decision]:
    """Play the story; return (and pass to `emit`) every decision that made the bot speak.

    A reply to someone who addressed the bot is a decision with trigger "addressed".
    """
    rng = random.Random(seed)
    loop = GuildLoop(AutonomousEngine(rng=random.Random(seed + 1), started_at=T0))
    names = {g.id: g.name for g in GUILDS}
    for g in GUILDS:
        loop.engine.update_mood(g.id, g.mood, at=T0)
        loop.loaded(g.id, T0)
    events = sorted(script(rng), key=lambda ev: ev.at)
    ends: list[tuple[float, Round]] = []  # rounds under way: (when they end, round)
    spoken: list[Decision] = []
    end = T0 + hours * 3600

    def begin(rounds: list[Round]) -> None:
        ends.extend((rnd.at + ROUND_S, rnd) for rnd in rounds)
        ends.sort(key=lambda e: e[0])

    def finish(at: float, rnd: Round) -> None:
        action = rnd.decision.action if rnd.decision is not None else "reply"
        begin(loop.finish(rnd, action, at))
        decision = loop.last_decision[rnd.guild_id]
        spoken.append(decision)
        if emit:
            emit(decision, names[rnd.guild_id])

    def until(t: float) -> None:  # timers and round ends before `t`, in time order
        while True:
            timer = loop.next_timer()
            timer = end if timer is None else timer
            done = ends[0][0] if ends else end
            if min(timer, done) >= t:
                return
            if done <= timer:
                finish(*ends.pop(0))
            else:
                begin(loop.due(timer))

    for ev in events:
        if ev.at > end:
            break
        until(ev.at)
        begin(loop.apply([ev]))
    until(end)
    return spoken


def print_decision(d: Decision, guild_name: str) -> None:
    minutes = int((d.at - T0) // 60)
    print(f"[+{minutes // 60}:{minutes % 60:02d}] {guild_name} ({d.mood}) → {d.action}")
    print(f"          because {d.reason}")
