"""What a guild's counters teach the engine: its week's rhythm, its chattiness, members' affinity.

What belongs here: the operations on the learned fields of a `GuildState` (issue 16), each O(1)
per event or amortised so: rolling the rhythm profile to a new hour (a zone conversion once an
hour, the decay once a day), the rhythm weight of an hour of the week, the chattiness now (it
returns to 1 as time passes, computed when read), feedback moving it, and the affinity of the
members who answered the bot. The numbers are `LearningConfig`'s. What does not belong: the
rules that use them (`engine.rules`), the hot path's own counting (`GuildState.add_message`
counts the current hour's messages), clocks, I/O. No message content is ever seen here: an
answer is a human message that addresses the bot (a mention, a reply to it, its name) within
`feedback_window_s` of a remark of its own (talk that merely goes on is no answer: in a busy
guild it always would be); a request for quiet is a call the shell makes.
"""

from __future__ import annotations

from array import array
from datetime import datetime

from .config import LearningConfig
from .state import NEVER, RHYTHM_SLOTS, RHYTHM_UNIT, GuildState

FEEDBACK = ("answered", "ignored", "hushed", "paused")
"""What moves a guild's chattiness (`GuildState.feedback` counts each, in this order)."""

_WHY = {
    "answered": "a remark of its own was answered within minutes",
    "ignored": "a remark of its own went unanswered",
    "hushed": "a member told it to be quiet",
    "paused": "the admins paused it",
}


def local_slot(at: float, st: GuildState) -> int:
    """The hour of the week at `at` in the guild's time zone (Monday 00:00–01:00 is 0)."""
    local = datetime.fromtimestamp(at, st.settings.zone())
    return local.weekday() * 24 + local.hour


# rhythm -----------------------------------------------------------------------------------------
def roll_rhythm(st: GuildState, hour: int, cfg: LearningConfig) -> None:
    """Make epoch hour `hour` the profile's current one: the last hour's messages go into its
    slot, the new hour's slot is found in the guild's zone (one conversion an hour) and, on a
    new day, the profile decays (it halves every `rhythm_half_life_days`). Then the caller
    counts the message (`rhythm_n`)."""
    day = hour // 24
    if st.rhythm is None:
        st.rhythm = array("H", bytes(2 * RHYTHM_SLOTS))
        st.rhythm_day = day
    flush_rhythm(st)
    if day > st.rhythm_day:
        f = 0.5 ** ((day - st.rhythm_day) / cfg.rhythm_half_life_days)
        st.rhythm = array("H", [int(v * f) for v in st.rhythm])
        st.rhythm_total *= f
        st.rhythm_day = day
    st.rhythm_hour = hour
    st.rhythm_slot = local_slot(hour * 3600.0, st)


def flush_rhythm(st: GuildState) -> None:
    """Add the current hour's messages so far (`rhythm_n`) to its slot."""
    n = st.rhythm_n
    r = st.rhythm
    if not n or r is None:
        return
    i = st.rhythm_slot
    while r[i] + n * RHYTHM_UNIT > 0xFFFF:  # full: halve them all (the profile is relative)
        r = st.rhythm = array("H", [v >> 1 for v in r])
        if r[i] + n * RHYTHM_UNIT > 0xFFFF and r[i] == 0:
            n = 0xFFFF // RHYTHM_UNIT  # one hour alone fills it
    r[i] += n * RHYTHM_UNIT
    st.rhythm_total += st.rhythm_n
    st.rhythm_n = 0


def rhythm_weight(st: GuildState, slot: int, cfg: LearningConfig) -> float:
    """How much likelier than usual people are around in hour-of-week `slot`: the slot's
    share of the profile against the mean hour's (mixed with the hour of the day's over the
    week, by `rhythm_day_prior`), bounded, trusted as far as the messages seen allow and scaled
    by `rhythm_strength`. 1.0 for a new guild or with the rhythm off."""
    strength = cfg.rhythm_strength
    if st.rhythm is None or strength <= 0.0:
        return 1.0
    flush_rhythm(st)
    r = st.rhythm
    if st.rhythm_total <= 0.0:
        return 1.0
    total = sum(r)
    if total <= 0:
        return 1.0
    k = cfg.rhythm_day_prior
    day_h = sum(r[slot % 24 :: 24]) / 7.0
    rel = (r[slot] + k * day_h) / ((1.0 + k) * total / RHYTHM_SLOTS)
    rel = min(cfg.rhythm_max_weight, max(cfg.rhythm_min_weight, rel))
    trust = min(1.0, st.rhythm_total / cfg.rhythm_min_messages)
    return 1.0 + strength * trust * (rel - 1.0)


