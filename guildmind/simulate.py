"""`guildmind simulate`: the engine over synthetic traffic in virtual time, with ground truth.

One pass over `actors.sources.traffic.SyntheticTraffic` drives several *runs* side by side, each
with its own engine (or the v1 baseline) and its own per-guild wake timers: the main run (each
guild in its traffic's mood hint, optionally rotating hourly) and two counterfactual runs on the
same events with every guild bubbly, then every guild shy.
The planner is the no-LLM one: the engine's chosen
action is what the bot does (what `actions.RulePlanner` picks for the built-in actions), taken
straight from `engine.check()` for speed. Replies to mentions are not simulated: this is the bot
acting on its own.

`World` keeps the ground truth the claims are checked against, from the events alone:

- *empty room*: no member online (a member is online after an online presence, a join or a message
  of theirs, until an offline presence) and no human message in the guild for `empty_after_s`;
- *conversation*: human messages in the autonomous channel; one starts with a message after at
  least `conversation_gap_s` of silence there and lasts until such a silence;
- *busy*: at least `busy_messages` human messages in the autonomous channel in the last 5 minutes;
  an *interruption* is an action other than joining the conversation (`ON_TOPIC`) while busy;
- *quiet hours*: 23:00–07:00 in the guild's own UTC offset, for a `quiet_fraction` of the guilds.
"""

from __future__ import annotations

import dataclasses
import heapq
import math
import random
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from actors.sources.traffic import SyntheticTraffic
from engine import (
    AutonomousEngine,
    GuildSettings,
    MessageEvent,
    QuietHours,
    RuleConfig,
    V1Policy,
)

from .sim_report import Tally, World, check_claims, figures

T0 = 1_767_225_600.0  # 2026-01-01 00:00 UTC
POLICIES = ("both", "v2", "v1")
QUIET = QuietHours("23:00", "07:00")


@dataclass(frozen=True)
class SimConfig:
    """What to simulate; rates are per guild, times in seconds."""

    guilds: int = 1000
    hours: float = 24.0
    seed: int = 0
    policy: str = "both"
    rate: float = 60.0  # events per guild per hour, on average over a day (skewed across guilds)
    quiet_fraction: float = 0.5
    rotate_moods: bool = False
    busy_messages: int = 10
    empty_after_s: float = 1800.0
    conversation_gap_s: float = 600.0
    counterfactual_guilds: int = 250  # the all-bubbly and all-shy runs cover the first ones

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise ValueError(f"policy must be one of {', '.join(POLICIES)}, got {self.policy!r}")
        if not (self.guilds >= 1 and self.hours > 0 and self.rate > 0):
            raise ValueError("guilds, hours and rate must be positive")
        if not 0 <= self.quiet_fraction <= 1:
            raise ValueError(f"quiet_fraction must be in [0, 1], got {self.quiet_fraction!r}")


def zone_for(offset_h: int) -> str:
    """An IANA zone with a fixed UTC offset; `Etc/GMT-2` is UTC+2 (the sign is inverted)."""
    return "Etc/GMT" if offset_h == 0 else f"Etc/GMT{-offset_h:+d}"


class _Run:
    """One policy over the shared events: its own decisions, timers and tally."""

    def __init__(self, name: str, world: World, mood: str | None, guilds: int) -> None:
        rules = RuleConfig()
        self.name, self.world, self.mood, self.guilds = name, world, mood, guilds
        self.tally = Tally(
            guilds,
            started_at=T0,
            startup_s=rules.startup_s,
            min_gap_s=rules.min_interval_s,
        )
        self.heap: list[tuple[float, int]] = []

    def mood_at(self, i: int, at: float) -> str:
        return self.mood or self.world.mood_at(i, at)

    def act(self, i: int, at: float, action: str) -> None:
        self.tally.record(i, at, action, self.mood_at(i, at), self.world.observe(i, at))


