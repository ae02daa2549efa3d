"""The five rules of DESIGN §3, as one table: `RULES`.

What belongs here: for each rule, its condition with the sentence saying why it fired or did not
(`fires`), when waiting alone could next make it fire (`wake`), the dice-free bound the hot path
uses to skip messages no rule could answer (`answers`), and how it answers a message; then one
`Rule` entry tying them together. The table's order is the order rules are checked; the first that
fires wins. Adding a rule is writing its three functions and one entry. What does not belong: the
gates and signals (`engine.check`), running the table (`engine.table`), storing events, clocks,
I/O. Randomness is only ever the check's rng, through `Check.roll`. Every number is a `RuleConfig`
field (DESIGN §3's defaults).

What the guild taught the engine (issue 16) weighs in: the chattiness multiplies the chance of
every roll; the time-based rules (engage_user, break_silence, share_tweet) weigh theirs by the
eagerness (chattiness × the rhythm of this hour of the week), which also shortens or lengthens
break_silence's quiet period and share_tweet's cooldown; engage_user prefers members who answer
the bot. At chattiness 1 with nothing learned, every rule is DESIGN §3's, dice included.
"""

from __future__ import annotations

from . import learning
from .check import Check, ago, last
from .config import RuleConfig
from .state import GuildState
from .table import Rule


def _times(value: float, name: str) -> str:
    """` × chattiness 1.20` for a factor other than 1, else nothing (reasons stay short)."""
    return "" if value == 1.0 else f" × {name} {value:.2f}"


# A rule's three functions are written side by side: `answers` and `wake` are bounds of `fires`
# (what it needs whatever the mood; what only time can change), so they change together.


# join_conversation: the conversation has momentum and the bot has been out of it a while --------
def _join(c: Check) -> str | None:
    cfg, p, st = c.cfg, c.profile, c.st
    need = cfg.join_momentum_factor * (2.0 - p.sociability)
    if c.momentum <= need:
        return c.no("momentum {:.2f} ≤ {:.2f}", c.momentum, need)
    if st.messages_since_appearance < cfg.join_min_messages:
        return c.no(
            "{} messages since the bot spoke < {}",
            st.messages_since_appearance,
            cfg.join_min_messages,
        )
    if c.since_action <= cfg.join_cooldown_s:
        return c.no("last action {:ago} ago", c.since_action)
    chatty = c.chattiness
    ok, value = c.roll(p.impulsiveness * chatty)
    times = _times(chatty, "chattiness")
    if not ok:
        return c.no("roll {:.2f} ≥ impulsiveness {:.2f}{}", value, p.impulsiveness, times)
    return (
        f"conversation has momentum {c.momentum:.2f} > {need:.2f} with "
        f"{st.messages_since_appearance} messages since the bot spoke "
        f"(roll {value:.2f} < impulsiveness {p.impulsiveness:.2f}{times})"
    )


def _join_wake(c: Check) -> float | None:
    # momentum only decays with time: only the cooldown can open
    cfg, st = c.cfg, c.st
    need = cfg.join_momentum_factor * (2.0 - c.profile.sociability)
    if c.momentum > need and st.messages_since_appearance >= cfg.join_min_messages:
        return st.last_action_at + cfg.join_cooldown_s
    return None


def _join_answers(st: GuildState, at: float, since: float, r: RuleConfig, t0: float) -> bool:
    # the momentum needed is factor × (2 − sociability) ≥ factor, as sociability ≤ 1
    return (
        st.messages_since_appearance >= r.join_min_messages
        and since > r.join_cooldown_s
        and st.messages_in(5, at) > r.join_momentum_factor * r.momentum_messages
    )


# engage_user: a member started an activity the bot has not engaged yet -------------------------
def _engage(c: Check) -> str | None:
    cfg, p, st = c.cfg, c.profile, c.st
    if st.activity_name is None or st.activity_engaged:
        return c.no("no new activity to engage")
    age = c.at - st.activity_at
    if age > cfg.engage_activity_window_s:
        return c.no("activity started {:ago} ago", age)
    if c.since_action <= cfg.engage_cooldown_s:
        return c.no("last action {:ago} ago", c.since_action)
    if c.momentum >= cfg.engage_max_momentum:
        return c.no("the chat is busy (momentum {:.2f})", c.momentum)
    learn, eager = c.learn, c.eagerness
    answers = learning.answers_of(st, st.activity_user)
    liking = 1.0 + learn.affinity_weight * min(1.0, answers / learn.affinity_regular)
    ok, value = c.roll(p.sociability * eager * liking)
    times = _times(eager, "eagerness") + _times(liking, "affinity")
    if not ok:
        return c.no("roll {:.2f} ≥ sociability {:.2f}{}", value, p.sociability, times)
    who = f" ({learning.familiarity(answers, learn)})" if learn.affinity_max_members else ""
    return (
        f"a member started {st.activity_name!r} {ago(age)} ago{who}, {last(c.since_action)} "
        f"(roll {value:.2f} < sociability {p.sociability:.2f}{times})"
    )