def week_profile(st: GuildState, cfg: LearningConfig) -> list[float]:
    """The 168 rhythm weights of the guild's week (Monday 00:00 first), for views and plots."""
    return [round(rhythm_weight(st, s, cfg), 4) for s in range(RHYTHM_SLOTS)]


# chattiness ------------------------------------------------------------------------------------
def learned_chattiness(st: GuildState, at: float, cfg: LearningConfig) -> float:
    """The learned chattiness at `at`: the last value moved back toward 1 by the half-life."""
    c = st.chattiness
    if c == 1.0:
        return 1.0
    dt = max(0.0, at - st.chattiness_at)
    return 1.0 + (c - 1.0) * 0.5 ** (dt / cfg.chattiness_half_life_s)


def chattiness(st: GuildState, at: float, cfg: LearningConfig) -> float:
    """The chattiness the rules use at `at`: the admins' setting, else the learned one."""
    chosen = st.settings.chattiness
    return chosen if chosen is not None else learned_chattiness(st, at, cfg)


def move(st: GuildState, at: float, kind: str, cfg: LearningConfig) -> None:
    """Feedback of `kind` (one of `FEEDBACK`) at `at`: counted, and (with `feedback` on) the
    chattiness multiplied by its step, within [`chattiness_min`, `chattiness_max`]."""
    i = FEEDBACK.index(kind)
    counts = list(st.feedback)
    counts[i] += 1
    st.feedback = tuple(counts)
    if not cfg.feedback:
        return
    step = (cfg.answered_step, cfg.ignored_step, cfg.hushed_step, cfg.paused_step)[i]
    value = learned_chattiness(st, at, cfg) * step
    st.chattiness = min(cfg.chattiness_max, max(cfg.chattiness_min, value))
    st.chattiness_at = at
    st.chattiness_why = kind


def why(kind: str | None) -> str:
    """The sentence for what last moved a guild's chattiness."""
    return _WHY.get(kind or "", "nothing yet")


def remarked(st: GuildState, at: float, cfg: LearningConfig) -> None:
    """The bot made a remark of its own at `at`: one not answered before it counts as ignored;
    this one waits `feedback_window_s` for an answer."""
    if st.remark_at != NEVER and not st.remark_answered:
        move(st, min(at, st.remark_at + cfg.feedback_window_s), "ignored", cfg)
    st.remark_at = at
    st.remark_answered = False
    st.remark_heard = 0


def settle(st: GuildState, at: float, cfg: LearningConfig) -> None:
    """A remark whose window ended by `at` without an answer counts as ignored (once)."""
    rem = st.remark_at
    if rem != NEVER and at - rem > cfg.feedback_window_s:
        if not st.remark_answered:
            move(st, rem + cfg.feedback_window_s, "ignored", cfg)
        st.remark_at = NEVER


def heard(st: GuildState, at: float, author_id: int | None, cfg: LearningConfig) -> None:
    """A human message addressing the bot at `at` while a remark waits for an answer."""
    rem = st.remark_at
    if at < rem:
        return  # written before the remark (delivered late): not an answer
    if at - rem > cfg.feedback_window_s:
        settle(st, at, cfg)
        return
    if not st.remark_answered:
        st.remark_answered = True
        move(st, at, "answered", cfg)
    if author_id is not None and cfg.affinity_max_members:
        befriend(st, author_id, at, rem, cfg.affinity_max_members)
    if st.remark_heard >= cfg.affinity_per_remark:
        st.remark_at = NEVER  # answered, and enough members credited: stop looking (hot path)


# affinity --------------------------------------------------------------------------------------
def befriend(st: GuildState, user_id: int, at: float, remark_at: float, cap: int) -> None:
    """`user_id` answered the bot's remark of `remark_at`: once per remark, capped at 65,535.
    The dict is ordered by last answer (oldest first); past `cap` the oldest goes."""
    aff = st.affinity
    if aff is None:
        aff = st.affinity = {}
    prev = aff.get(user_id)
    if prev is not None and prev[1] >= remark_at:
        return  # already credited for this remark
    del_ = aff.pop(user_id, None)
    n = 1 if del_ is None else del_[0] + 1
    aff[user_id] = (min(n, 0xFFFF), at)
    st.remark_heard += 1
    if len(aff) > cap:
        del aff[next(iter(aff))]


def answers_of(st: GuildState, user_id: int | None) -> int:
    """How many of the bot's remarks `user_id` answered (0: none, or unknown)."""
    aff = st.affinity
    if aff is None or user_id is None:
        return 0
    seen = aff.get(user_id)
    return 0 if seen is None else seen[0]


def familiarity(n: int, cfg: LearningConfig) -> str:
    """Words for a member who answered the bot `n` times (no id, no name): for the reason and
    so the prompt."""
    if n >= cfg.affinity_regular:
        return "a regular"
    return "someone who has answered the bot before" if n else "someone new to the bot"