class V2Run(_Run):
    """The engine: checks on counted messages, decides when a guild's wake timer fires."""

    def __init__(self, name, world, cfg, mood, guilds, traffic: SyntheticTraffic) -> None:
        super().__init__(name, world, mood, guilds)
        self.engine = engine = AutonomousEngine(rng=random.Random(f"{cfg.seed}:v2"), started_at=T0)
        self.ids = [g.guild_id for g in traffic.guilds[:guilds]]
        self.wakes: dict[int, float] = {}
        for i, g in enumerate(traffic.guilds[:guilds]):
            quiet = QUIET if world.quiet[i] else None
            engine.configure(
                g.guild_id,
                GuildSettings(
                    channels=frozenset({g.autonomous_channel}),
                    timezone=zone_for(g.utc_offset_h),
                    quiet_hours=quiet,
                ),
            )
            engine.update_mood(g.guild_id, self.mood_at(i, T0), at=T0)
            self.schedule(i, T0)

    def schedule(self, i: int, at: float) -> None:
        when = self.engine.next_wake(self.ids[i], at=at)
        if when is None:
            self.wakes.pop(i, None)
        elif self.wakes.get(i) != when:
            self.wakes[i] = when
            heapq.heappush(self.heap, (when, i))
            if len(self.heap) > 4 * len(self.ids) + 64:  # drop stale timers now and then
                self.heap = [(w, j) for j, w in self.wakes.items()]
                heapq.heapify(self.heap)

    def timers_until(self, t: float) -> None:
        heap, wakes, engine, ids = self.heap, self.wakes, self.engine, self.ids
        while heap and heap[0][0] < t:
            when, i = heapq.heappop(heap)
            if wakes.get(i) != when:
                continue  # superseded by a later schedule
            del wakes[i]
            d = engine.check(ids[i], at=when)
            if d is not None:
                engine.record_action(ids[i], d.action, at=when)
                self.act(i, when, d.action)
            self.schedule(i, when)
            heap = self.heap

    def on_event(self, ev: object, i: int) -> None:
        """Like the guild host (`actors.loop.host_core`): check on a counted message, and ask for a
        new wake time after presence changes, joins and actions, or when the guild has none."""
        engine, gid, at = self.engine, self.ids[i], ev.at  # type: ignore[attr-defined]
        if type(ev) is not MessageEvent:
            engine.apply(ev)  # type: ignore[arg-type]
            self.schedule(i, at)  # presence and joins may open a time-based rule
        elif engine.apply(ev):  # type: ignore[arg-type]
            d = engine.check(gid, at=at, triggered_by_message=True)
            if d is not None:
                engine.record_action(gid, d.action, at=at)
                self.act(i, at, d.action)
                self.schedule(i, at)
            elif i not in self.wakes:
                self.schedule(i, at)

    def rotate(self, at: float) -> None:
        """The hourly mood change of the main run."""
        if self.mood is not None:
            return
        for i, gid in enumerate(self.ids):
            self.engine.update_mood(gid, self.world.mood_at(i, at), at=at)
            self.schedule(i, at)


class V1Run(_Run):
    """The old behaviour: a 15-minute timer per guild (first tick staggered), 10 %, random pick."""

    def __init__(self, name, world, cfg, mood, guilds, traffic: SyntheticTraffic) -> None:
        super().__init__(name, world, mood, guilds)
        # seeded by policy only: v1 ignores moods, so its bubbly and shy runs are identical
        self.policy = V1Policy(random.Random(f"{cfg.seed}:v1"))
        self.ids = [g.guild_id for g in traffic.guilds[:guilds]]
        stagger = random.Random(f"{cfg.seed}:v1-stagger")
        self.heap = [
            (T0 + stagger.uniform(0, self.policy.interval_s), i) for i in range(len(self.ids))
        ]
        heapq.heapify(self.heap)

    def timers_until(self, t: float) -> None:
        heap, policy = self.heap, self.policy
        while heap[0][0] < t:
            when, i = heap[0]
            d = policy.decide(self.ids[i], at=when)
            if d.action is not None:
                self.act(i, when, d.action)
            heapq.heapreplace(heap, (policy.next_wake(when), i))

    def on_event(self, ev: object, i: int) -> None:
        """v1 looks at nothing."""

    def rotate(self, at: float) -> None:
        """v1 has no moods to change."""


