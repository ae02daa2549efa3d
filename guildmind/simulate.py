"""`guildmind simulate`: the guild loop over synthetic traffic in virtual time, with ground truth.

One pass over `actors.sources.traffic.SyntheticTraffic` drives several *runs* side by side. A v2
run is the runtime's own guild loop (`actors.loop.GuildLoop`, the code every guild host runs):
its engine, timers, mood rotation and rounds, driven here in virtual time instead of on the wall
clock. Each round takes `round_s` virtual seconds (what generating the words takes); messages
that address the bot meanwhile are held and answered after it, as on a host. The planner is the
no-LLM one: the engine's chosen action is what the bot does (what `actions.RulePlanner` picks for
the built-in actions) and a reply round replies. The main run keeps each guild in its traffic's
mood hint (or rotates moods, as hosts do, with `rotate_moods`); two counterfactual runs replay
the same events with every guild bubbly, then every guild shy. The v1 runs are the old timer
policy (`engine.V1Policy`) for comparison.

`World` keeps the ground truth the claims are checked against, from the events alone:

- *empty room*: no member online (a member is online after an online presence, a join or a message
  of theirs, until an offline presence) and no human message in the guild for `empty_after_s`;
- *conversation*: human messages in the autonomous channel; one starts with a message after at
  least `conversation_gap_s` of silence there and lasts until such a silence;
- *busy*: at least `busy_messages` human messages in the autonomous channel in the last 5 minutes;
  an *interruption* is an action other than joining the conversation (`ON_TOPIC`) while busy;
- *quiet hours*: 23:00–07:00 in the guild's own UTC offset, for a `quiet_fraction` of the guilds.

Actions are counted at the moment the loop decided them (the round's start); replies to mentions
are counted apart from the bot's own actions. The main v2 run's rounds each ask the LLM once, and
`budget` caps each guild's tokens per UTC day (`guildmind.sim_tokens` states the model).
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

from actors.loop.guild_loop import GuildLoop, Round
from actors.sources.traffic import Mix, SyntheticTraffic
from engine import (
    FIXED,
    AutonomousEngine,
    Event,
    GuildSettings,
    LearningConfig,
    MessageEvent,
    QuietHours,
    RuleConfig,
    V1Policy,
)

from . import sim_learning
from .sim_members import Feedback, Members
from .sim_report import QUIET_CHAT_S, Tally, World, check_claims, figures
from .sim_tokens import TokenTally, budget_claim

T0 = 1_767_225_600.0  # 2026-01-01 00:00 UTC
POLICIES = ("both", "v2", "v1")
FIXED_RUN = "v2-fixed"  # today's v2 before issue 16: the same rules, nothing learned
QUIET = QuietHours("23:00", "07:00")
MOOD_SAMPLE_S = 300.0  # how often the main run's moods are sampled for time spent per mood


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
    round_s: float = 2.0  # virtual seconds an action round takes (the LLM writing)
    mention: float = 0.01  # the fraction of messages that address the bot
    busy_messages: int = 10
    empty_after_s: float = 1800.0
    conversation_gap_s: float = 600.0
    counterfactual_guilds: int = 250  # the all-bubbly and all-shy runs cover the first ones
    # the extended world (issue 16; the model: guildmind.sim_members)
    rhythms: bool = True  # each guild a week of its own (evening-only, weekend-heavy, …)
    readers: int = 6  # online members who read a remark
    answer_chance: float = 0.5  # × liking × the hour's activity: a reader answers
    answer_delay_s: float = 120.0
    husher_fraction: float = 0.1  # guilds with a member who tells the bot to be quiet
    hush_chance: float = 0.3
    dead_level: float = 0.25  # an hour below this × the weekly mean is usually dead
    knob: bool = True  # the chattiness 0.5 / 1 / 2 runs
    budget: int = 0  # LLM tokens per guild per UTC day (0: no limit)
    max_tokens: int = 1024  # the most one answer may take (what a request reserves for it)

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise ValueError(f"policy must be one of {', '.join(POLICIES)}, got {self.policy!r}")
        if not (self.guilds >= 1 and self.hours > 0 and self.rate > 0):
            raise ValueError("guilds, hours and rate must be positive")
        if not 0 <= self.quiet_fraction <= 1:
            raise ValueError(f"quiet_fraction must be in [0, 1], got {self.quiet_fraction!r}")
        if self.budget < 0 or self.max_tokens < 1:
            raise ValueError("budget must be >= 0 (0: none) and max_tokens >= 1")
        if not 0 <= self.round_s < RuleConfig().min_interval_s:
            raise ValueError(f"round_s must be in [0, 30) seconds, got {self.round_s!r}")


def zone_for(offset_h: int) -> str:
    """An IANA zone with a fixed UTC offset; `Etc/GMT-2` is UTC+2 (the sign is inverted)."""
    return "Etc/GMT" if offset_h == 0 else f"Etc/GMT{-offset_h:+d}"


class _Run:
    """One policy over the shared events: its own decisions and tally."""

    def __init__(
        self, name: str, world: World, mood: str | None, guilds: int, members: Members, seed: int
    ) -> None:
        rules = RuleConfig()
        self.name, self.world, self.mood, self.guilds = name, world, mood, guilds
        self.members = members
        self.feedback = Feedback(guilds, members)
        self.react_rng = random.Random(f"{seed}:react:{name}")
        self.extra_mentions = 0  # its members' requests for quiet (they address the bot)
        self.tally = Tally(
            guilds,
            started_at=T0,
            startup_s=rules.startup_s,
            min_gap_s=rules.min_interval_s,
        )
        self.mood_seconds: Counter[str] = Counter()

    def act(self, i: int, at: float, action: str, mood: str) -> list[tuple[float, int, bool]]:
        """Count a remark of the bot's own; what the members do about it (`Members.react`)."""
        self.tally.record(i, at, action, mood, self.world.observe(i, at))
        self.feedback.remark(i, at)
        return self.members.react(i, at, self.world.online[i], self.react_rng)

    def heard(self, i: int) -> None:
        """The event just seen by the world: a human message in the autonomous channel?"""
        if self.world.spoke_after is not None:
            self.feedback.heard(i, self.world.last_auto[i], member_answer=False)

    def due(self) -> float:
        """When this run next has something to do without a new event (inf: nothing)."""
        return math.inf

    def drain(self) -> None:
        """Let the rounds under way finish (at the end of the simulated time)."""


