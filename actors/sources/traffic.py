"""Synthetic guild traffic: deterministic engine events for N guilds at an aggregate rate.

For load tests, the ``synthetic`` source and simulations. Each guild has a few channels (the
first is its autonomous one), a pool of members, a mood hint and a share of the traffic drawn from
a skewed (log-normal) distribution: a few busy guilds, many quiet ones. Per guild:

- messages come from a two-state Markov-modulated Poisson process: "talking" spells (mean
  `talk_s`) with a high rate and "quiet" spells (mean `quiet_s`) at `quiet_level` of it, so traffic
  is bursty while the long-run rate is the guild's share;
- presence changes (online, offline, starting a game) and member joins form a second, steady stream;
- both follow a time-of-day shape in the guild's own UTC offset (busy evenings, quiet nights) whose
  daily mean is 1, so any whole day averages to the configured rate. With `rhythms`, each guild
  gets a week of its own instead (`RHYTHMS`: evening-only, weekend-heavy, around the clock, or
  that daily shape), each with a weekly mean of 1.

Events come out in time order from one heap of per-guild next-event times (two entries per guild),
so state is O(guilds) however long it runs, and a seed fixes every event. Time is virtual: nothing
here sleeps or reads a clock. Events carry no content; `text_for()` makes up a phrase when a
transcript needs one.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Callable, Iterator

import msgspec

from engine import ASLEEP, BUILTIN_MOODS, Event, MemberJoinEvent, MessageEvent, PresenceEvent

__all__ = ["GAMES", "RHYTHMS", "Mix", "SyntheticGuild", "SyntheticTraffic", "text_for", "week_slot"]

DISCORD_EPOCH_MS = 1_420_070_400_000
_GUILD_BASE_MS = 1_577_836_800_000  # 2020-01-01: when our synthetic guilds were "created"
_USER_BASE_MS = 1_451_606_400_000  # 2016-01-01
GAMES = ("Project DIVA Mega Mix", "Minecraft", "Stardew Valley", "osu!", "Tetris 99",
         "Genshin Impact", "Hollow Knight", "Mario Kart 8")  # fmt: skip
PHRASES = ("lol", "anyone around?", "good morning", "that song is so good", "brb", "gg",
           "did you see the new episode?", "what are you playing?", "nice", "I can't sleep",
           "haha yes", "who's up for a game tonight?", "same", "hello!")  # fmt: skip
_OFFSETS_H = (-8, -7, -5, -4, -3, 0, 0, 1, 1, 2, 3, 5, 8, 9, 9, 10)
# activity by local hour, normalised below to a daily mean of 1: quiet nights, busy evenings
_RAW_SHAPE = (0.45, 0.3, 0.2, 0.15, 0.12, 0.15, 0.25, 0.4, 0.55, 0.65, 0.75, 0.85,
              0.95, 0.95, 0.95, 1.0, 1.1, 1.3, 1.55, 1.8, 2.0, 2.0, 1.7, 1.05)  # fmt: skip
SHAPE = tuple(x * 24 / sum(_RAW_SHAPE) for x in _RAW_SHAPE)


def _week(raw: list[float]) -> tuple[float, ...]:
    return tuple(x * 168 / sum(raw) for x in raw)


# weekly shapes by local hour of the week (Monday 00:00 first), each with a mean of 1
RHYTHMS: dict[str, tuple[float, ...]] = {
    "daily": SHAPE * 7,  # the same day every day: busy evenings, quiet nights
    "evening": _week([(3.0 if 18 <= h % 24 <= 23 else 0.03) for h in range(168)]),
    "weekend": _week([SHAPE[h % 24] * (3.0 if h >= 120 else 0.25) for h in range(168)]),
    "clock": _week([1.0] * 168),  # around the clock
}
WEEKLY_DAILY = RHYTHMS["daily"]


def week_slot(local_s: float) -> int:
    """The hour of the week (Monday 00:00 is 0) of local time `local_s` (seconds since the
    epoch shifted by the UTC offset; 1970-01-01 was a Thursday)."""
    hour = int(local_s // 3600.0)
    return ((hour // 24 + 3) % 7) * 24 + hour % 24


def _fraction(name: str, value: float) -> None:
    if not (isinstance(value, int | float) and 0.0 <= value <= 1.0):
        raise ValueError(f"mix.{name} must be a fraction in [0, 1], got {value!r}")


class Mix(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What the traffic is made of: shares of event kinds (normalised), and per-kind fractions."""

    message: float = 0.85  # shares of all events …
    presence: float = 0.13
    join: float = 0.02
    mention: float = 0.01  # … fraction of messages that mention the bot
    autonomous: float = 0.75  # … of messages posted in the guild's autonomous channel
    activity: float = 0.4  # … of presence changes where a member starts a game
    offline: float = 0.25  # … of presence changes where a member goes offline

    def __post_init__(self) -> None:
        for name in self.__struct_fields__:
            _fraction(name, getattr(self, name))
        if self.message + self.presence + self.join <= 0:
            raise ValueError("mix: message, presence and join shares are all 0; nothing to send")
        if self.activity + self.offline > 1:
            raise ValueError(
                f"mix.activity + mix.offline must be <= 1, got {self.activity + self.offline!r}"
            )


