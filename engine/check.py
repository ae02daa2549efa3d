"""One check of one guild at one moment: the signals the rules read, the dice, the notes, the gates.

What belongs here: `Check`, the context every rule of the table (`engine.rules`) is given: the
guild's signals, computed once and only when a rule asks; `roll` for the dice (the injected `rng`,
never the global one); `no` to note why a rule did not fire; and the gates that stop every rule
(start-up, minimum interval, asleep, paused, quiet hours). What does not: any one rule's condition
(`engine.rules`), the order rules run in (`engine.table`), storing events, clocks, I/O.
"""

from __future__ import annotations

import math
import random
import string
from datetime import datetime

from . import learning
from .config import LearningConfig, RuleConfig
from .moods import ASLEEP, MoodProfile
from .state import NEVER, WINDOW_MINUTES, GuildState


def ago(seconds: float) -> str:
    """A span of seconds for a person: "1h06m", "4m10s", "42s", "∞"."""
    if math.isinf(seconds):
        return "∞"
    minutes = int(seconds // 60)
    if minutes >= 60:
        return f"{minutes // 60}h{minutes % 60:02d}m"
    return f"{minutes}m{int(seconds % 60):02d}s" if minutes else f"{seconds:.0f}s"


def last(seconds: float) -> str:
    """The words 'last action 4m10s ago', or 'no earlier action' when there was none (∞)."""
    return "no earlier action" if math.isinf(seconds) else f"last action {ago(seconds)} ago"


class _NoteFormatter(string.Formatter):
    """str.format, plus `{:ago}` for a span of seconds ("1h06m", "4m10s", "∞")."""

    def format_field(self, value: object, format_spec: str) -> str:
        if format_spec == "ago":
            return ago(value)  # type: ignore[arg-type]
        return super().format_field(value, format_spec)


_notes = _NoteFormatter()


class Check:
    """One evaluation of a guild's rules at time `at` (seconds since the epoch).

    What a rule may read: `st` (the `GuildState`), `profile` (the mood's traits), `cfg` (the
    `RuleConfig`), `learn` (the `LearningConfig`), `at`, `started_at`, `by_message` (a new
    counted message asked for the check), and the signals below, each computed once, on demand
    (`chattiness` and `rhythm` are what the guild taught the engine). What it may do: `roll`
    the dice and note why it did not fire with `no`. `short` is set by the rule table to the
    short name of the rule being run and prefixes its notes ("join: momentum 0.20 ≤ 0.63");
    with `explain` False (the hot path) notes are not even formatted.
    """

    __slots__ = (
        "_chattiness",
        "_hour",
        "_msgs5",
        "_rhythm",
        "at",
        "by_message",
        "cfg",
        "explain",
        "learn",
        "mood",
        "notes",
        "profile",
        "rng",
        "short",
        "st",
        "started_at",
    )

    def __init__(
        self,
        st: GuildState,
        profile: MoodProfile,
        cfg: RuleConfig,
        at: float,
        started_at: float,
        by_message: bool,
        rng: random.Random,
        explain: bool = True,
        learn: LearningConfig | None = None,
    ) -> None:
        self.st, self.profile, self.cfg, self.at = st, profile, cfg, at
        self.started_at, self.by_message, self.rng = started_at, by_message, rng
        self.mood = st.mood
        self.explain = explain  # False on the hot path: say nothing about rules that did not fire
        self.notes: list[str] = []  # why each rule did not fire, for the reason and debug log
        self.short = ""
        self._msgs5 = -1
        self._hour = -1
        self.learn = learn if learn is not None else _DEFAULT_LEARNING
        self._chattiness = -1.0
        self._rhythm = -1.0

    # signals ------------------------------------------------------------------------------
    @property
    def messages_5min(self) -> int:
        """Counted messages in the last 5 minute-buckets (the current minute included)."""
        if self._msgs5 < 0:
            self._msgs5 = self.st.messages_in(5, self.at)
        return self._msgs5

    @property
    def messages_hour(self) -> int:
        """Counted messages in the last 60 minute-buckets (the current minute included)."""
        if self._hour < 0:
            self._hour = self.st.messages_in(WINDOW_MINUTES, self.at)
        return self._hour

    @property
    def momentum(self) -> float:
        """min(1, messages in the last 5 min / `momentum_messages`) (DESIGN §3: / 20)."""
        return min(1.0, self.messages_5min / self.cfg.momentum_messages)

    @property
    def chattiness(self) -> float:
        """The guild's chattiness now: the admins' setting, else learned from feedback."""
        if self._chattiness < 0.0:
            self._chattiness = learning.chattiness(self.st, self.at, self.learn)
        return self._chattiness

    @property
    def rhythm(self) -> float:
        """How much likelier than usual people are around at this hour of this weekday in the
        guild's zone (`learning.rhythm_weight`; 1.0 while nothing is learned)."""
        if self._rhythm < 0.0:
            st, learn = self.st, self.learn
            if st.rhythm is None or learn.rhythm_strength <= 0.0:
                self._rhythm = 1.0
            else:
                self._rhythm = learning.rhythm_weight(st, learning.local_slot(self.at, st), learn)
        return self._rhythm

    @property
    def eagerness(self) -> float:
        """What a time-based rule (break_silence, share_tweet, engage_user) weighs its chance
        by: chattiness × rhythm."""
        return self.chattiness * self.rhythm

    def until_reweighed(self, when: float) -> float:
        """`when`, or sooner if the weight of a time-based rule may change before it: the
        rhythm's hour ends (the next hour's weight differs), or a learned chattiness drifts
        back to 1. A rule's `wake` bounds its time with this, so the guild looks again then."""
        st = self.st
        moving = st.chattiness != 1.0 and st.settings.chattiness is None
        if (st.rhythm is None or self.learn.rhythm_strength <= 0.0) and not moving:
            return when
        return min(when, (int(self.at) // 3600 + 1) * 3600.0)

    @property
    def since_action(self) -> float:
        """Seconds since the bot's last action (∞ when it never acted)."""
        return self.at - self.st.last_action_at

    def quiet_since(self) -> float:
        """Start of the current quiet spell; up to the triggering message when there is one."""
        st = self.st
        last_human = st.prev_human_at if self.by_message else st.last_human_at
        return max(last_human, st.last_action_at, self.started_at)

    def signals(self) -> dict[str, float]:
        """The signal values a `Decision` carries (counts, seconds, 0/1 for online, the traits)."""
        st = self.st
        return {
            "momentum": round(self.momentum, 4),
            "messages_5min": self.messages_5min,
            "messages_hour": self.messages_hour,
            "messages_since_appearance": st.messages_since_appearance,
            "since_last_action_s": round(self.since_action, 3),
            "quiet_s": round(self.at - self.quiet_since(), 3),
            "online": float(st.someone_present(self.at, self.cfg.online_ttl_s)),
            "energy": self.profile.energy,
            "sociability": self.profile.sociability,
            "impulsiveness": self.profile.impulsiveness,
            "curiosity": self.profile.curiosity,
            "chattiness": round(self.chattiness, 3),
            "rhythm": round(self.rhythm, 3),
        }

    # dice and notes -----------------------------------------------------------------------
    def roll(self, chance: float) -> tuple[bool, float]:
        """One draw of the injected rng: (draw < chance, draw)."""
        value = self.rng.random()
        return value < chance, value

    def no(self, note: str, *values: object) -> None:
        """Note why the current rule did not fire (`str.format` plus `{:ago}`), prefixed by its
        short name; formatted only when the decision is explained. Returns None, so a rule can
        `return chk.no(...)`."""
        if self.explain:
            self.notes.append(f"{self.short}: {_notes.format(note, *values)}")

    # gates --------------------------------------------------------------------------------
    def gate(self, zone_minute: int | None) -> str | None:
        """Why no rule may fire now, or None. `zone_minute` is the minute of the guild's day."""
        st, cfg, at = self.st, self.cfg, self.at
        if st.settings.paused:
            return "paused by the guild's admins"
        if st.left_at != NEVER:
            return "the bot is no longer in this guild"
        if self.mood == ASLEEP:
            return "asleep: the asleep mood never acts"
        if at - self.started_at < cfg.startup_s:
            return f"starting up: {at - self.started_at:.0f}s since start < {cfg.startup_s:.0f}s"
        if self.since_action < cfg.min_interval_s:
            return (
                f"spoke {self.since_action:.0f}s ago, "
                f"< the {cfg.min_interval_s:.0f}s minimum between actions"
            )
        quiet = st.settings.quiet_hours
        if quiet is not None and zone_minute is not None and quiet.contains(zone_minute):
            return f"quiet hours {quiet.start}–{quiet.end} in {st.settings.timezone}"
        return None


_DEFAULT_LEARNING = LearningConfig()


def zone_minute(at: float, st: GuildState) -> int | None:
    """Minute of the day in the guild's time zone, when the guild has quiet hours."""
    if st.settings.quiet_hours is None:
        return None
    local = datetime.fromtimestamp(at, st.settings.zone())
    return local.hour * 60 + local.minute


def local_time(at: float, st: GuildState) -> tuple[int, int]:
    """(hour of day, weekday with Monday 0) in the guild's time zone."""
    local = datetime.fromtimestamp(at, st.settings.zone())
    return local.hour, local.weekday()
