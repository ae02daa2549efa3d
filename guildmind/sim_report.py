"""What a simulation found, as plain data: ground truth, per-run tallies, figures, claims.

`World` keeps the ground truth from the events alone, never from an engine's state (definitions
in `guildmind.simulate`); a `Tally` counts one run's actions against it (`Observation`).
`figures()` turns a tally into JSON-ready numbers; `check_claims()` sets the seed's claims
against them.
Nothing here draws, prints or touches files.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter, deque
from typing import TYPE_CHECKING, NamedTuple

from engine import ACTIONS, MemberJoinEvent, MessageEvent, RuleConfig

if TYPE_CHECKING:
    import random

    from actors.sources.traffic import SyntheticTraffic

    from .simulate import SimConfig

ON_TOPIC = frozenset({"join_conversation", "fomo_response"})
"""Actions that answer the conversation; any other action during a busy one interrupts it."""

_QUIET_START, _QUIET_END = 23 * 60, 7 * 60  # quiet hours, minutes of the local day

QUIET_CHAT_S = 2 * RuleConfig().silence_base_s
"""A chat silent this long is quiet for every mood (the quiet period is 1 h × (2 − energy))."""

DELAY_BINS_S = (0, 30, 60, 120, 300, 600, 1800, 3600, 3 * 3600, math.inf)
"""Bins of the delay between a conversation's start and the bot's first action in it."""


class Observation(NamedTuple):
    """Ground truth about one guild at the moment the bot acted (from the events alone)."""

    empty: bool  # nobody online per the presence stream and no human message for a while
    busy: bool  # at least the busy threshold of human messages in the last 5 minutes
    quiet_hours: bool | None  # inside the guild's quiet hours; None when it has none
    local_hour: int  # hour of day in the guild's own UTC offset
    conversation_start: float | None  # when the ongoing conversation began, if one is


class World:
    """Ground truth about every guild, from the events alone (never from an engine)."""

    def __init__(self, traffic: SyntheticTraffic, cfg: SimConfig, rng: random.Random) -> None:
        self.cfg = cfg
        self.started_at = traffic.now  # the traffic starts with the bot
        guilds = traffic.guilds
        n = len(guilds)
        self.index = {g.guild_id: i for i, g in enumerate(guilds)}
        self.auto = [g.autonomous_channel for g in guilds]
        self.offset = [g.utc_offset_h * 3600.0 for g in guilds]
        self.quiet = [rng.random() < cfg.quiet_fraction for _ in guilds]
        self.online: list[set[int]] = [set() for _ in guilds]
        self.last_human = [-math.inf] * n
        self.last_auto = [-math.inf] * n
        self.conv_start = [-math.inf] * n
        self.recent: list[deque[float]] = [deque() for _ in guilds]
        self.events = self.messages = self.conversations = 0
        self.conversations_of = [0] * n
        self.messages_by_hour = [0] * 24
        self.mentions_of = [0] * n  # human messages addressing the bot, after the start-up
        # for the event just seen, if a human message in the autonomous channel: the time of the
        # human message there before it (-inf: none), else None
        self.spoke_after: float | None = None
        self._answerable_from = self.started_at + RuleConfig().startup_s

    def see(self, ev: object) -> int:
        """Update the ground truth with one event; return the guild's index."""
        self.events += 1
        self.spoke_after = None
        i = self.index[ev.guild_id]  # type: ignore[attr-defined]
        kind = type(ev)
        if kind is MessageEvent:
            if ev.author_is_bot:  # type: ignore[attr-defined]
                return i
            t = ev.at  # type: ignore[attr-defined]
            self.last_human[i] = t
            self.online[i].add(ev.author_id)  # type: ignore[attr-defined]
            if ev.mentions_bot and t >= self._answerable_from:  # type: ignore[attr-defined]
                self.mentions_of[i] += 1
            if ev.channel_id == self.auto[i]:  # type: ignore[attr-defined]
                self.spoke_after = self.last_auto[i]
                self.messages += 1
                if t - self.last_auto[i] >= self.cfg.conversation_gap_s:
                    self.conv_start[i] = t
                    self.conversations += 1
                    self.conversations_of[i] += 1
                self.last_auto[i] = t
                self.recent[i].append(t)
                self.messages_by_hour[int((t + self.offset[i]) % 86400 // 3600)] += 1
        elif kind is MemberJoinEvent or ev.online:  # type: ignore[attr-defined]
            self.online[i].add(ev.user_id)  # type: ignore[attr-defined]
        else:
            self.online[i].discard(ev.user_id)  # type: ignore[attr-defined]
        return i

    def observe(self, i: int, at: float) -> Observation:
        """The ground truth about guild `i` at time `at` (after the events before it).

        Times are taken to the microsecond, the resolution of the engine's clock arithmetic
        (`datetime`): a wake time computed as 06:59:59.9999998 is 07:00:00.
        """
        at = round(at, 6)
        recent = self.recent[i]
        while recent and recent[0] <= at - 300.0:
            recent.popleft()
        minute = int((at + self.offset[i]) % 86400 // 60)
        quiet = None
        if self.quiet[i]:
            quiet = minute >= _QUIET_START or minute < _QUIET_END
        ongoing = at - self.last_auto[i] < self.cfg.conversation_gap_s
        return Observation(
            empty=not self.online[i] and at - self.last_human[i] >= self.cfg.empty_after_s,
            busy=len(recent) >= self.cfg.busy_messages,
            quiet_hours=quiet,
            local_hour=minute // 60,
            conversation_start=self.conv_start[i] if ongoing else None,
        )


class Tally:
    """One run's actions, counted against ground truth.

    Parameters
    ----------
    guilds:
        How many guilds (guild indexes are 0 … guilds − 1).
    started_at, startup_s, min_gap_s:
        The bot's start and the two timing claims' thresholds.
    """

    def __init__(self, guilds: int, *, started_at: float, startup_s: float, min_gap_s: float):
        self.started_at, self.startup_s, self.min_gap_s = started_at, startup_s, min_gap_s
        self.actions = 0
        self.by_action: Counter[str] = Counter()
        self.by_mood: Counter[str] = Counter()
        self.by_hour = [0] * 24
        self.empty = 0
        self.busy = 0
        self.interruptions = 0
        self.quiet_guild_actions = 0  # actions in guilds that have quiet hours …
        self.in_quiet_hours = 0  # … of which inside them
        self.early = 0
        self.first_s = math.inf
        self.close_pairs = 0
        self.min_gap_s_seen = math.inf
        self.delays: list[float] = []
        self._last = [-math.inf] * guilds
        self._joined = [-math.inf] * guilds  # start of the last conversation the bot acted in
        self.replies = 0  # reply rounds (the bot addressed), apart from its own actions
        self.mentions_answered = 0  # the addressing messages those replies answered
        self.into_quiet_chat = 0  # human messages into a chat silent longer than any quiet period
        self.quiet_chat_answered = 0  # … that the bot answered at once

    def record(self, guild: int, at: float, action: str, mood: str, obs: Observation) -> None:
        """Count one action taken at `at` in guild index `guild` while in `mood`."""
        self.actions += 1
        self.by_action[action] += 1
        self.by_mood[mood] += 1
        self.by_hour[obs.local_hour] += 1
        self.empty += obs.empty
        if obs.busy:
            self.busy += 1
            self.interruptions += action not in ON_TOPIC
        if obs.quiet_hours is not None:
            self.quiet_guild_actions += 1
            self.in_quiet_hours += obs.quiet_hours
        since_start = at - self.started_at
        self.first_s = min(self.first_s, since_start)
        self.early += since_start < self.startup_s
        gap = at - self._last[guild]
        self._last[guild] = at
        self.min_gap_s_seen = min(self.min_gap_s_seen, gap)
        self.close_pairs += gap < self.min_gap_s
        start = obs.conversation_start
        if start is not None and self._joined[guild] != start:
            self._joined[guild] = start
            self.delays.append(at - start)

    def replied(self, addressed: tuple[MessageEvent, ...], at: float) -> None:
        """Count one reply round at `at`, answering `addressed` (one message or several held)."""
        self.replies += 1
        self.mentions_answered += len(addressed)

    def spoke_into_quiet_chat(self, answered: bool) -> None:
        """Someone spoke into a chat silent (people and bot) for longer than any quiet period."""
        self.into_quiet_chat += 1
        self.quiet_chat_answered += answered


def _num(x: float) -> float | None:
    """A JSON-safe number: None for infinity (no such event), rounded otherwise."""
    return None if math.isinf(x) else round(x, 3)


def _percentile(sorted_values: list[float], q: float) -> float | None:
    if not sorted_values:
        return None
    i = min(len(sorted_values) - 1, max(0, math.ceil(q * len(sorted_values)) - 1))
    return round(sorted_values[i], 3)


def figures(
    tally: Tally,
    *,
    guild_days: float,
    mood_guild_days: dict[str, float],
    conversations: int,
    mentions: int,
) -> dict[str, object]:
    """One run's figures; rates are per guild per day of simulated time."""
    delays = sorted(tally.delays)
    bins = DELAY_BINS_S
    hist = [sum(1 for d in delays if lo <= d < hi) for lo, hi in itertools.pairwise(bins)]
    per_mood = {
        m: round(tally.by_mood.get(m, 0) / days, 4)
        for m, days in sorted(mood_guild_days.items())
        if days > 0
    }
    return {
        "actions": tally.actions,
        "actions_per_guild_day": round(tally.actions / guild_days, 4) if guild_days else 0.0,
        "actions_per_guild_day_by_mood": per_mood,
        "actions_by_action": {a: tally.by_action.get(a, 0) for a in ACTIONS},
        "actions_by_local_hour": list(tally.by_hour),
        "into_empty_room": tally.empty,
        "into_busy_conversation": tally.busy,
        "interruptions": tally.interruptions,
        "quiet_guild_actions": tally.quiet_guild_actions,
        "in_quiet_hours": tally.in_quiet_hours,
        "before_startup": tally.early,
        "first_action_s": _num(tally.first_s),
        "pairs_closer_than_min_gap": tally.close_pairs,
        "shortest_gap_s": _num(tally.min_gap_s_seen),
        "conversations": conversations,
        "conversations_joined": len(delays),
        "mentions": mentions,
        "mentions_answered": tally.mentions_answered,
        "into_quiet_chat": tally.into_quiet_chat,
        "quiet_chat_answered": tally.quiet_chat_answered,
        "replies": tally.replies,
        "join_delay_s": {
            "median": _percentile(delays, 0.5),
            "p90": _percentile(delays, 0.9),
            "bins_s": [b if math.isfinite(b) else None for b in bins],
            "histogram": hist,
        },
    }


def _claim(policy: str, claim: str, passed: bool, figure: str) -> dict[str, object]:
    return {"policy": policy, "claim": claim, "passed": bool(passed), "figure": figure}


def check_claims(runs: dict[str, dict], policy: str, other: str | None) -> list[dict[str, object]]:
    """The seed's claims checked on `policy`'s runs, with `other`'s figures beside them.

    `runs` maps run names (`"v2"`, `"v2:bubbly"`, …) to `figures()`. The main run is `policy`;
    `policy:bubbly` and `policy:shy` are the same traffic with every guild in that mood.
    """
    main, bubbly, shy = runs[policy], runs[f"{policy}:bubbly"], runs[f"{policy}:shy"]

    def beside(fmt: str) -> str:
        if other is None:
            return ""
        o = runs[other]
        return f" ({other}: " + fmt.format(**o) + ")"

    n = main["actions"]
    b, s = bubbly["actions_per_guild_day"], shy["actions_per_guild_day"]
    gap = main["shortest_gap_s"]
    first = main["first_action_s"]
    ob = runs[f"{other}:bubbly"] if other else None
    os_ = runs[f"{other}:shy"] if other else None
    claims = [
        _claim(
            policy,
            "bubbly acts more than shy on the same traffic",
            b > s,
            f"bubbly {b:.2f} vs shy {s:.2f} actions per guild per day, every guild in one mood"
            + (
                f" ({other}: {ob['actions_per_guild_day']:.2f} vs "
                f"{os_['actions_per_guild_day']:.2f})"
                if ob and os_
                else ""
            ),
        ),
        _claim(
            policy,
            "nothing in the first 120 s",
            main["before_startup"] == 0,
            f"{main['before_startup']} of {n} actions before 120 s, the first at "
            + ("never" if first is None else f"+{first:.1f} s")
            + beside("{before_startup} of {actions}"),
        ),
        _claim(
            policy,
            "never two actions within 30 s",
            main["pairs_closer_than_min_gap"] == 0,
            f"{main['pairs_closer_than_min_gap']} pairs closer than 30 s, shortest gap in a guild "
            + ("none" if gap is None else f"{gap:.0f} s")
            + beside("{pairs_closer_than_min_gap} pairs"),
        ),
        _claim(
            policy,
            "nothing into an empty room",
            main["into_empty_room"] == 0,
            f"{main['into_empty_room']} of {n} actions into an empty room"
            + beside("{into_empty_room} of {actions}"),
        ),
        _claim(
            policy,
            "nothing in quiet hours",
            main["in_quiet_hours"] == 0,
            f"{main['in_quiet_hours']} of {main['quiet_guild_actions']} actions in guilds with "
            f"quiet hours fell inside them" + beside("{in_quiet_hours} of {quiet_guild_actions}"),
        ),
    ]
    if main["mentions"]:  # a policy that answers nobody (v1) has no reply rounds to count
        claims.append(
            _claim(
                policy,
                "every message addressing the bot is answered",
                main["mentions_answered"] == main["mentions"],
                f"{main['mentions_answered']} of {main['mentions']} messages that addressed the "
                f"bot answered, in {main['replies']} replies",
            )
        )
    if main["into_quiet_chat"]:
        claims.append(
            _claim(
                policy,
                "someone speaking into a quiet chat is answered",
                main["quiet_chat_answered"] == main["into_quiet_chat"],
                f"{main['quiet_chat_answered']} of {main['into_quiet_chat']} messages into a chat "
                f"silent for over {QUIET_CHAT_S / 3600:g} h (outside quiet hours) answered at once",
            )
        )
    if other is not None:
        o = runs[other]
        claims.append(
            _claim(
                policy,
                f"fewer messages into empty rooms than {other}",
                main["into_empty_room"] < o["into_empty_room"],
                f"{main['into_empty_room']} vs {o['into_empty_room']}",
            )
        )
        claims.append(
            _claim(
                policy,
                f"fewer interruptions of busy conversations than {other}",
                main["interruptions"] < o["interruptions"],
                f"{main['interruptions']} vs {o['interruptions']} off-topic actions into busy "
                f"conversations",
            )
        )
    return claims