class LoopRun(_Run):
    """The runtime's guild loop (v2): the same code a guild host runs, in virtual time."""

    def __init__(
        self, name, world, cfg, mood, guilds, traffic: SyntheticTraffic, members: Members,
        learning: LearningConfig | None = None, chattiness: float | None = None,
    ) -> None:  # fmt: skip
        super().__init__(name, world, mood, guilds, members, cfg.seed)
        self.round_s = cfg.round_s
        engine = AutonomousEngine(
            rng=random.Random(f"{cfg.seed}:v2"), started_at=T0, learning=learning
        )
        rotate = cfg.rotate_moods and mood is None
        self.loop = GuildLoop(
            engine, rotation_s=3600.0 if rotate else 0.0, rng=random.Random(f"{cfg.seed}:moods")
        )
        self.index: dict[int, int] = {}
        self.channel = [g.autonomous_channel for g in traffic.guilds[:guilds]]
        for i, g in enumerate(traffic.guilds[:guilds]):
            self.index[g.guild_id] = i
            quiet = QUIET if world.quiet[i] else None
            engine.configure(
                g.guild_id,
                GuildSettings(
                    channels=frozenset({g.autonomous_channel}),
                    timezone=zone_for(g.utc_offset_h),
                    quiet_hours=quiet,
                    chattiness=chattiness,
                ),
            )
            engine.update_mood(g.guild_id, mood or g.mood_hint, at=T0)
            self.loop.loaded(g.guild_id, T0)
        self.rounds: list[tuple[float, int, Round]] = []  # (ends at, seq, round)
        self.said: list[tuple[float, int, MessageEvent, bool]] = []  # its members' replies
        self._seq = 0
        self.spoke = [-math.inf] * guilds  # when the bot last spoke in each guild
        self.last_said = [-math.inf] * guilds  # … and its members last answered it
        self.tokens = TokenTally(engine, budget=cfg.budget, max_tokens=cfg.max_tokens,
                                 seed=cfg.seed) if name == "v2" else None  # fmt: skip

    def due(self) -> float:
        timer = self.loop.next_timer()
        end = self.rounds[0][0] if self.rounds else math.inf
        said = self.said[0][0] if self.said else math.inf
        return min(end, said, math.inf if timer is None else timer)

    def run_until(self, t: float) -> None:
        """Fire the timers, end the rounds and apply the members' replies due before `t`, in
        time order."""
        loop, rounds, said = self.loop, self.rounds, self.said
        while True:
            timer = loop.next_timer()
            timer = math.inf if timer is None else timer
            end = rounds[0][0] if rounds else math.inf
            reply = said[0][0] if said else math.inf
            if min(timer, end, reply) >= t:
                return
            if end <= timer and end <= reply:
                at, _, rnd = heapq.heappop(rounds)
                self._finish(rnd, at)
            elif reply <= timer:
                _, _, ev, hushes = heapq.heappop(said)
                self._reply(ev, hushes)
            else:
                self._start(loop.due(timer))

    def _reply(self, ev: MessageEvent, hushes: bool) -> None:
        """A member's answer to a remark, or their request for quiet (it addresses the bot: a
        host matches the words and tells the loop; here the loop is told directly)."""
        i = self.index[ev.guild_id]
        self.extra_mentions += ev.at >= T0 + RuleConfig().startup_s  # each addresses the bot
        self.last_said[i] = ev.at
        if hushes:
            self.feedback.hushes += 1
            self.loop.feedback(ev.guild_id, "hushed", ev.at)
        else:
            self.feedback.heard(i, ev.at, member_answer=True)
        self._start(self.loop.apply((ev,)))

    def on_event(self, ev: Event, i: int) -> None:
        self.heard(i)
        rounds = self.loop.apply((ev,))
        after = self.world.spoke_after  # set for a human message in the autonomous channel
        if (
            after is not None
            and ev.at - max(after, self.spoke[i], self.last_said[i], T0) > QUIET_CHAT_S
            and not self.world.observe(i, ev.at).quiet_hours
        ):
            self.tally.spoke_into_quiet_chat(any(r.guild_id == ev.guild_id for r in rounds))
        self._start(rounds)

    def drain(self) -> None:
        while self.rounds:
            at, _, rnd = heapq.heappop(self.rounds)
            self._finish(rnd, at)

    def _start(self, rounds: list[Round]) -> None:
        for rnd in rounds:
            # counted now, while the world's ground truth is at the decision's moment
            if rnd.decision is not None:
                i = self.index[rnd.guild_id]
                reactions = self.act(i, rnd.at, rnd.decision.action, rnd.decision.mood)  # type: ignore[arg-type]
                channel = self.channel[i]
                for at, uid, hushes in reactions:
                    self._seq += 1
                    ev = MessageEvent(rnd.guild_id, channel, uid, at, False, True)
                    heapq.heappush(self.said, (at, self._seq, ev, hushes))
            else:
                self.tally.replied(rnd.addressed, rnd.at)
            if self.tokens is not None:
                self.tokens.start(self.index[rnd.guild_id], rnd)
            self._seq += 1
            heapq.heappush(self.rounds, (rnd.at + self.round_s, self._seq, rnd))

    def _finish(self, rnd: Round, at: float) -> None:
        action = "reply" if rnd.decision is None else rnd.decision.action
        if self.tokens is not None:
            self.tokens.finish(rnd)
        self.spoke[self.index[rnd.guild_id]] = at
        self._start(self.loop.finish(rnd, action, at))

    def sample_moods(self, span_s: float) -> None:
        engine = self.loop.engine
        for gid in self.index:
            self.mood_seconds[engine.state(gid).mood] += span_s  # type: ignore[union-attr]


