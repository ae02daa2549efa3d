"""The inbound events the engine understands.

Events are frozen msgspec structs in one tagged union, so a batch of them decodes in a single call
(`msgspec.msgpack.decode(data, type=list[Event])`). They carry ids, flags and times only: never
message content. `at` is seconds since the epoch.
"""

from __future__ import annotations

import msgspec


class MessageEvent(msgspec.Struct, frozen=True, gc=False, tag="message", array_like=True):
    """A message was posted in a guild channel."""

    guild_id: int
    channel_id: int
    author_id: int
    at: float
    author_is_bot: bool = False
    mentions_bot: bool = False


class PresenceEvent(msgspec.Struct, frozen=True, gc=False, tag="presence", array_like=True):
    """A member's presence changed.

    `online` is the member's status after the change; `activity` names an activity (a game) the
    member has just started, or is None when none started.
    """

    guild_id: int
    user_id: int
    at: float
    online: bool = True
    activity: str | None = None


class MemberJoinEvent(msgspec.Struct, frozen=True, gc=False, tag="member_join", array_like=True):
    """A member joined the guild."""

    guild_id: int
    user_id: int
    at: float


Event = MessageEvent | PresenceEvent | MemberJoinEvent
"""Any inbound event."""
