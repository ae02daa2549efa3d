"""The simulated members' side of a remark: who answers the bot, when, who tells it to be quiet.

The model (stated in the report, `Members.model()`), for a remark of the bot's own at time `t`
in guild `i`:

- *who reads it*: up to `readers` of the members online then (per the events: `World.online`),
  the lowest ids first (a fixed, not a random, choice: the runs compare on the same people);
- *who answers*: each reader `k` answers with chance `answer_chance × liking(i, k) × hour(i, t)`,
  after an exponential delay of mean `answer_delay_s` (a message in the autonomous channel).
  `hour(i, t)` is the guild's true activity at that local hour of the week over its busiest
  hour (its traffic's week, `actors.sources.traffic.RHYTHMS`): people answer when they are
  around. `liking(i, k)` is fixed per member: a guild is *engaging* (likings uniform in
  0.6–1), *ignoring* (0–0.05) or *mixed* (0–0.7), in shares 30/30/40 %;
- *who tells it to be quiet*: in `husher_fraction` of the guilds one member (the guild's
  busiest talker) does, reading a remark with chance `hush_chance × hour(i, t)`, a minute or
  so later, in a message that addresses the bot (the runtime's hosts match the words; here the
  loop is told directly, as a host would).

A remark is *answered* when a member answers it within `window_s` (10 min); the run also counts
remarks followed by any human message in that time (what the engine itself can see). A guild's
*usually dead hours* are the hours of the week whose true activity is below `dead_level` of its
weekly mean. Nothing here draws, prints or touches files.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from actors.sources.traffic import RHYTHMS, week_slot

if TYPE_CHECKING:
    import random

    from actors.sources.traffic import SyntheticTraffic

KINDS = ("engaging", "ignoring", "mixed")
_KIND_SHARES = (0.3, 0.3, 0.4)
_LIKING = {"engaging": (0.6, 1.0), "ignoring": (0.0, 0.05), "mixed": (0.0, 0.7)}
WINDOW_S = 600.0


class Members:
    """The members of every simulated guild, as far as the bot's remarks are concerned."""

    def __init__(
        self,
        traffic: SyntheticTraffic,
        rng: random.Random,
        *,
        readers: int,
        answer_chance: float,
        answer_delay_s: float,
        husher_fraction: float,
        hush_chance: float,
        dead_level: float,
        seed: int,
    ) -> None:
        self.readers, self.answer_chance = readers, answer_chance
        self.answer_delay_s, self.hush_chance = answer_delay_s, hush_chance
        self.dead_level, self.seed = dead_level, seed
        guilds = traffic.guilds
        self.offset = [g.utc_offset_h * 3600.0 for g in guilds]
        self.week = [RHYTHMS[g.rhythm] for g in guilds]
        self.rhythm = [g.rhythm for g in guilds]
        self.peak = [max(w) for w in self.week]
        self.kind = [rng.choices(KINDS, _KIND_SHARES)[0] for _ in guilds]
        # the busiest talker (member 0: traffic draws members as members × u², so 0 is the most)
        self.husher = [g.first_user_id if rng.random() < husher_fraction else None for g in guilds]

    def liking(self, i: int, uid: int) -> float:
        """How much member `uid` of guild `i` likes talking to the bot, in [0, 1] (fixed)."""
        lo, hi = _LIKING[self.kind[i]]
        u = ((uid * 2654435761 + i * 40503 + self.seed * 9973) % 1_000_003) / 1_000_003
        return lo + (hi - lo) * u

    def slot(self, i: int, t: float) -> int:
        """The guild's local hour of the week at `t`."""
        return week_slot(t + self.offset[i])

    def hour(self, i: int, t: float) -> float:
        """The guild's true activity at `t` over its busiest hour's, in (0, 1]."""
        return self.week[i][self.slot(i, t)] / self.peak[i]

    def dead(self, i: int, t: float) -> bool:
        """Whether `t` falls in one of the guild's usually dead hours."""
        return self.week[i][self.slot(i, t)] < self.dead_level

    def react(
        self, i: int, t: float, online: set[int], rng: random.Random
    ) -> list[tuple[float, int, bool]]:
        """What follows a remark at `t`: `(at, member, hushes)` for each reply, in time order."""
        out: list[tuple[float, int, bool]] = []
        if not online:
            return out
        h = self.hour(i, t)
        husher = self.husher[i]
        for uid in sorted(online)[: self.readers]:
            if uid == husher:
                if rng.random() < self.hush_chance * h:
                    out.append((t + 30.0 + rng.expovariate(1 / 60.0), uid, True))
                continue
            if rng.random() < self.answer_chance * self.liking(i, uid) * h:
                delay = min(rng.expovariate(1 / self.answer_delay_s), 3 * WINDOW_S)
                out.append((t + 5.0 + delay, uid, False))
        out.sort()
        return out

    def true_profile(self, i: int) -> list[float]:
        """The guild's true week (Monday 00:00 local first), mean 1."""
        return list(self.week[i])


class Feedback:
    """One run's remarks and what followed them (per guild index), against `Members`."""

    def __init__(self, guilds: int, members: Members) -> None:
        self.members = members
        self.remarks = 0
        self.answered = 0  # by a member, within WINDOW_S
        self.answered_any = 0  # by any human message in the autonomous channel, within it
        self.in_dead_hours = 0
        self.hushes = 0
        self._pending: list[list[float]] = [[] for _ in range(guilds)]  # remarks not answered
        self._pending_any: list[list[float]] = [[] for _ in range(guilds)]

    def remark(self, i: int, at: float) -> None:
        self.remarks += 1
        self.in_dead_hours += self.members.dead(i, at)
        self._pending[i].append(at)
        self._pending_any[i].append(at)

    def heard(self, i: int, at: float, *, member_answer: bool) -> None:
        """A human message in the autonomous channel at `at` (`member_answer`: the model's)."""
        for pending, counts_as in ((self._pending_any[i], True), (self._pending[i], member_answer)):
            if not pending or not counts_as:
                continue
            kept = [r for r in pending if at - r > WINDOW_S or at < r]
            n = len(pending) - len(kept)
            if pending is self._pending[i]:
                self.answered += n
            else:
                self.answered_any += n
            pending[:] = [r for r in kept if at - r <= WINDOW_S]

    def figures(self, guild_days: float) -> dict[str, object]:
        def share(n: int) -> float:
            return round(n / self.remarks, 4) if self.remarks else 0.0

        per_day = (lambda n: round(n / guild_days, 4)) if guild_days else (lambda n: 0.0)
        return {
            "remarks": self.remarks,
            "remarks_per_guild_day": per_day(self.remarks),
            "answered": self.answered,
            "answered_share": share(self.answered),
            "answered_per_guild_day": per_day(self.answered),
            "followed_by_talk": self.answered_any,
            "followed_by_talk_share": share(self.answered_any),
            "in_dead_hours": self.in_dead_hours,
            "told_to_be_quiet": self.hushes,
        }


def ratio(a: float, b: float) -> float | None:
    """a / b for the report (None when b is 0)."""
    return None if not b else round(a / b, 4)