def simulate(cfg: SimConfig) -> dict[str, object]:
    """Run the simulation; return the report (plain data, deterministic for a seed)."""
    traffic = SyntheticTraffic(cfg.guilds, cfg.guilds * cfg.rate / 3600.0, seed=cfg.seed, start=T0)
    world = World(traffic, cfg, random.Random(f"{cfg.seed}:world"))
    policies = ("v2", "v1") if cfg.policy == "both" else (cfg.policy,)
    runs: dict[str, _Run] = {}
    for policy in policies:
        kind = V2Run if policy == "v2" else V1Run
        for mood in (None, "bubbly", "shy"):
            name = policy if mood is None else f"{policy}:{mood}"
            n = cfg.guilds if mood is None else min(cfg.guilds, cfg.counterfactual_guilds)
            runs[name] = kind(name, world, cfg, mood, n, traffic)
    listening = [(r, r.guilds) for r in runs.values() if isinstance(r, V2Run)]
    all_runs = list(runs.values())
    end = T0 + cfg.hours * 3600
    next_hour = T0 + 3600 if cfg.rotate_moods else math.inf
    see = world.see
    for ev in traffic.events_until(end):
        t = ev.at
        while t >= next_hour:
            for r in all_runs:
                r.timers_until(next_hour)
                r.rotate(next_hour)
            next_hour += 3600
        for r in all_runs:
            heap = r.heap
            if heap and heap[0][0] < t:  # most events find no timer due: skip the call
                r.timers_until(t)
        i = see(ev)
        for r, n in listening:
            if i < n:
                r.on_event(ev, i)
    while next_hour < end:
        for r in all_runs:
            r.timers_until(next_hour)
            r.rotate(next_hour)
        next_hour += 3600
    for r in all_runs:
        r.timers_until(end)

    days = cfg.hours / 24
    main_days = world.mood_guild_days()
    figs = {
        name: figures(
            r.tally,
            guild_days=r.guilds * days,
            mood_guild_days={r.mood: r.guilds * days} if r.mood else main_days,
            conversations=sum(world.conversations_of[: r.guilds]),
        )
        for name, r in runs.items()
    }
    first = policies[0]
    other = policies[1] if len(policies) > 1 else None
    return {
        "config": {
            **dataclasses.asdict(cfg),
            "counterfactual_guilds": min(cfg.guilds, cfg.counterfactual_guilds),
            "quiet_hours": f"{QUIET.start}–{QUIET.end} local",
            "start": T0,
        },
        "traffic": {
            "events": world.events,
            "messages_in_autonomous_channels": world.messages,
            "conversations": world.conversations,
            "guilds_with_quiet_hours": sum(world.quiet),
            "guilds_by_mood_hint": dict(
                sorted(Counter(g.mood_hint for g in traffic.guilds).items())
            ),
            "messages_by_local_hour": world.messages_by_hour,
        },
        "runs": figs,
        "claims": check_claims(figs, first, other),
    }


def run(cfg: SimConfig, out: str, *, echo=print) -> int:
    """Simulate, write the report into `out`, print each claim; 1 if any claim failed."""
    from . import sim_render  # matplotlib only when a report is written

    began = time.perf_counter()
    report = simulate(cfg)
    wall = time.perf_counter() - began
    events = report["traffic"]["events"]
    report["performance"] = {"wall_s": round(wall, 3), "events_per_s": round(events / wall)}
    page = sim_render.write(report, Path(out))
    for c in report["claims"]:
        echo(f"{'PASS' if c['passed'] else 'FAIL'}  {c['claim']}: {c['figure']}")
    for name, fig in report["runs"].items():
        if ":" not in name:
            echo(f"{name}: {fig['actions_per_guild_day']:.2f} actions per guild per day, "
                 f"{fig['into_empty_room']} into empty rooms, "
                 f"{fig['interruptions']} interruptions, "
                 f"median join delay {fig['join_delay_s']['median']} s")  # fmt: skip
    echo(f"report: {page}")
    echo(f"{cfg.guilds} guilds × {cfg.hours:g} h: {events:,} events in {wall:.1f} s "
         f"({events / wall:,.0f} events/s)")  # fmt: skip
    return 0 if all(c["passed"] for c in report["claims"]) else 1
