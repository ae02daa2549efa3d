"""A short built-in story told through the engine alone: the seed's scenarios, in virtual time.

Four guilds of different moods live through about three hours: a busy conversation, a member
starting a game, a dead chat with someone online, and a busy chat the shy bot only joins out of
FOMO. Every decision the engine takes is printed with its reason. No Ray, no network, no LLM.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from engine import AutonomousEngine, Decision, MessageEvent, PresenceEvent

T0 = 1_767_268_800.0  # 2026-01-01 12:00 UTC


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
    yield PresenceEvent(2, 201, T0 + 300, online=True)
    yield from _talk(2, T0 + 400, 4, 2.0, rng)
    yield PresenceEvent(2, 202, T0 + 45 * 60, activity="Project DIVA Mega Mix")
    yield PresenceEvent(3, 301, T0 + 200, online=True)  # someone online in a dead chat
    yield from _talk(4, T0 + 900, 30, 4.0, rng)  # a busy study chat, the bot is shy
    yield from _talk(3, T0 + 150 * 60, 1, 1.0, rng)  # someone finally speaks in the library


def run(
    *, hours: float = 3.0, seed: int = 7, emit: Callable[[Decision, str], None] | None = None
) -> list[Decision]:
    """Play the story; return (and pass to `emit`) every decision that made the bot speak."""
    rng = random.Random(seed)
    engine = AutonomousEngine(rng=random.Random(seed + 1), started_at=T0)
    names = {g.id: g.name for g in GUILDS}
    for g in GUILDS:
        engine.update_mood(g.id, g.mood, at=T0)
    queue: list[tuple[float, int, object]] = []
    for n, ev in enumerate(script(rng)):
        heapq.heappush(queue, (ev.at, n, ev))
    wakes: dict[int, float] = {}

    def schedule(gid: int, at: float) -> None:
        when = engine.next_wake(gid, at=at)
        if when is not None and wakes.get(gid) != when:
            wakes[gid] = when
            heapq.heappush(queue, (when, -gid, gid))  # a guild's timer

    for g in GUILDS:
        schedule(g.id, T0)
    spoken: list[Decision] = []
    end = T0 + hours * 3600
    while queue and queue[0][0] <= end:
        at, _, item = heapq.heappop(queue)
        if isinstance(item, int):  # a timer: only the guild's latest one counts
            if wakes.get(item) != at:
                continue
            gid, decision = item, engine.decide(item, at=at)
        else:
            gid = item.guild_id
            decision = engine.decide(gid, at=at, triggered_by_message=engine.apply(item))
        if decision.action:
            engine.record_action(gid, decision.action, at=at)
            spoken.append(decision)
            if emit:
                emit(decision, names[gid])
        schedule(gid, at)
    return spoken


def print_decision(d: Decision, guild_name: str) -> None:
    minutes = int((d.at - T0) // 60)
    print(f"[+{minutes // 60}:{minutes % 60:02d}] {guild_name} ({d.mood}) → {d.action}")
    print(f"          because {d.reason}")