def _engage_wake(c: Check) -> float | None:
    # the cooldown must end while the activity is still new
    cfg, st = c.cfg, c.st
    if st.activity_name is not None and not st.activity_engaged:
        when = st.last_action_at + cfg.engage_cooldown_s
        if when <= st.activity_at + cfg.engage_activity_window_s:
            return when
    return None


def _engage_answers(st: GuildState, at: float, since: float, r: RuleConfig, t0: float) -> bool:
    return st.activity_name is not None and not st.activity_engaged and since > r.engage_cooldown_s


def _engage_target(st: GuildState) -> tuple[int | None, str | None]:
    return st.activity_user, st.activity_name


def _engaged(st: GuildState) -> None:
    st.activity_engaged = True  # that activity is not engaged twice; a new one will be
    st.activity_user = st.activity_name = None  # and who played what is needed no more


# fomo_response: many messages without the bot in a conversation that is still going ----------
def _fomo(c: Check) -> str | None:
    cfg, st = c.cfg, c.st
    need = cfg.fomo_threshold(c.profile.sociability)
    if st.messages_since_appearance < need:
        return c.no("{} messages < {:g}", st.messages_since_appearance, need)
    if c.momentum < cfg.fomo_min_momentum:
        return c.no("momentum {:.2f} < {:.2f}", c.momentum, cfg.fomo_min_momentum)
    if c.since_action <= cfg.fomo_cooldown_s:
        return c.no("last action {:ago} ago", c.since_action)
    return (
        f"{st.messages_since_appearance} messages without the bot (≥ {need:g}) in an "
        f"active conversation (momentum {c.momentum:.2f})"
    )


def _fomo_wake(c: Check) -> float | None:
    # momentum only decays with time: only the cooldown can open
    cfg, st = c.cfg, c.st
    if (
        st.messages_since_appearance >= cfg.fomo_threshold(c.profile.sociability)
        and c.momentum >= cfg.fomo_min_momentum
    ):
        return st.last_action_at + cfg.fomo_cooldown_s
    return None


def _fomo_answers(st: GuildState, at: float, since: float, r: RuleConfig, t0: float) -> bool:
    # the threshold is never below fomo_messages (it only grows for low sociability)
    return (
        st.messages_since_appearance >= r.fomo_messages
        and since > r.fomo_cooldown_s
        and st.messages_in(5, at) >= r.fomo_min_momentum * r.momentum_messages
    )


# break_silence and share_tweet: remarks into a quiet room, so someone must be there ---------------
def _room_open_until(c: Check) -> float | None:
    """Until when a remark has someone to read it: None when nobody is online now, or the bot's
    last `max_unanswered` remarks went unanswered (waiting alone changes neither)."""
    st, cfg = c.st, c.cfg
    present_until = st.presence_expires_at(cfg.online_ttl_s)
    if present_until <= c.at or st.unanswered >= cfg.max_unanswered:
        return None
    return present_until


def _silence(c: Check) -> str | None:
    cfg, p, st = c.cfg, c.profile, c.st
    if c.messages_hour >= cfg.silence_max_messages_hour:
        return c.no("{} messages in the last hour", c.messages_hour)
    quiet = c.at - c.quiet_since()
    need = cfg.quiet_period_s(p.energy)
    eager = 1.0 if c.by_message else c.eagerness  # whoever spoke is there: no weighing
    need /= eager
    if quiet <= need:
        return c.no("quiet for {:ago} ≤ {:ago}", quiet, need)
    if c.by_message:  # someone spoke into the quiet chat: they are here, and get an answer
        return (
            f"quiet for {ago(quiet)} (> {ago(need)}) with {c.messages_hour} messages in "
            "the last hour, then someone spoke"
        )
    if st.unanswered >= cfg.max_unanswered:
        return c.no("{} remarks in a row went unanswered", st.unanswered)
    if not st.someone_present(c.at, cfg.online_ttl_s):
        return c.no("nobody is online")
    ok, value = c.roll(p.energy * eager)
    times = _times(eager, "eagerness")
    if not ok:
        return c.no("roll {:.2f} ≥ energy {:.2f}{}", value, p.energy, times)
    return (
        f"quiet for {ago(quiet)} (> {ago(need)}) with {c.messages_hour} messages in "
        f"the last hour and someone online (roll {value:.2f} < energy {p.energy:.2f}{times})"
    )


