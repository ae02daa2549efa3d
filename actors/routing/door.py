"""The gateway's door: which events it admits as they are, repairs, or refuses (and why).

Every source's events pass `GatewayCore.offer()`, which asks `refused()` first: an event of a type
the hosts do not know, or with a field of the wrong type, is `malformed`; one with an id that is
not a snowflake (`engine.valid_id`) is `invalid_id`. `repaired()` makes text valid Unicode (a lone
surrogate, which no encoder takes, becomes U+FFFD: `wire.clean_text`), copying only what changes.
"""

from __future__ import annotations

import msgspec

from actors.routing.wire import Line, clean_text
from engine import Event, MemberJoinEvent, MessageEvent, PresenceEvent, valid_id

EVENT_TYPE = {MessageEvent: "message", PresenceEvent: "presence", MemberJoinEvent: "member_join"}
"""The event classes the hosts know, and their `type` label in metrics."""


def refused(event: Event, line: Line | None) -> str | None:
    """Why the door refuses `event` (a drop reason), or None to admit it."""
    kind = type(event)
    if kind not in EVENT_TYPE or (type(event.at) is not float and type(event.at) is not int):
        return "malformed"  # not an event the hosts know, or not at a time
    if kind is MessageEvent:
        if type(event.author_is_bot) is not bool or type(event.mentions_bot) is not bool:
            return "malformed"  # e.g. a user whose "bot" flag discord.py kept as it came
        ok = valid_id(event.guild_id) and valid_id(event.channel_id) and valid_id(event.author_id)
        ok = ok and (event.message_id == 0 or valid_id(event.message_id))  # (0: none)
    else:
        ok = valid_id(event.guild_id) and valid_id(event.user_id)  # type: ignore[union-attr]
        if kind is PresenceEvent and (
            type(event.online) is not bool  # type: ignore[union-attr]
            or (event.activity is not None and type(event.activity) is not str)  # type: ignore[union-attr]
        ):
            return "malformed"
    if line is not None and ok:
        if type(line.content) is not str or type(line.author) is not str:
            return "malformed"
        ok = valid_id(line.guild_id) and valid_id(line.channel_id) and valid_id(
            line.message_id
        ) and valid_id(line.author_id)  # fmt: skip
    return None if ok else "invalid_id"


def repaired(event: Event, line: Line | None) -> tuple[Event, Line | None]:
    """`event` and `line` with their text as valid Unicode (copies only where it was not)."""
    if line is not None and not (line.content.isascii() and line.author.isascii()):
        author, content = clean_text(line.author), clean_text(line.content)
        if author is not line.author or content is not line.content:
            line = msgspec.structs.replace(line, author=author, content=content)
    if type(event) is PresenceEvent and event.activity and not event.activity.isascii():
        activity = clean_text(event.activity)
        if activity is not event.activity:
            event = msgspec.structs.replace(event, activity=activity)
    return event, line
