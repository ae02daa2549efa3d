"""The inbound events the engine understands.

Events are frozen msgspec structs in one tagged union, so a batch of them decodes in a single call
(`msgspec.msgpack.decode(data, type=list[Event])`). They carry ids, flags and times only: never
message content. `at` is seconds since the epoch.

Ids are Discord snowflakes, and one rule holds for them everywhere (the wire, the engine, the
state stores): an int with 0 < id < 2**63 (`valid_id`). Decoding an event checks it (`Snowflake`);
`AutonomousEngine` refuses to adopt a guild outside it; the stores refuse to save one.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

MAX_ID = 2**63 - 1
"""The largest id guildmind accepts: a snowflake is a positive signed 64-bit integer."""

Snowflake = Annotated[int, msgspec.Meta(ge=1, le=MAX_ID)]
"""An id field: decoding refuses one outside 0 < id < 2**63 (a `msgspec.ValidationError`)."""

OptionalId = Annotated[int, msgspec.Meta(ge=0, le=MAX_ID)]
"""An id field that may be absent: 0, or a snowflake."""


def valid_id(value: object) -> bool:
    """Whether `value` is an id guildmind accepts: an int (not a bool) with 0 < id < 2**63."""
    return type(value) is int and 0 < value <= MAX_ID


class MessageEvent(msgspec.Struct, frozen=True, gc=False, tag="message", array_like=True):
    """A message was posted in a guild channel."""

    guild_id: Snowflake
    channel_id: Snowflake
    author_id: Snowflake
    at: float
    author_is_bot: bool = False
    mentions_bot: bool = False
    # Discord's id of the message (0: none, e.g. synthetic traffic): a host skips a message it
    # applied before, which Discord replays after a gateway's cold resume
    message_id: OptionalId = 0


class PresenceEvent(msgspec.Struct, frozen=True, gc=False, tag="presence", array_like=True):
    """A member's presence changed.

    `online` is the member's status after the change; `activity` names an activity (a game) the
    member has just started, or is None when none started.
    """

    guild_id: Snowflake
    user_id: Snowflake
    at: float
    online: bool = True
    activity: str | None = None


class MemberJoinEvent(msgspec.Struct, frozen=True, gc=False, tag="member_join", array_like=True):
    """A member joined the guild."""

    guild_id: Snowflake
    user_id: Snowflake
    at: float


Event = MessageEvent | PresenceEvent | MemberJoinEvent
"""Any inbound event."""