def _silence_wake(c: Check) -> float | None:
    until = _room_open_until(c)
    if until is None:
        return None
    cfg = c.cfg
    quiet_end = c.quiet_since() + cfg.quiet_period_s(c.profile.energy) / c.eagerness
    when = max(quiet_end, c.st.hour_count_below_at(cfg.silence_max_messages_hour, c.at))
    when = c.until_reweighed(when)
    return when if when < until else None


def _silence_answers(st: GuildState, at: float, since: float, r: RuleConfig, t0: float) -> bool:
    # quiet (up to the message before this one) for longer than the quiet period, which is never
    # below base (energy ≤ 1); `at − max(a, b, c) > base`, written without the slower max()
    base = r.silence_base_s
    return since > base and at - st.prev_human_at > base and at - t0 > base


def _share(c: Check) -> str | None:
    cfg, p, st = c.cfg, c.profile, c.st
    if p.curiosity < cfg.share_min_curiosity:
        return c.no("curiosity {:.2f} < {:.2f}", p.curiosity, cfg.share_min_curiosity)
    if c.messages_hour >= cfg.share_max_messages_hour:
        return c.no("{} messages in the last hour", c.messages_hour)
    since = c.at - max(st.last_action_at, c.started_at)
    eager = c.eagerness
    if since <= cfg.share_cooldown_s / eager:
        return c.no("last action or start {:ago} ago{}", since, _times(eager, "eagerness"))
    if st.unanswered >= cfg.max_unanswered:
        return c.no("{} remarks in a row went unanswered", st.unanswered)
    if not st.someone_present(c.at, cfg.online_ttl_s):
        return c.no("nobody is online to read it")
    times = ""
    if eager < 1.0:  # fewer posts where people are seldom around (no die at all otherwise)
        ok, value = c.roll(eager)
        if not ok:
            return c.no("roll {:.2f} ≥ eagerness {:.2f}", value, eager)
        times = f" (roll {value:.2f} < eagerness {eager:.2f})"
    return (
        f"a quiet hour ({c.messages_hour} messages) and curiosity "
        f"{p.curiosity:.2f}: sharing a post, {last(since)}{times}"
    )


def _share_wake(c: Check) -> float | None:
    cfg = c.cfg
    until = _room_open_until(c)
    if until is None or c.profile.curiosity < cfg.share_min_curiosity:
        return None
    share_at = max(c.st.last_action_at, c.started_at) + cfg.share_cooldown_s / c.eagerness
    when = max(share_at, c.st.hour_count_below_at(cfg.share_max_messages_hour, c.at))
    when = c.until_reweighed(when)
    return when if when < until else None


# the table -------------------------------------------------------------------------------------
RULES: tuple[Rule, ...] = (
    Rule(
        "join_conversation", "join",
        fires=_join, wake=_join_wake, answers=_join_answers,
    ),
    Rule(
        "engage_user", "engage",
        fires=_engage, wake=_engage_wake, answers=_engage_answers,
        target=_engage_target, on_record=_engaged,
    ),
    Rule(
        "fomo_response", "fomo",
        fires=_fomo, wake=_fomo_wake, answers=_fomo_answers,
    ),
    Rule(
        "break_silence", "silence",
        fires=_silence, wake=_silence_wake, answers=_silence_answers,
        # someone spoke into a dead chat: answer them rather than make a random remark
        answer_as=("join_conversation", "someone spoke into a quiet chat"),
    ),
    Rule(
        "share_tweet", "share",
        fires=_share, wake=_share_wake, answers=None,  # only on a timer
    ),
)  # fmt: skip
"""The engine's rules, in the order they are checked (DESIGN §3); the first that fires wins."""

ACTIONS: tuple[str, ...] = tuple(rule.name for rule in RULES)
"""The engine's autonomous actions, in the order their rules are checked."""