class SyntheticGuild(msgspec.Struct, frozen=True, gc=False):
    """One synthetic guild's fixed traits."""

    guild_id: int
    channel_ids: tuple[int, ...]  # the first is the autonomous channel
    first_user_id: int  # members are first_user_id + k × 4096 for k < members
    members: int
    mood_hint: str
    share: float  # its share of the aggregate rate (all guilds sum to 1)
    utc_offset_h: int
    rhythm: str = "daily"  # its week (`RHYTHMS`)

    @property
    def autonomous_channel(self) -> int:
        return self.channel_ids[0]

    def user_id(self, k: int) -> int:
        return self.first_user_id + (k << 12)


def _snowflake(ms: int, low: int) -> int:
    return ((ms - DISCORD_EPOCH_MS) << 22) | (low & 0x3FFFFF)


def text_for(event: MessageEvent, *, bot_name: str = "Miku") -> str:
    """A short, generic, deterministic phrase for a message event (for keyword actions)."""
    # hash() of a tuple of numbers is the same in every process (no string hash randomisation)
    phrase = PHRASES[hash((event.guild_id, event.author_id, event.at)) % len(PHRASES)]
    return f"@{bot_name} {phrase}" if event.mentions_bot else phrase


def _time_after(
    t: float, work: float, rate: float, offset: float, week: tuple[float, ...] = WEEKLY_DAILY
) -> float:
    """When `work` units of intensity `rate × week[local hour of the week]` have passed."""
    if rate <= 0.0:
        return math.inf
    local = t + offset  # walk in local time: hour ends are then exact multiples of 3600
    while True:
        hour = int(local // 3600.0)
        r = rate * week[((hour // 24 + 3) % 7) * 24 + hour % 24]
        step = work / r
        end = (hour + 1) * 3600.0
        if local + step < end:
            return local + step - offset
        work -= (end - local) * r
        local = end


class SyntheticTraffic:
    """Deterministic, bursty engine events for `guilds` guilds at about `rate` events a second.

    Parameters
    ----------
    guilds:
        How many guilds.
    rate:
        Aggregate events per (virtual) second across all guilds, in the long run.
    seed:
        Fixes the guilds and every event.
    mix:
        Event kinds and fractions (`Mix`).
    start:
        Virtual time (seconds since the epoch) the traffic starts at.
    talk_s, quiet_s, quiet_level:
        Mean length of talking and quiet spells, and the quiet message rate relative to talking.
    skew:
        Spread (log-normal sigma) of the guilds' shares of the traffic; 0 makes them equal.
    only:
        Which guild ids this instance generates events for (a gateway's shards); None: all.
        The guilds and their shares stay those of the whole set, so instances with disjoint
        `only` together generate about `rate` events a second.
    rhythms:
        Give each guild a week of its own (`SyntheticGuild.rhythm`, one of `RHYTHMS`) instead
        of the same busy-evening day for all.
    """

    def __init__(
        self,
        guilds: int,
        rate: float,
        *,
        seed: int = 0,
        mix: Mix | None = None,
        start: float = 1_700_000_000.0,
        talk_s: float = 240.0,
        quiet_s: float = 1200.0,
        quiet_level: float = 0.02,
        skew: float = 1.2,
        only: Callable[[int], bool] | None = None,
        rhythms: bool = False,
    ) -> None:
        if isinstance(guilds, bool) or not isinstance(guilds, int) or guilds < 1:
            raise ValueError(f"guilds must be an int >= 1, got {guilds!r}")
        for name, value in (("rate", rate), ("talk_s", talk_s), ("quiet_s", quiet_s)):
            if not (isinstance(value, int | float) and 0 < value < math.inf):
                raise ValueError(f"{name} must be a number > 0, got {value!r}")
        if not (isinstance(quiet_level, int | float) and 0 <= quiet_level <= 1):
            raise ValueError(f"quiet_level must be in [0, 1], got {quiet_level!r}")
        if not (isinstance(skew, int | float) and 0 <= skew <= 5):
            raise ValueError(f"skew must be in [0, 5], got {skew!r}")
        self.rate = float(rate)
        self.seed = seed
        self.mix = mix = mix or Mix()
        self.now = float(start)
        self.talk_s, self.quiet_s = float(talk_s), float(quiet_s)
        self._rng = rng = random.Random(seed)
        moods = tuple(m for m in BUILTIN_MOODS if m != ASLEEP)
        weights = [rng.lognormvariate(0.0, skew) for _ in range(guilds)]
        total = sum(weights)
        made = []
        for g, w in enumerate(weights):
            ms = _GUILD_BASE_MS + g * 7_919 + (seed % 1_000) * 86_400_000
            members = 5 + int(min(w / total * guilds, 40.0) * 10)  # busier guilds, more members
            made.append(SyntheticGuild(
                guild_id=_snowflake(ms, g),
                channel_ids=tuple(_snowflake(ms, g) + 1 + c for c in range(3)),
                first_user_id=_snowflake(_USER_BASE_MS + g * 86_400, 0),
                members=members,
                mood_hint=moods[rng.randrange(len(moods))],
                share=w / total,
                utc_offset_h=_OFFSETS_H[rng.randrange(len(_OFFSETS_H))],
            ))  # fmt: skip
        if rhythms:  # drawn after the guilds, so their other traits are the same either way
            kinds = tuple(RHYTHMS)
            made = [msgspec.structs.replace(g, rhythm=kinds[rng.randrange(len(kinds))])
                    for g in made]  # fmt: skip
        self.guilds: tuple[SyntheticGuild, ...] = tuple(made)
        self._by_id = {g.guild_id: g for g in made}

        shares = mix.message + mix.presence + mix.join
        msg_rate = self.rate * mix.message / shares
        bg_rate = self.rate * (mix.presence + mix.join) / shares
        self._join_share = mix.join / (mix.presence + mix.join) if bg_rate else 0.0
        talking_frac = talk_s / (talk_s + quiet_s)
        level = talking_frac + (1 - talking_frac) * quiet_level  # mean rate / talking rate
        # per-guild state, one list per field (indexed by guild), all O(guilds)
        self._talk_rate = [msg_rate * g.share / level for g in made]
        self._quiet_rate = [r * quiet_level for r in self._talk_rate]
        self._bg_rate = [bg_rate * g.share for g in made]
        self._offset = [g.utc_offset_h * 3600.0 for g in made]
        self._week = [RHYTHMS[g.rhythm] for g in made]
        self._talking = [rng.random() < talking_frac for _ in made]
        self._switch = [
            self.now + rng.expovariate(1 / (talk_s if talking else quiet_s))
            for talking in self._talking
        ]
        self._joined = [0] * guilds
        heap: list[tuple[float, int]] = []
        for g in range(guilds):
            if only is not None and not only(made[g].guild_id):
                continue  # another instance's guild (its draws below are skipped too)
            rate_g = self._talk_rate[g] if self._talking[g] else self._quiet_rate[g]
            week = self._week[g]
            first = _time_after(self.now, rng.expovariate(1.0), rate_g, self._offset[g], week)
            heap.append((min(first, self._switch[g]), 2 * g))
            heap.append((_time_after(self.now, rng.expovariate(1.0), self._bg_rate[g],
                                     self._offset[g], week), 2 * g + 1))  # fmt: skip
        heapq.heapify(heap)
        self._heap = heap

    def guild(self, guild_id: int) -> SyntheticGuild:
        """The traits of one guild; KeyError for an id that is not one of ours."""
        return self._by_id[guild_id]

    def events_until(self, until: float) -> Iterator[Event]:
        """The events with `at < until`, in time order, continuing where the last call stopped.

        State advances as events are yielded, so a partly consumed iterator loses nothing beyond
        the events it yielded.
        """
        heap = self._heap
        random_ = self._rng.random
        expo = self._rng.expovariate
        replace = heapq.heapreplace
        talking, switch = self._talking, self._switch
        talk_rate, quiet_rate, bg_rate = self._talk_rate, self._quiet_rate, self._bg_rate
        offset, guilds, weeks = self._offset, self.guilds, self._week
        mix = self.mix
        p_mention, p_auto, p_join = mix.mention, mix.autonomous, self._join_share
        p_activity, p_off = mix.activity, mix.activity + mix.offline
        talk_s, quiet_s = self.talk_s, self.quiet_s
        log = math.log
        while heap and heap[0][0] < until:
            t, key = heap[0]
            g = key >> 1
            self.now = t
            guild = guilds[g]
            if not key & 1:  # the conversation stream
                sw = switch[g]
                if t >= sw:  # the spell ends: flip state and draw anew from here
                    now_talking = talking[g] = not talking[g]
                    sw = switch[g] = t + expo(1.0 / (talk_s if now_talking else quiet_s))
                    rate_g = talk_rate[g] if now_talking else quiet_rate[g]
                    nxt = _time_after(t, -log(1.0 - random_()), rate_g, offset[g], weeks[g])
                    replace(heap, (nxt if nxt < sw else sw, key))
                    continue
                rate_g = talk_rate[g] if talking[g] else quiet_rate[g]
                nxt = _time_after(t, -log(1.0 - random_()), rate_g, offset[g], weeks[g])
                replace(heap, (nxt if nxt < sw else sw, key))
                u = random_()
                channels = guild.channel_ids
                channel = (
                    channels[0]
                    if u < p_auto
                    else channels[1 + int(random_() * (len(channels) - 1))]
                )
                k = int(guild.members * random_() ** 2)  # a few members do most of the talking
                yield MessageEvent(
                    guild.guild_id, channel, guild.first_user_id + (k << 12), t, False,
                    random_() < p_mention,
                )  # fmt: skip
            else:  # presence changes and joins
                nxt = _time_after(t, -log(1.0 - random_()), bg_rate[g], offset[g], weeks[g])
                replace(heap, (nxt, key))
                u = random_()
                if u < p_join:
                    n = self._joined[g] = self._joined[g] + 1
                    yield MemberJoinEvent(guild.guild_id, guild.user_id(guild.members + n), t)
                    continue
                user = guild.first_user_id + (int(guild.members * random_()) << 12)
                v = random_()
                if v < p_activity:
                    game = GAMES[int(random_() * len(GAMES))]
                    yield PresenceEvent(guild.guild_id, user, t, True, game)
                elif v < p_off:
                    yield PresenceEvent(guild.guild_id, user, t, False, None)
                else:
                    yield PresenceEvent(guild.guild_id, user, t, True, None)
        self.now = max(self.now, until)

    def rebase(self, start: float) -> float:
        """Move a schedule that has not begun forward to `start` (seconds), every pending event
        by the same amount; returns the shift (0.0 when `start` is not later than `now`).

        Building the traffic takes time (O(guilds): ~16 s for a million on this machine); a
        source that started its schedule at construction would meet that whole stretch at once,
        a burst no real gateway sees. The days' shape moves by the same shift. O(guilds)."""
        shift = start - self.now
        if shift <= 0:
            return 0.0
        self._heap = [(t + shift, key) for t, key in self._heap]  # (still a heap: same order)
        self._switch = [t + shift for t in self._switch]
        self.now = start
        return shift

    def batch(self, now: float, dt: float) -> list[Event]:
        """The events due by `now + dt` not yet emitted (a paced source's next slice)."""
        return list(self.events_until(now + dt))

    def __repr__(self) -> str:
        return f"SyntheticTraffic(guilds={len(self.guilds)}, rate={self.rate}, seed={self.seed})"
