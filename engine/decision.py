"""What the engine decided for one guild at one moment, and why.

A `Decision` is a value: it crosses process boundaries (Ray, logs, the action system), so it is
frozen and made only of plain data. It never holds message content.
"""

from __future__ import annotations

import msgspec

from .rules import ACTIONS  # the rule table's names, in order (re-exported here for callers)

__all__ = ["ACTIONS", "Decision"]


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome of `AutonomousEngine.decide()`.

    Parameters
    ----------
    guild_id:
        The guild decided for.
    at:
        Seconds since the epoch of the decision.
    action:
        The action of the rule that fired (one of `ACTIONS` with the default rule table), or
        None when the bot should stay quiet.
    reason:
        A sentence a person can read: which rule fired, or why none did.
    mood:
        The guild's mood at the time ("" when the guild is unknown).
    trigger:
        "message" when a new message asked for the check, "timer" otherwise.
    signals:
        The signal values the rules looked at (momentum, counts, ages in seconds, …).
    user_id, activity:
        For `engage_user`: whom to engage and what they started.
    """

    guild_id: int
    at: float
    action: str | None
    reason: str
    mood: str = ""
    trigger: str = "timer"
    signals: dict[str, float] = msgspec.field(default_factory=dict)
    user_id: int | None = None
    activity: str | None = None