class V1Run(_Run):
    """The old behaviour: a 15-minute timer per guild (first tick staggered), 10 %, random pick."""

    def __init__(
        self, name, world, cfg, mood, guilds, traffic: SyntheticTraffic, members: Members
    ) -> None:
        super().__init__(name, world, mood, guilds, members, cfg.seed)
        # seeded by policy only: v1 ignores moods, so its bubbly and shy runs are identical
        self.policy = V1Policy(random.Random(f"{cfg.seed}:v1"))
        self.ids = [g.guild_id for g in traffic.guilds[:guilds]]
        self.hints = [g.mood_hint for g in traffic.guilds[:guilds]]
        stagger = random.Random(f"{cfg.seed}:v1-stagger")
        self.heap = [
            (T0 + stagger.uniform(0, self.policy.interval_s), i) for i in range(len(self.ids))
        ]
        heapq.heapify(self.heap)

    def due(self) -> float:
        return self.heap[0][0]

    def run_until(self, t: float) -> None:
        heap, policy = self.heap, self.policy
        while heap[0][0] < t:
            when, i = heap[0]
            d = policy.decide(self.ids[i], at=when)
            if d.action is not None:
                said = self.act(i, when, d.action, self.mood or self.hints[i])
                if any(not hushes and at - when <= 600.0 for at, _, hushes in said):
                    self.feedback.answered += 1  # (v1 hears nobody: counted at once)
            heapq.heapreplace(heap, (policy.next_wake(when), i))

    def on_event(self, ev: object, i: int) -> None:
        """v1 looks at nothing (the tally does: talk that follows its remarks)."""
        self.heard(i)

    def sample_moods(self, span_s: float) -> None:
        for hint in self.hints:
            self.mood_seconds[self.mood or hint] += span_s


