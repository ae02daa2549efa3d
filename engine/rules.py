"""The gates and the five rules: plain arithmetic over one guild's signals.

What belongs here: given a guild's state, its mood profile, the rule thresholds, a time and an RNG,
say which action fires (the first rule, in `engine.decision.ACTIONS` order) and why, or why none
did; and when, without new events, a rule could next fire. What does not: storing events, clocks,
logging, I/O. Randomness is only ever the injected `rng`.
"""

from __future__ import annotations

import math
import random
import string
from datetime import datetime

from .config import RuleConfig
from .moods import ASLEEP, MoodProfile
from .state import WINDOW_MINUTES, GuildState


def _ago(seconds: float) -> str:
    if math.isinf(seconds):
        return "∞"
    minutes = int(seconds // 60)
    if minutes >= 60:
        return f"{minutes // 60}h{minutes % 60:02d}m"
    return f"{minutes}m{int(seconds % 60):02d}s" if minutes else f"{seconds:.0f}s"


def _last(seconds: float) -> str:
    return "no earlier action" if math.isinf(seconds) else f"last action {_ago(seconds)} ago"


class _NoteFormatter(string.Formatter):
    """str.format, plus `{:ago}` for a span of seconds ("1h06m", "4m10s", "∞")."""

    def format_field(self, value: object, format_spec: str) -> str:
        if format_spec == "ago":
            return _ago(value)  # type: ignore[arg-type]
        return super().format_field(value, format_spec)


_notes = _NoteFormatter()


class Check:
    """One evaluation of a guild's rules at time `at`; signals are computed once, on demand."""

    __slots__ = (
        "_hour",
        "_msgs5",
        "at",
        "by_message",
        "cfg",
        "explain",
        "mood",
        "notes",
        "profile",
        "rng",
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
    ) -> None:
        self.st, self.profile, self.cfg, self.at = st, profile, cfg, at
        self.started_at, self.by_message, self.rng = started_at, by_message, rng
        self.mood = st.mood
        self.explain = explain  # False on the hot path: say nothing about rules that did not fire
        self.notes: list[str] = []  # why each rule did not fire, for the reason and debug log
        self._msgs5 = -1
        self._hour = -1

    # signals ------------------------------------------------------------------------------
    @property
    def messages_5min(self) -> int:
        if self._msgs5 < 0:
            self._msgs5 = self.st.messages_in(5, self.at)
        return self._msgs5

    @property
    def messages_hour(self) -> int:
        if self._hour < 0:
            self._hour = self.st.messages_in(WINDOW_MINUTES, self.at)
        return self._hour

    @property
    def momentum(self) -> float:
        return min(1.0, self.messages_5min / self.cfg.momentum_messages)

    @property
    def since_action(self) -> float:
        return self.at - self.st.last_action_at

    def quiet_since(self) -> float:
        """Start of the current quiet spell; up to the triggering message when there is one."""
        st = self.st
        last_human = st.prev_human_at if self.by_message else st.last_human_at
        return max(last_human, st.last_action_at, self.started_at)

    def signals(self) -> dict[str, float]:
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
        }

    def roll(self, chance: float) -> tuple[bool, float]:
        value = self.rng.random()
        return value < chance, value

    def no(self, note: str, *values: object) -> None:
        """Note why a rule did not fire; formatted only when the decision is explained."""
        if self.explain:
            self.notes.append(_notes.format(note, *values))

    # gates --------------------------------------------------------------------------------
    def gate(self, zone_minute: int | None) -> str | None:
        """Why no rule may fire now, or None. `zone_minute` is the minute of the guild's day."""
        st, cfg, at = self.st, self.cfg, self.at
        if st.settings.paused:
            return "paused by the guild's admins"
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

    # rules: each returns a reason when it fires, else notes why not and returns None --------
    def join_conversation(self) -> str | None:
        cfg, p, st = self.cfg, self.profile, self.st
        need = cfg.join_momentum_factor * (2.0 - p.sociability)
        if self.momentum <= need:
            return self.no("join: momentum {:.2f} ≤ {:.2f}", self.momentum, need)
        if st.messages_since_appearance < cfg.join_min_messages:
            return self.no(
                "join: {} messages since the bot spoke < {}",
                st.messages_since_appearance,
                cfg.join_min_messages,
            )
        if self.since_action <= cfg.join_cooldown_s:
            return self.no("join: last action {:ago} ago", self.since_action)
        ok, value = self.roll(p.impulsiveness)
        if not ok:
            return self.no("join: roll {:.2f} ≥ impulsiveness {:.2f}", value, p.impulsiveness)
        return (
            f"conversation has momentum {self.momentum:.2f} > {need:.2f} with "
            f"{st.messages_since_appearance} messages since the bot spoke "
            f"(roll {value:.2f} < impulsiveness {p.impulsiveness:.2f})"
        )

    def engage_user(self) -> str | None:
        cfg, p, st = self.cfg, self.profile, self.st
        if st.activity_name is None or st.activity_engaged:
            return self.no("engage: no new activity to engage")
        age = self.at - st.activity_at
        if age > cfg.engage_activity_window_s:
            return self.no("engage: activity started {:ago} ago", age)
        if self.since_action <= cfg.engage_cooldown_s:
            return self.no("engage: last action {:ago} ago", self.since_action)
        if self.momentum >= cfg.engage_max_momentum:
            return self.no("engage: the chat is busy (momentum {:.2f})", self.momentum)
        ok, value = self.roll(p.sociability)
        if not ok:
            return self.no("engage: roll {:.2f} ≥ sociability {:.2f}", value, p.sociability)
        return (
            f"a member started {st.activity_name!r} {_ago(age)} ago, {_last(self.since_action)} "
            f"(roll {value:.2f} < sociability {p.sociability:.2f})"
        )

    def fomo_response(self) -> str | None:
        cfg, st = self.cfg, self.st
        need = cfg.fomo_threshold(self.profile.sociability)
        if st.messages_since_appearance < need:
            return self.no("fomo: {} messages < {:g}", st.messages_since_appearance, need)
        if self.momentum < cfg.fomo_min_momentum:
            return self.no("fomo: momentum {:.2f} < {:.2f}", self.momentum, cfg.fomo_min_momentum)
        if self.since_action <= cfg.fomo_cooldown_s:
            return self.no("fomo: last action {:ago} ago", self.since_action)
        return (
            f"{st.messages_since_appearance} messages without the bot (≥ {need:g}) in an "
            f"active conversation (momentum {self.momentum:.2f})"
        )

    def break_silence(self) -> str | None:
        cfg, p = self.cfg, self.profile
        if self.messages_hour >= cfg.silence_max_messages_hour:
            return self.no("silence: {} messages in the last hour", self.messages_hour)
        quiet = self.at - self.quiet_since()
        need = cfg.quiet_period_s(p.energy)
        if quiet <= need:
            return self.no("silence: quiet for {:ago} ≤ {:ago}", quiet, need)
        if self.st.unanswered >= cfg.max_unanswered:
            return self.no("silence: {} remarks in a row went unanswered", self.st.unanswered)
        if not self.st.someone_present(self.at, cfg.online_ttl_s):
            return self.no("silence: nobody is online")
        ok, value = self.roll(p.energy)
        if not ok:
            return self.no("silence: roll {:.2f} ≥ energy {:.2f}", value, p.energy)
        return (
            f"quiet for {_ago(quiet)} (> {_ago(need)}) with {self.messages_hour} messages in "
            f"the last hour and someone online (roll {value:.2f} < energy {p.energy:.2f})"
        )

    def share_tweet(self) -> str | None:
        cfg, p = self.cfg, self.profile
        if p.curiosity < cfg.share_min_curiosity:
            return self.no("share: curiosity {:.2f} < {:.2f}", p.curiosity, cfg.share_min_curiosity)
        if self.messages_hour >= cfg.share_max_messages_hour:
            return self.no("share: {} messages in the last hour", self.messages_hour)
        since = self.at - max(self.st.last_action_at, self.started_at)
        if since <= cfg.share_cooldown_s:
            return self.no("share: last action or start {:ago} ago", since)
        if self.st.unanswered >= cfg.max_unanswered:
            return self.no("share: {} remarks in a row went unanswered", self.st.unanswered)
        if not self.st.someone_present(self.at, cfg.online_ttl_s):
            return self.no("share: nobody is online to read it")
        return (
            f"a quiet hour ({self.messages_hour} messages) and curiosity "
            f"{p.curiosity:.2f}: sharing a post, {_last(since)}"
        )

    # when could anything next fire ---------------------------------------------------------
    def next_wake(self, ready: float) -> float | None:
        """The earliest time after `at` a time-based rule could fire with no new events.

        `ready` is when the gates open (startup, minimum interval). Rolls that failed retry
        after `recheck_s`. Quiet hours and mood changes are applied by the caller.
        """
        st, cfg, p, at = self.st, self.cfg, self.profile, self.at
        if st.settings.paused or self.mood == ASLEEP:
            return None
        last = st.last_action_at
        times: list[float] = []
        # conversation rules: only their cooldowns can open with time (momentum only decays)
        need = cfg.join_momentum_factor * (2.0 - p.sociability)
        if self.momentum > need and st.messages_since_appearance >= cfg.join_min_messages:
            times.append(last + cfg.join_cooldown_s)
        if (
            st.messages_since_appearance >= cfg.fomo_threshold(p.sociability)
            and self.momentum >= cfg.fomo_min_momentum
        ):
            times.append(last + cfg.fomo_cooldown_s)
        if st.activity_name is not None and not st.activity_engaged:
            when = last + cfg.engage_cooldown_s
            if when <= st.activity_at + cfg.engage_activity_window_s:
                times.append(when)
        present_until = st.presence_expires_at(cfg.online_ttl_s)
        if present_until > at and st.unanswered < cfg.max_unanswered:
            # remarks into the room need someone there: only they expire with the presence
            quiet_end = max(st.last_human_at, last, self.started_at) + cfg.quiet_period_s(p.energy)
            few = st.hour_count_below_at(cfg.silence_max_messages_hour, at)
            remarks = [max(quiet_end, few)]
            if p.curiosity >= cfg.share_min_curiosity:
                share_at = max(last, self.started_at) + cfg.share_cooldown_s
                few = st.hour_count_below_at(cfg.share_max_messages_hour, at)
                remarks.append(max(share_at, few))
            times += [t for t in remarks if t < present_until]
        if not times:
            return None
        # A time already past means the rule's timed conditions hold and something else (a
        # roll, a gate) said no: look again after `recheck_s`. Otherwise wake just past the
        # edge, since the rules compare with strict inequalities.
        when = min(t + 1e-3 if t > at else at + cfg.recheck_s for t in times)
        return max(when, ready)


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
