"""Every number the rules use, and each guild's own settings, as validated configuration.

The defaults are DESIGN §3's. A value out of range raises `ValueError` naming the field, so a bad
configuration file fails at start with one line, never in the middle of a decision.
"""

from __future__ import annotations

import math
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec


def _check(owner: str, field: str, value: object, lo: float, hi: float = math.inf) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not (ok and math.isfinite(value) and lo <= value <= hi):  # type: ignore[arg-type]
        bound = f"[{lo}, {hi}]" if math.isfinite(hi) else f">= {lo}"
        raise ValueError(f"{owner}.{field} must be a number {bound}, got {value!r}")


class RuleConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Thresholds of the gates and the five rules (seconds, counts, fractions)."""

    # gates
    startup_s: float = 120.0
    min_interval_s: float = 30.0
    # signals
    momentum_messages: int = 20  # messages in 5 min that make momentum 1.0
    recheck_s: float = 120.0  # when only a dice roll said no, roll again after this long
    online_ttl_s: float = 6 * 3600.0  # a member seen online counts as present this long
    max_unanswered: int = 2  # remarks into a silent room in a row (break_silence, share_tweet)
    # join_conversation
    join_momentum_factor: float = 0.6  # momentum > factor × (2 − sociability)
    join_min_messages: int = 5
    join_cooldown_s: float = 300.0
    # engage_user
    engage_activity_window_s: float = 600.0
    engage_cooldown_s: float = 1800.0
    engage_max_momentum: float = 0.5  # not into a busy conversation: that would interrupt it
    # fomo_response
    fomo_messages: int = 25
    fomo_sociability_pivot: float = 0.5  # below it the threshold grows …
    fomo_sociability_scale: float = 2.0  # … by messages × scale × (pivot − sociability)
    fomo_min_momentum: float = 0.25  # "the conversation is active"
    fomo_cooldown_s: float = 900.0
    # break_silence
    silence_max_messages_hour: int = 5
    silence_base_s: float = 3600.0  # quiet for longer than base × (2 − energy)
    # share_tweet
    share_max_messages_hour: int = 10
    share_cooldown_s: float = 3600.0
    share_min_curiosity: float = 0.7

    def __post_init__(self) -> None:
        unit = {
            "join_momentum_factor",
            "fomo_sociability_pivot",
            "fomo_min_momentum",
            "engage_max_momentum",
        }
        for field in self.__struct_fields__:
            value = getattr(self, field)
            if field in unit or field == "share_min_curiosity":
                _check("rules", field, value, 0.0, 1.0)
            elif field in ("momentum_messages", "max_unanswered"):
                _check("rules", field, value, 1)
            else:
                _check("rules", field, value, 0.0)

    def fomo_threshold(self, sociability: float) -> float:
        """Messages without the bot before FOMO: 25, scaled up for low sociability (shy: 40)."""
        shortfall = max(0.0, self.fomo_sociability_pivot - sociability)
        # rounded so that 25 × 1.6 is 40 messages, not 40.000000000000014
        return round(self.fomo_messages * (1.0 + self.fomo_sociability_scale * shortfall), 6)

    def quiet_period_s(self, energy: float) -> float:
        """How long a chat must be quiet before breaking the silence: base × (2 − energy)."""
        return self.silence_base_s * (2.0 - energy)


class LearningConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """What the engine learns per guild from counters alone: its week's rhythm, a chattiness
    that follows feedback, and members' affinity (issue 16). Seconds, counts and factors.

    Rhythm: an hour-of-week profile of human messages in the guild's time zone (168 slots,
    halved every `rhythm_half_life_days`). The time-based rules (break_silence, share_tweet,
    engage_user) weigh their chance by `rhythm_weight(slot)`: the slot's activity relative to the
    guild's mean hour (the hour-of-day profile mixed in by `rhythm_day_prior`, so a guild seen
    for a day has a plausible week), bounded to [`rhythm_min_weight`, `rhythm_max_weight`],
    trusted in proportion to the messages seen up to `rhythm_min_messages` (a new guild is
    neutral) and scaled by `rhythm_strength` (0: off).

    Chattiness: a per-guild factor in [`chattiness_min`, `chattiness_max`] on how readily the bot
    speaks on its own. A remark of its own answered within `feedback_window_s` by a human
    message that addresses the bot (a mention, a reply to it, its name) multiplies it by
    `answered_step`; one left unanswered by `ignored_step`; `/guildmind pause`
    by `paused_step`; a member telling it to be quiet (one of `quiet_phrases`, in a message
    that addresses the bot; the hosts match them, the engine never sees text) by `hushed_step`.
    It returns to 1 with a half-life of `chattiness_half_life_s`. `feedback` off: it stays 1.

    Affinity: per member who answered the bot (one of the first `affinity_per_remark` members
    to address it within `feedback_window_s` of a remark), how often (capped) and when last; at most
    `affinity_max_members` per guild (the least recently answering go first), each forgotten
    `affinity_ttl_s` after their last answer. engage_user's chance is multiplied by
    1 + `affinity_weight` × min(1, answers / `affinity_regular`).
    """

    rhythm_strength: float = 1.0
    rhythm_half_life_days: float = 14.0
    rhythm_min_messages: float = 300.0
    rhythm_day_prior: float = 1.0
    rhythm_min_weight: float = 0.1
    rhythm_max_weight: float = 2.0
    feedback: bool = True
    chattiness_min: float = 0.5
    chattiness_max: float = 2.0
    chattiness_half_life_s: float = 3 * 86400.0
    feedback_window_s: float = 600.0
    answered_step: float = 1.1
    ignored_step: float = 0.93
    paused_step: float = 0.7
    hushed_step: float = 0.6
    quiet_phrases: tuple[str, ...] = (
        "be quiet",
        "shut up",
        "stop talking",
        "talk less",
        "too chatty",
        "hush",
        "stfu",
    )
    affinity_max_members: int = 300
    affinity_per_remark: int = 3
    affinity_ttl_s: float = 30 * 86400.0
    affinity_regular: int = 5
    affinity_weight: float = 1.0

    def __post_init__(self) -> None:
        _check("learning", "rhythm_strength", self.rhythm_strength, 0.0, 1.0)
        _check("learning", "rhythm_half_life_days", self.rhythm_half_life_days, 0.5, 3650.0)
        _check("learning", "rhythm_min_messages", self.rhythm_min_messages, 1.0)
        _check("learning", "rhythm_day_prior", self.rhythm_day_prior, 0.0, 100.0)
        _check("learning", "rhythm_min_weight", self.rhythm_min_weight, 0.0, 1.0)
        _check("learning", "rhythm_max_weight", self.rhythm_max_weight, 1.0, 10.0)
        _check("learning", "chattiness_min", self.chattiness_min, 0.05, 1.0)
        _check("learning", "chattiness_max", self.chattiness_max, 1.0, 10.0)
        _check("learning", "chattiness_half_life_s", self.chattiness_half_life_s, 60.0)
        _check("learning", "feedback_window_s", self.feedback_window_s, 1.0, 86400.0)
        _check("learning", "answered_step", self.answered_step, 1.0, 10.0)
        for field in ("ignored_step", "paused_step", "hushed_step"):
            _check("learning", field, getattr(self, field), 0.01, 1.0)
        if not isinstance(self.feedback, bool):
            raise ValueError(f"learning.feedback must be true or false, got {self.feedback!r}")
        for phrase in self.quiet_phrases:
            if not (isinstance(phrase, str) and phrase.strip()):
                raise ValueError(
                    f"learning.quiet_phrases must be non-empty strings, got {phrase!r}"
                )
        _check("learning", "affinity_max_members", self.affinity_max_members, 0, 100_000)
        if not isinstance(self.affinity_max_members, int):
            raise ValueError(
                "learning.affinity_max_members must be a whole number, "
                f"got {self.affinity_max_members!r}"
            )
        _check("learning", "affinity_per_remark", self.affinity_per_remark, 1, 1000)
        _check("learning", "affinity_ttl_s", self.affinity_ttl_s, 60.0)
        _check("learning", "affinity_regular", self.affinity_regular, 1)
        _check("learning", "affinity_weight", self.affinity_weight, 0.0, 10.0)

    def quiet_words(self, text: str) -> bool:
        """Whether `text` (a message addressing the bot) tells it to be quiet: one of
        `quiet_phrases`, case-insensitive, as whole words."""
        low = " " + " ".join(text.lower().split()) + " "
        for ch in ",.!?;:…":
            low = low.replace(ch, " ")
        return any(f" {p.lower()} " in low for p in self.quiet_phrases)


FIXED = LearningConfig(rhythm_strength=0.0, feedback=False, affinity_weight=0.0)
"""Nothing learned: the engine as it was before issue 16 (the simulation's "fixed v2")."""


CHATTINESS_RANGE = (0.25, 2.0)
"""What admins may set a guild's chattiness to (`/guildmind chattiness`)."""


def _minutes(owner: str, text: str) -> int:
    try:
        hours, minutes = text.split(":")
        h, m = int(hours), int(minutes)
    except ValueError:
        raise ValueError(f"{owner} must be 'HH:MM', got {text!r}") from None
    if not (0 <= h <= 23 and 0 <= m <= 59):
        raise ValueError(f"{owner} must be a time between 00:00 and 23:59, got {text!r}")
    return h * 60 + m


class QuietHours(msgspec.Struct, frozen=True, gc=False, forbid_unknown_fields=True):
    """Hours in the guild's time zone when the bot never speaks on its own ('23:00'–'07:00')."""

    start: str
    end: str

    def __post_init__(self) -> None:
        if _minutes("quiet_hours.start", self.start) == _minutes("quiet_hours.end", self.end):
            raise ValueError(f"quiet_hours start and end are both {self.start!r}; drop the entry")

    def contains(self, minute_of_day: int) -> bool:
        start, end = _minutes("start", self.start), _minutes("end", self.end)
        if start < end:
            return start <= minute_of_day < end
        return minute_of_day >= start or minute_of_day < end  # across midnight

    def minutes_left(self, minute_of_day: int) -> int:
        """Minutes until the quiet hours end, from a minute inside them."""
        return (_minutes("end", self.end) - minute_of_day) % 1440


MAX_PROMPT_LINES = 12
"""The most transcript lines an LLM prompt may carry (the hosts keep no more per guild)."""


class GuildSettings(
    msgspec.Struct, frozen=True, gc=False, forbid_unknown_fields=True, kw_only=True
):
    """What a guild's admins may change: where the bot speaks, its time zone, quiet hours, pause,
    and what the LLM may see of the guild (the engine decides without these last four: they are
    kept here so that they persist with the guild's other settings).
    """

    channels: frozenset[int] = frozenset()  # autonomous channels; empty: see default_channel
    # where the bot lives when no channel is configured (the gateway tells: the guild's system
    # channel, else the first it may write in); 0 with no channels: every channel counts
    default_channel: int = 0
    timezone: str = "UTC"
    quiet_hours: QuietHours | None = None
    paused: bool = False
    # What goes into an LLM prompt: the recent transcript (at most `prompt_lines` lines, none
    # older than `prompt_max_age_s`), or with `prompt_transcript` off only the decision's reason
    # and signals; authors as "user 1", "user 2" unless `prompt_names`.
    prompt_transcript: bool = True
    prompt_lines: int = MAX_PROMPT_LINES
    prompt_max_age_s: float = 1800.0
    prompt_names: bool = False
    # set by the admins (`/guildmind chattiness`), within CHATTINESS_RANGE; None: learned
    chattiness: float | None = None

    def __post_init__(self) -> None:
        if self.chattiness is not None:
            lo, hi = CHATTINESS_RANGE
            _check("settings", "chattiness", self.chattiness, lo, hi)
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"timezone {self.timezone!r} is not a known IANA time zone (like 'Europe/Paris')"
            ) from None
        lines = self.prompt_lines
        whole = isinstance(lines, int) and not isinstance(lines, bool)
        if not (whole and 1 <= lines <= MAX_PROMPT_LINES):
            raise ValueError(
                f"prompt_lines must be a whole number of lines from 1 to {MAX_PROMPT_LINES}, "
                f"got {lines!r}"
            )
        _check("settings", "prompt_max_age_s", self.prompt_max_age_s, 60.0, 7 * 86400.0)

    def counted(self) -> frozenset[int]:
        """The channels whose messages count (empty: all of them)."""
        if self.channels or not self.default_channel:
            return self.channels
        return frozenset((self.default_channel,))

    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)  # ZoneInfo caches instances by key


DEFAULT_SETTINGS = GuildSettings()
