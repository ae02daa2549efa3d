"""`AutonomousEngine`: per-guild signals in, decisions out.

The facade the guild actors run, also usable on its own in one process. It owns a dict of
`GuildState`s and nothing else: no clock (time is `at=`, or an injected `clock`), no global
randomness (an injected `random.Random`), no I/O. Every method validates its input and raises
`ValueError` naming the field; rejected input leaves the state untouched.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta

from . import learning
from .check import Check, local_time, zone_minute
from .config import GuildSettings, LearningConfig, RuleConfig
from .decision import Decision
from .events import Event, MemberJoinEvent, MessageEvent, PresenceEvent, valid_id
from .moods import ASLEEP, MoodBook
from .rules import RULES
from .state import NEVER, GuildState, restore, snapshot
from .table import Rule, RuleTable

log = logging.getLogger(__name__)

_INF = math.inf


def _counts_in(settings: GuildSettings, channel_id: int | None) -> bool:
    """Whether a message in `channel_id` counts: the autonomous channels only, when set."""
    if settings.channels:
        return channel_id in settings.channels
    return not settings.default_channel or channel_id == settings.default_channel


class AutonomousEngine:
    """Decides, per guild, whether the bot should speak now, from signals and mood.

    Parameters
    ----------
    rng:
        The only source of randomness (the dice rolls of the rules). Seed it for reproducible runs.
    started_at:
        When the bot started (seconds since the epoch); nothing fires in the first `startup_s`.
        Defaults to `clock()`.
    clock:
        Optional `() -> float`, used when a method is called without `at=`.
    rules, moods:
        Thresholds and mood profiles; the defaults are DESIGN §3's and `engine/moods.toml`.
    learning:
        What is learned per guild (rhythm, chattiness, affinity) and how much it weighs
        (`LearningConfig`; `engine.FIXED` learns nothing, the engine before issue 16).
    default_mood, default_settings:
        What a guild starts with when first seen.
    table:
        The decision rules, in the order they are checked: `engine.RULES` (DESIGN §3's five) by
        default. Pass another tuple of `engine.Rule`s to add, drop or reorder rules, e.g.
        `table=(*RULES, my_rule)`: the order, the explanations, the may-answer short-cut of
        `check()`, `next_wake()` and `record_action()` all follow the table (see `engine.Rule`
        for what an entry must promise). Kept as `self.table`, a `RuleTable`.

    Raises
    ------
    ValueError
        When neither `started_at` nor `clock` is given, a default is invalid, or the table is
        (an entry is not a `Rule`, two rules have the same name).
    """

    def __init__(
        self,
        *,
        rng: random.Random | None = None,
        started_at: float | None = None,
        clock: Callable[[], float] | None = None,
        rules: RuleConfig | None = None,
        moods: MoodBook | None = None,
        learning: LearningConfig | None = None,
        default_mood: str = "neutral",
        default_settings: GuildSettings | None = None,
        table: Iterable[Rule] = RULES,
    ) -> None:
        self.table = RuleTable(table)
        self.rng = rng if rng is not None else random.Random()
        self.clock = clock
        self.rules = rules or RuleConfig()
        self.learning = learning or LearningConfig()
        self.moods = moods or MoodBook()
        self.default_mood = self.moods.check(default_mood)
        self.default_settings = default_settings or GuildSettings()
        if started_at is None and clock is None:
            raise ValueError("started_at is required when the engine has no clock")
        self.started_at = self._time(started_at, "started_at")
        self._guilds: dict[int, GuildState] = {}

    # guilds -------------------------------------------------------------------------------
    def __contains__(self, guild_id: object) -> bool:
        return guild_id in self._guilds

    def __len__(self) -> int:
        return len(self._guilds)

    def guild_ids(self) -> Iterator[int]:
        return iter(self._guilds)

    def state(self, guild_id: int) -> GuildState | None:
        """The live state of a guild (read it, don't keep it), or None when unknown."""
        return self._guilds.get(guild_id)

    def _guild(self, guild_id: int) -> GuildState:
        st = self._guilds.get(guild_id)
        if st is None:
            if not valid_id(guild_id):  # a guild the stores could never save
                raise ValueError(
                    f"guild_id must be a snowflake, an int with 0 < id < 2**63, got {guild_id!r}"
                )
            st = self._guilds[guild_id] = GuildState(
                mood=self.default_mood, settings=self.default_settings
            )
        return st

    def forget(self, guild_id: int) -> None:
        """Drop a guild's state (it moved to another host, or left)."""
        self._guilds.pop(guild_id, None)

    # personal data ------------------------------------------------------------------------
    def personal_until(self, guild_id: int) -> float | None:
        """When the next piece of personal data the guild holds (a member seen online, who
        started an activity) stops being needed by any rule; None when it holds none.

        The runtime wakes the guild then (beside `next_wake`) and calls `expire_personal`, so a
        guild that hears nothing more still forgets, in memory and in the store.
        """
        st = self._guilds.get(guild_id)
        if st is None:
            return None
        r = self.rules
        when = st.personal_until(
            r.online_ttl_s, r.engage_activity_window_s, self.learning.affinity_ttl_s
        )
        return None if when == NEVER else when

    def expire_personal(self, guild_id: int, at: float) -> bool:
        """Drop the guild's personal data no rule needs at `at`; True when something went."""
        st = self._guilds.get(guild_id)
        if st is None:
            return False
        r = self.rules
        return st.expire_personal(
            self._time(at), r.online_ttl_s, r.engage_activity_window_s, self.learning.affinity_ttl_s
        )

    def forget_user(self, guild_id: int, user_id: int) -> bool:
        """Erase what the guild holds about one member; True when it held something."""
        st = self._guilds.get(guild_id)
        return st is not None and st.forget_user(user_id)

    def leave(self, guild_id: int, *, at: float | None = None) -> None:
        """The bot was removed from the guild: no rule fires there, its members' data goes now;
        counters, mood and settings stay (for `rejoin`) until the runtime deletes the guild."""
        at = self._time(at)
        st = self._guilds.get(guild_id)
        if st is not None:
            st.left_at = at
            st.forget_people()

    def rejoin(self, guild_id: int) -> bool:
        """The bot is in the guild (again); True when it had left."""
        st = self._guilds.get(guild_id)
        if st is None or st.left_at == NEVER:
            return False
        st.left_at = NEVER
        return True

    def left_at(self, guild_id: int) -> float | None:
        """When the bot was removed from the guild; None while it is there (or unknown)."""
        st = self._guilds.get(guild_id)
        return None if st is None or st.left_at == NEVER else st.left_at

    def _time(self, at: float | None, field: str = "at") -> float:
        if at is None:
            if self.clock is None:
                raise ValueError(f"{field} is required: this engine has no clock")
            at = self.clock()
        if not (0.0 <= at < _INF):  # also rejects NaN
            raise ValueError(f"{field} must be seconds since the epoch (finite, ≥ 0), got {at!r}")
        return float(at)

    # events -------------------------------------------------------------------------------
    def track_message(
        self,
        guild_id: int,
        author_is_bot: bool = False,
        *,
        at: float | None = None,
        channel_id: int | None = None,
        author_id: int | None = None,
        mentions_bot: bool = False,
    ) -> bool:
        """Count a message; True when it counted (a human, in an autonomous channel).

        Bots' messages (the bot's own included) do not count: the bot's speech is recorded with
        `record_action`. Messages outside the guild's autonomous channels are ignored. One that
        addresses the bot (`mentions_bot`: a mention, a reply to it, its name) soon after a
        remark of its own answers that remark (`engine.learning`).
        """
        st, at = self._guild(guild_id), self._time(at)
        if author_is_bot or not _counts_in(st.settings, channel_id):
            return False
        if st.add_message(at, author_id, channel_id):
            self._new_hour(st, at)
        if mentions_bot and st.remark_at != NEVER:
            learning.heard(st, at, author_id, self.learning)
        return True

    def _new_hour(self, st: GuildState, at: float) -> None:
        """A message in a later hour than the rhythm profile's: roll the profile, count it."""
        learning.roll_rhythm(st, int(at) // 3600, self.learning)
        st.rhythm_n += 1

    def track_presence(
        self,
        guild_id: int,
        user_id: int,
        *,
        at: float | None = None,
        activity: str | None = None,
        online: bool = True,
    ) -> None:
        """A member's presence changed; `activity` is an activity (a game) they just started."""
        self._presence(self._guild(guild_id), user_id, self._time(at), activity, online)

    @staticmethod
    def _presence(
        st: GuildState, user_id: int, at: float, activity: str | None, online: bool
    ) -> None:
        if not online:
            st.see_absent(user_id)
            if st.activity_user == user_id:  # they left: nobody is there to engage
                st.activity_user = st.activity_name = None
            return
        st.see_present(user_id, at)
        if activity:
            st.activity_user, st.activity_name, st.activity_at = user_id, activity, at
            st.activity_engaged = False

    def track_member_join(self, guild_id: int, user_id: int, *, at: float | None = None) -> None:
        at = self._time(at)
        st = self._guild(guild_id)
        st.last_join_at = at
        st.joins += 1
        st.see_present(user_id, at)

    def apply(self, event: Event) -> bool:
        """Apply one inbound event; True when it was a counted message (a check is due)."""
        kind = type(event)
        if kind is MessageEvent:
            at = event.at
            if not (0.0 <= at < _INF):
                self._time(at)  # raises the usual error
            st = self._guilds.get(event.guild_id) or self._guild(event.guild_id)
            if event.author_is_bot:
                return False
            settings = st.settings  # (the hot path: `_count`, unrolled)
            if (settings.channels or settings.default_channel) and not _counts_in(
                settings, event.channel_id
            ):
                return False
            if st.add_message(at, event.author_id, event.channel_id):
                self._new_hour(st, at)  # once an hour per guild
            if event.mentions_bot and st.remark_at != NEVER:  # it answers the bot's remark
                learning.heard(st, at, event.author_id, self.learning)
            return True
        if kind is PresenceEvent:
            self._presence(
                self._guild(event.guild_id), event.user_id, self._time(event.at), event.activity,
                event.online,
            )  # fmt: skip
        elif kind is MemberJoinEvent:
            self.track_member_join(event.guild_id, event.user_id, at=event.at)
        else:
            raise ValueError(f"unknown event type {kind.__name__!r}")
        return False

    def update_mood(self, guild_id: int, mood: str, *, at: float | None = None) -> None:
        """Set a guild's mood; ValueError naming the known moods if `mood` is unknown."""
        self._time(at)
        self.moods.check(mood)
        self._guild(guild_id).mood = mood

    def configure(self, guild_id: int, settings: GuildSettings) -> None:
        """Replace a guild's settings (channels, time zone, quiet hours, pause)."""
        if not isinstance(settings, GuildSettings):
            raise ValueError(f"settings must be GuildSettings, got {type(settings).__name__}")
        st = self._guild(guild_id)
        if st.settings.timezone != settings.timezone:
            st.rhythm_hour = -1  # the next message finds its slot in the new zone
        st.settings = settings

    def feedback(self, guild_id: int, kind: str, *, at: float | None = None) -> None:
        """Feedback the runtime saw: "paused" (the admins paused the bot) or "hushed" (a member
        told it to be quiet); each lowers the guild's chattiness (`LearningConfig`). Answered
        and ignored remarks the engine sees for itself. ValueError for another kind."""
        at = self._time(at)
        if kind not in ("paused", "hushed"):
            raise ValueError(f"feedback kind must be 'paused' or 'hushed', got {kind!r}")
        learning.move(self._guild(guild_id), at, kind, self.learning)

    def learned(self, guild_id: int, *, at: float | None = None) -> dict[str, object] | None:
        """What the guild taught the engine, for status views: the chattiness in use (and
        whether the admins set it), the learned one, what last moved it and when, the
        feedback counts, the rhythm weight now and how far it is trusted; None when unknown."""
        at = self._time(at)
        st = self._guilds.get(guild_id)
        if st is None:
            return None
        cfg = self.learning
        learning.settle(st, at, cfg)
        return {
            "chattiness": round(learning.chattiness(st, at, cfg), 3),
            "chattiness_set": st.settings.chattiness,
            "chattiness_learned": round(learning.learned_chattiness(st, at, cfg), 3),
            "moved_by": st.chattiness_why,
            "moved_why": learning.why(st.chattiness_why),
            "moved_at": st.chattiness_at if st.chattiness_why else None,
            "feedback": dict(zip(learning.FEEDBACK, st.feedback, strict=True)),
            "rhythm_now": round(learning.rhythm_weight(st, learning.local_slot(at, st), cfg), 3),
            "rhythm_trust": round(min(1.0, st.rhythm_total / cfg.rhythm_min_messages), 3),
            "members_known": len(st.affinity or ()),
        }

    def week_profile(self, guild_id: int) -> list[float] | None:
        """The guild's 168 learned rhythm weights (Monday 00:00 local first); None if unknown."""
        st = self._guilds.get(guild_id)
        return None if st is None else learning.week_profile(st, self.learning)

    def record_action(self, guild_id: int, action: str, *, at: float | None = None) -> None:
        """The bot spoke in this guild (autonomously or in reply). Call before sending."""
        at = self._time(at)
        if not isinstance(action, str) or not action:
            raise ValueError(f"action must be a non-empty action name, got {action!r}")
        st = self._guild(guild_id)
        st.last_action_at = max(st.last_action_at, at)
        st.last_action = action
        st.unanswered += 1  # until a human speaks (`GuildState.add_message`)
        st.messages_since_appearance = 0
        rule = self.table.by_name.get(action)
        if rule is not None:  # a remark of its own (not a reply): does anyone answer it?
            learning.remarked(st, at, self.learning)
            if rule.on_record is not None:
                rule.on_record(st)

    # decisions ----------------------------------------------------------------------------
    def should_take_action(
        self, guild_id: int, *, at: float | None = None, triggered_by_message: bool = False
    ) -> str | None:
        """The action to take now, or None (the seed's call)."""
        d = self.check(guild_id, at=at, triggered_by_message=triggered_by_message)
        return None if d is None else d.action

    def check(
        self, guild_id: int, *, at: float | None = None, triggered_by_message: bool = False
    ) -> Decision | None:
        """The hot path: a full `Decision` when an action fires, else None, explaining nothing.

        Rolls the same dice as `decide()`, so the two give the same actions for the same RNG.
        """
        if at is None or not (0.0 <= at < _INF):
            at = self._time(at)
        st = self._guilds.get(guild_id)
        if st is None:
            return None
        r = self.rules
        since = at - st.last_action_at
        if since < r.min_interval_s or at - self.started_at < r.startup_s:
            return None  # the cheapest gates first, before any object is made
        if triggered_by_message:
            # could any rule answer, whatever the mood, with no dice? (`RuleTable.may_answer`,
            # unrolled here like the rest of this method: most messages stop at it)
            started_at = self.started_at
            for answers in self.table.answers:
                if answers(st, at, since, r, started_at):
                    break
            else:
                return None
        return self._evaluate(guild_id, st, at, triggered_by_message, explain=False)

    def decide(
        self, guild_id: int, *, at: float | None = None, triggered_by_message: bool = False
    ) -> Decision:
        """Check the gates, then the rules in order; the first that fires wins.

        The `Decision` always says why: which rule fired, or why each did not.
        """
        at = self._time(at)
        st = self._guilds.get(guild_id)
        if st is None:
            return Decision(guild_id=guild_id, at=at, action=None, reason="no context")
        d = self._evaluate(guild_id, st, at, triggered_by_message, explain=True)
        assert d is not None
        return d

    def _evaluate(
        self, guild_id: int, st: GuildState, at: float, by_message: bool, *, explain: bool
    ) -> Decision | None:
        trigger = "message" if by_message else "timer"
        if st.remark_at != NEVER:
            learning.settle(st, at, self.learning)
        chk = Check(
            st, self.moods.profile(st.mood), self.rules, at, self.started_at, by_message,
            self.rng, explain, self.learning,
        )  # fmt: skip
        blocked = chk.gate(zone_minute(at, st))
        if blocked is not None:
            if not explain:
                return None
            log.debug("guild %s: no action (%s)", guild_id, blocked)
            return Decision(
                guild_id=guild_id, at=at, action=None, reason=blocked, mood=st.mood,
                trigger=trigger,
            )  # fmt: skip
        action, reason = self.table.first(chk)
        if action is None:
            if not explain:
                return None
            reason = "no rule fired: " + "; ".join(chk.notes)
            log.debug("guild %s: %s", guild_id, reason)
            return Decision(
                guild_id=guild_id, at=at, action=None, reason=reason, mood=st.mood,
                trigger=trigger, signals=chk.signals(),
            )  # fmt: skip
        signals = chk.signals()
        signals["hour"], signals["weekday"] = local_time(at, st)
        log.debug("guild %s: %s because %s; %s", guild_id, action, reason, signals)
        rule = self.table.by_name.get(action)
        user_id, activity = (
            rule.target(st) if rule is not None and rule.target is not None else (None, None)
        )
        return Decision(
            guild_id=guild_id, at=at, action=action, reason=reason, mood=st.mood,
            trigger=trigger, signals=signals, user_id=user_id, activity=activity,
        )  # fmt: skip

    def next_wake(self, guild_id: int, *, at: float | None = None) -> float | None:
        """When a time-based rule could next fire without new events; None for never.

        The runtime schedules one timer per guild at this time instead of sweeping all guilds;
        a new event, mood or settings change means asking again.
        """
        at = self._time(at)
        st = self._guilds.get(guild_id)
        if st is None:
            return None
        st.expire(at)  # an hour without messages: the window's memory goes back
        if st.settings.paused or st.mood == ASLEEP or st.left_at != NEVER:
            return None
        rules = self.rules
        if st.remark_at != NEVER:
            learning.settle(st, at, self.learning)
        chk = Check(
            st, self.moods.profile(st.mood), rules, at, self.started_at, False, self.rng,
            True, self.learning,
        )  # fmt: skip
        ready = max(self.started_at + rules.startup_s, st.last_action_at + rules.min_interval_s)
        when = self.table.next_wake(chk, ready)
        quiet = st.settings.quiet_hours
        if when is not None and quiet is not None:
            local = datetime.fromtimestamp(when, st.settings.zone())
            minute = local.hour * 60 + local.minute
            if quiet.contains(minute):  # the exact end, in whole seconds: no rounding short of it
                start = local.replace(second=0, microsecond=0)
                when = (start + timedelta(minutes=quiet.minutes_left(minute))).timestamp()
        return when

    def signals(self, guild_id: int, *, at: float | None = None) -> dict[str, float] | None:
        """A guild's current signal values (for status views), or None when unknown."""
        at = self._time(at)
        st = self._guilds.get(guild_id)
        if st is None:
            return None
        return Check(
            st, self.moods.profile(st.mood), self.rules, at, self.started_at, False, self.rng,
            True, self.learning,
        ).signals()  # fmt: skip

    # persistence --------------------------------------------------------------------------
    def snapshot(self, guild_id: int) -> bytes:
        """The guild's whole state as versioned msgpack bytes; KeyError if unknown."""
        return snapshot(self._guilds[guild_id])

    def restore(self, guild_id: int, data: bytes) -> None:
        """Load a guild's state from `snapshot()` bytes, replacing what was there."""
        st = restore(data)
        if st.mood not in self.moods:
            log.warning(
                "guild %s: restored mood %r is no longer configured; using %r",
                guild_id, st.mood, self.default_mood,
            )  # fmt: skip
            st.mood = self.default_mood
        self._guilds[guild_id] = st
