"""The bounded label values of guildmind's metrics, in one place.

Every label of every metric takes its values from one of these sets (or from a set the runtime
passes in at startup: the loaded action names, the configured moods, the host names). A value
outside its set is recorded as ``"other"``, so a bug or a plugin can never grow a series per
guild, channel or user. No label ever holds an id or message content.

The defaults for actions and moods mirror ``engine.ACTIONS`` + ``reply`` and
``engine.BUILTIN_MOODS`` (``metrics/`` does not import ``engine``; a test keeps them in step).
"""

from __future__ import annotations

from collections.abc import Iterable

OTHER = "other"
"""What a value outside its label set is recorded as."""

NONE_ACTION = "none"
"""The action label of a decision to stay quiet."""

EVENT_TYPES: tuple[str, ...] = ("message", "presence", "member_join", "interaction")
"""Inbound event types (``type`` label)."""

DROP_REASONS: tuple[str, ...] = (
    "overload",  # shed under load (presence first)
    "malformed",  # could not be decoded or normalised
    "undecodable",  # a gateway frame that could not be read at all (not JSON, nested too deep)
    "invalid_id",  # an id that is not a snowflake (an int with 0 < id < 2**63)
    "unencodable",  # the gateway could not encode it for its host (left out of its batch)
    "unroutable",  # no host for the guild's partition
    "host_unavailable",  # the host died with the batch in flight and it was not retried
    "unknown_guild",  # an event for a guild the bot does not serve
    "replayed",  # a message Discord replayed after a gateway's cold resume, applied before
)
"""Why an event was dropped (``reason`` label)."""

TRIGGERS: tuple[str, ...] = ("message", "timer", "addressed")
"""What asked for a decision or round (``trigger`` label): a new message, the guild's own timer,
or someone addressing the bot."""

ROUND_OUTCOMES: tuple[str, ...] = ("sent", "silent", "failed", "error")
"""How an action round ended (``outcome`` label): a message went out; nothing was activated or
chosen; the chosen action's execute() or the send failed; an exception. (What arrives for a guild
while its round runs waits for that round's end: no round is ever skipped.)"""

ACTIVATION_RESULTS: tuple[str, ...] = ("activated", "inactive", "timeout", "error")
"""The outcome of one action's ``go_activate()`` (``actions.modifier.OUTCOMES``)."""

EXECUTION_OUTCOMES: tuple[str, ...] = ("sent", "fallback", "failed", "timeout", "error")
"""How one chosen action's ``execute()`` went (``outcome`` label): it produced messages to send
(words by the LLM, a plugin, or templates when no LLM is configured); it produced messages whose
words templates wrote because the LLM failed; it produced nothing (or returned failure); it ran
out of time; it raised."""

LLM_PURPOSES: tuple[str, ...] = ("content", "judge", "plan")
"""Why the LLM was asked (``purpose`` label; ``actions.observer.PURPOSES``)."""

LLM_OUTCOMES: tuple[str, ...] = ("success", "empty", "garbage", "timeout", "error", "cancelled")
"""How one LLM request went (``outcome`` label; ``actions.observer.OUTCOMES``): a usable answer,
a blank one, one that could not be read, none in time, a failure, the caller stopped waiting."""

LLM_BUDGET_SCOPES: tuple[str, ...] = ("per_guild", "global")
"""Which daily token budget refused an LLM request (``scope`` label; ``actions.budget.SCOPES``):
the guild's own, or all guilds' together."""

LLM_TOKEN_KINDS: tuple[str, ...] = ("prompt", "completion")
"""Which tokens of an LLM request (``kind`` label): those sent, those answered."""

LLM_TOKEN_SOURCES: tuple[str, ...] = ("server", "estimate")
"""Who counted the tokens (``source`` label): the server's ``usage``, or guildmind's estimate
from the text's length when the server reported none."""

SEND_FAILURE_REASONS: tuple[str, ...] = (
    "rate_limited",
    "forbidden",
    "not_found",
    "http_error",
    "timeout",
    "connection",
)
"""Why sending a message failed (``reason`` label)."""

REFUSED_FEATURES: tuple[str, ...] = (
    "send_custom",
    "send_command",
    "send_emoji",
    "send_image",
    "call_action",
    "wait_for_new_message",
    "service_api",
)
"""What a MoFox-Bot plugin action asked for and Discord has no equivalent for here (``feature``
label; ``actions.mofox``): a message type (voice, TTS, ...), a QQ adapter command, an image it
could not upload, running another action, waiting for the chat, one of MoFox's service APIs
(``llm_api``, ``send_api``, ...)."""

SESSION_OUTCOMES: tuple[str, ...] = ("resumed", "refused", "expired", "failed")
"""How a gateway shard's stored session fared at a start (``outcome`` label; cold resume):
resumed (Discord replayed what it missed), refused (INVALID_SESSION: the shard identified),
expired (too old to try: identified), failed (the resume's connection failed: identified)."""

SAVE_OUTCOMES: tuple[str, ...] = ("success", "failure")
"""The outcome of saving one guild's state (``outcome`` label)."""

JUDGE_SOURCES: tuple[str, ...] = ("llm", "cache")
"""Where an LLM-judge verdict came from (``source`` label)."""

DEFAULT_ACTIONS: tuple[str, ...] = (
    "join_conversation",
    "engage_user",
    "fomo_response",
    "break_silence",
    "share_tweet",
    "reply",
)
"""The built-in actions; the runtime passes the loaded registry's names instead."""

DEFAULT_MOODS: tuple[str, ...] = (
    "neutral",
    "bubbly",
    "excited",
    "curious",
    "silly",
    "shy",
    "serious",
    "sleepy",
    "melancholy",
    "irritated",
    "asleep",
)
"""The built-in moods; the runtime passes the configured moods instead."""


def label_set(values: Iterable[str], *extra: str) -> tuple[str, ...]:
    """`values` plus `extra`, deduplicated in order, with `OTHER` last; rejects bad values."""
    out: dict[str, None] = {}
    for v in (*values, *extra):
        if not isinstance(v, str) or not v:
            raise ValueError(f"A label value must be a non-empty string, got {v!r}.")
        out[v] = None
    out.pop(OTHER, None)
    return (*out, OTHER)
