"""discord.py objects → engine events and transcript lines (and the small facts around them).

Pure functions over what discord.py parsed: no I/O, no state beyond what is passed in. Event
times are the runtime clock's (`at`), never Discord's timestamps: the runtime clock may run
faster than real time. Message content only ever goes into a `Line` (host memory, never logged).
"""

from __future__ import annotations

import discord

from actors.routing.wire import Line
from config import IntentsConfig
from engine import MemberJoinEvent, MessageEvent, PresenceEvent

PRIVILEGED = {"message_content": "message content", "members": "members", "presences": "presences"}
"""The privileged intents (config field → the Developer Portal's name for it)."""

EVENT_KINDS = {
    "MESSAGE_CREATE": "message",
    "PRESENCE_UPDATE": "presence",
    "GUILD_MEMBER_ADD": "member_join",
    "INTERACTION_CREATE": "interaction",
}
"""Gateway event name → the metrics' event type label (anything else is "other")."""


def intents(config: IntentsConfig) -> discord.Intents:
    """The gateway intents the configuration asks for."""
    it = discord.Intents.none()
    it.guilds = config.guilds
    it.guild_messages = config.guild_messages
    it.message_content = config.message_content
    it.members = config.members
    it.presences = config.presences
    return it


def privileged_asked(config: IntentsConfig) -> list[str]:
    """The privileged intents the configuration asks for, by their Developer Portal names."""
    return [name for field, name in PRIVILEGED.items() if getattr(config, field)]


def addresses_bot(message: discord.Message, bot_id: int, own_messages: set[int]) -> bool:
    """True when the message mentions the bot or replies to one of its messages."""
    if any(user.id == bot_id for user in message.mentions):
        return True
    ref = message.reference
    if ref is None:
        return False
    resolved = ref.resolved
    if isinstance(resolved, discord.Message):
        return resolved.author.id == bot_id
    return ref.message_id is not None and ref.message_id in own_messages


def message_event(
    message: discord.Message, *, bot_id: int, at: float, addressed: bool
) -> MessageEvent | None:
    """The engine's view of a guild message (None for direct messages)."""
    guild = message.guild
    if guild is None:
        return None
    author = message.author
    return MessageEvent(
        guild.id, message.channel.id, author.id, at, author.bot or author.id == bot_id, addressed
    )


def line(message: discord.Message, event: MessageEvent) -> Line:
    """The transcript line of a message (kept in the host's memory only)."""
    return Line(
        event.guild_id, event.channel_id, message.id, event.author_id,
        message.author.display_name, message.clean_content, event.at, event.mentions_bot,
    )  # fmt: skip


def _activities(member: discord.Member) -> set[str]:
    return {
        a.name
        for a in member.activities
        if a.name and getattr(a, "type", None) is not discord.ActivityType.custom
    }


def presence_event(
    before: discord.Member, after: discord.Member, *, at: float
) -> PresenceEvent | None:
    """A presence change; `activity` only when the member started an activity just now."""
    if after.bot:
        return None
    online = after.status is not discord.Status.offline
    started = sorted(_activities(after) - _activities(before)) if online else []
    return PresenceEvent(after.guild.id, after.id, at, online, started[0] if started else None)


def join_event(member: discord.Member, *, at: float) -> MemberJoinEvent:
    return MemberJoinEvent(member.guild.id, member.id, at)


def online_members(guild: discord.Guild, *, at: float, limit: int = 8) -> list[PresenceEvent]:
    """Who is online when the guild becomes available (the engine remembers a few)."""
    out = []
    for member in guild.members:
        if not member.bot and member.status is not discord.Status.offline:
            out.append(PresenceEvent(guild.id, member.id, at, True, None))
            if len(out) >= limit:
                break
    return out


def default_channel(guild: discord.Guild) -> int:
    """The system channel if the bot may write there, else the first text channel it may."""
    me = guild.me

    def writable(channel: discord.TextChannel) -> bool:
        if me is None:
            return True
        perms = channel.permissions_for(me)
        return perms.view_channel and perms.send_messages

    system = guild.system_channel
    if system is not None and writable(system):
        return system.id
    for channel in sorted(guild.text_channels, key=lambda c: (c.position, c.id)):
        if writable(channel):
            return channel.id
    return 0