def simulate(cfg: SimConfig) -> dict[str, object]:
    """Run the simulation; return the report (plain data, deterministic for a seed)."""
    traffic = SyntheticTraffic(
        cfg.guilds, cfg.guilds * cfg.rate / 3600.0, seed=cfg.seed, start=T0,
        mix=Mix(mention=cfg.mention), rhythms=cfg.rhythms,
    )  # fmt: skip
    world = World(traffic, cfg, random.Random(f"{cfg.seed}:world"))
    members = Members(
        traffic, random.Random(f"{cfg.seed}:members"), readers=cfg.readers,
        answer_chance=cfg.answer_chance, answer_delay_s=cfg.answer_delay_s,
        husher_fraction=cfg.husher_fraction, hush_chance=cfg.hush_chance,
        dead_level=cfg.dead_level, seed=cfg.seed,
    )  # fmt: skip
    policies = ("v2", "v1") if cfg.policy == "both" else (cfg.policy,)
    runs: dict[str, _Run] = {}
    few = min(cfg.guilds, cfg.counterfactual_guilds)
    for policy in policies:
        for mood in (None, "bubbly", "shy"):
            name = policy if mood is None else f"{policy}:{mood}"
            n = cfg.guilds if mood is None else few
            if policy == "v2":
                runs[name] = LoopRun(name, world, cfg, mood, n, traffic, members)
            else:
                runs[name] = V1Run(name, world, cfg, mood, n, traffic, members)
        if policy == "v2":  # what is learned, against the same rules learning nothing
            runs[FIXED_RUN] = LoopRun(
                FIXED_RUN, world, cfg, None, cfg.guilds, traffic, members, learning=FIXED
            )
            for c in sim_learning.KNOB if cfg.knob else ():
                name = sim_learning.knob_run(c)
                runs[name] = LoopRun(name, world, cfg, None, few, traffic, members, chattiness=c)
    listening = [(r, r.guilds) for r in runs.values()]
    traces = sim_learning.Traces(runs.get("v2"), members, T0, traffic.guilds)  # type: ignore[arg-type]
    all_runs = list(runs.values())
    end = T0 + cfg.hours * 3600
    mains = [runs[p] for p in policies]  # the runs whose guilds keep (or rotate) their own moods
    next_sample = T0
    see = world.see
    for ev in traffic.events_until(end):
        t = ev.at
        while next_sample <= t:
            for r in mains:
                r.sample_moods(MOOD_SAMPLE_S)
            traces.sample(next_sample)
            next_sample += MOOD_SAMPLE_S
        for r in all_runs:
            if r.due() < t:  # most events find nothing due: skip the call
                r.run_until(t)
        i = see(ev)
        for r, n in listening:
            if i < n:
                r.on_event(ev, i)
    while next_sample < end:
        for r in mains:
            r.sample_moods(MOOD_SAMPLE_S)
        next_sample += MOOD_SAMPLE_S
    for r in all_runs:
        r.run_until(end)
        r.drain()  # rounds under way at the end still finish (their replies count)

    days = cfg.hours / 24
    figs: dict[str, dict] = {
        name: figures(
            r.tally,
            guild_days=r.guilds * days,
            mood_guild_days={r.mood: r.guilds * days}
            if r.mood
            else {m: sec / 86400 for m, sec in sorted(r.mood_seconds.items())},
            conversations=sum(world.conversations_of[: r.guilds]),
            mentions=sum(world.mentions_of[: r.guilds]) + r.extra_mentions,
        )
        | {"remarks": r.feedback.figures(r.guilds * days)}
        for name, r in runs.items()
    }
    first = policies[0]
    other = policies[1] if len(policies) > 1 else None
    claims = check_claims(figs, first, other)
    targets = sim_learning.targets(figs, FIXED_RUN) if "v2" in runs else []
    claims += sim_learning.claims(figs)
    v2 = runs.get("v2")
    tokens = v2.tokens.figures() if isinstance(v2, LoopRun) and v2.tokens is not None else None
    if tokens is not None and cfg.budget:
        claims.append(budget_claim(tokens))
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
        "llm_tokens": tokens,
        "learning": traces.report(figs, FIXED_RUN, cfg) if "v2" in runs else None,
        "claims": claims,
        "targets": targets,
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
    for c in report["targets"]:  # measured against the targets; they fail no run
        echo(f"{'MET ' if c['passed'] else 'MISS'}  target: {c['claim']}: {c['figure']}")
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
