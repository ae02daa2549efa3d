"""discord.py objects → engine events and transcript lines (and the small facts around them).

Pure functions over what discord.py parsed: no I/O, no state beyond what is passed in. Event
times are the runtime clock's (`at`), never Discord's timestamps: the runtime clock may run
faster than real time. Message content only ever goes into a `Line` (host memory, never logged).
"""

from __future__ import annotations

import re
from collections.abc import Container
from typing import Any

import discord

from actors.routing.wire import Line
from actors.sources.discord.names import says_name
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


# discord.py does not call these "system", but nobody wrote them just now: Discord's copy of a
# thread's first message at the thread's top, and its announcement of a poll's result.
_TYPE = discord.MessageType
_NOT_WRITTEN = frozenset((_TYPE.thread_starter_message, _TYPE.poll_result))
_REPLY, _FORWARD = discord.MessageReferenceType.reply, discord.MessageReferenceType.forward
_MARKUP = re.compile(r"<(@[!&]?|#)(\d{1,20})>")


def is_conversation(message: discord.Message) -> bool:
    """True for what someone wrote here: a message, a reply, a forward, a command's message.

    False for what Discord writes itself: pins, joins, boosts, "thread created", follows, stage
    and incident notices, any type Discord adds later (discord.py's `Message.is_system()`, which
    is True for types it does not know), thread starters and poll results; for messages by
    Discord's own system user; and for crossposts (another server's announcement, arriving
    through a channel follow). None of these is counted, shown in the transcript or addresses
    the bot.
    """
    return not (
        message.is_system()
        or message.type in _NOT_WRITTEN
        or message.author.system
        or message.flags.is_crossposted
    )


def replies_to_bot(message: discord.Message, bot_id: int, own_messages: Container[int]) -> bool:
    """True for a reply (not a forward, pin or crosspost) to one of the bot's messages.

    The replied-to message comes with the reply, or is gone (deleted) or was not sent: then
    the bot's own recent message ids (`own_messages`) tell.
    """
    ref = message.reference
    if ref is None or message.type is not discord.MessageType.reply or ref.type is not _REPLY:
        return False
    resolved = ref.resolved
    if isinstance(resolved, discord.Message):
        return resolved.author.id == bot_id
    return ref.message_id is not None and ref.message_id in own_messages


def addresses_bot(
    message: discord.Message,
    bot_id: int,
    own_messages: Container[int],
    names: tuple[str, ...] = (),
) -> bool:
    """True when a conversation message is for the bot.

    An @-mention of the bot or of its own role (Discord offers both when one types "@Miku"), a
    reply to one of its messages, or, from a person, one of `names` in what they wrote (see
    `names.says_name`). Forwarded text never addresses the bot: it is someone else's.
    """
    if any(user.id == bot_id for user in message.mentions):
        return True
    if message.role_mentions and message.guild is not None:
        own_role = message.guild.self_role  # a walk over the roles: only when roles are named
        if own_role is not None and own_role in message.role_mentions:
            return True
    if replies_to_bot(message, bot_id, own_messages):
        return True
    return bool(names) and not message.author.bot and says_name(message.content, names)


def message_event(
    message: discord.Message,
    *,
    bot_id: int,
    at: float,
    addressed: bool,
    guild_id: int | None = None,
    replayed: bool = False,
) -> MessageEvent | None:
    """The engine's view of a guild message (None for direct messages). `guild_id`: the guild
    of a message whose guild discord.py does not hold (a cold-resumed shard's); `replayed`:
    Discord replays it after a cold resume, so it carries its id (the hosts apply it once)."""
    guild = message.guild
    gid = guild.id if guild is not None else guild_id
    if gid is None:
        return None
    author = message.author
    return MessageEvent(
        gid, message.channel.id, author.id, at, author.bot or author.id == bot_id, addressed,
        message.id if replayed else 0,
    )  # fmt: skip


def text(message: discord.Message) -> str:
    """What the transcript shows of a message: its text; for a forward, the forwarded text.

    A forward's own content is empty (Discord puts the forwarded message in
    `message_snapshots`); its text is shown after "[forwarded]", with mentions, roles and
    channels written out by name as `clean_content` does for a message's own text.
    """
    own = message.clean_content
    ref = message.reference
    if ref is None or ref.type is not _FORWARD:
        return own
    forwarded = " ".join(
        _clean(s.content, message.guild) for s in message.message_snapshots if s.content
    )
    return " ".join(part for part in (own, "[forwarded]", forwarded) if part)


def _clean(content: str, guild: discord.Guild | None) -> str:
    def name(m: re.Match[str]) -> str:
        kind, ident = m[1], int(m[2])
        found: Any = None
        if guild is not None:
            if kind == "#":
                found = guild.get_channel_or_thread(ident)
                return f"#{found.name}" if found is not None else "#deleted-channel"
            found = guild.get_role(ident) if kind == "@&" else guild.get_member(ident)
        if found is None:
            return "@deleted-role" if kind == "@&" else "@someone"
        return f"@{found.name if kind == '@&' else found.display_name}"

    return _MARKUP.sub(name, content)


def line(message: discord.Message, event: MessageEvent) -> Line:
    """The transcript line of a message (kept in the host's memory only)."""
    return Line(
        event.guild_id, event.channel_id, message.id, event.author_id,
        message.author.display_name, text(message), event.at, event.mentions_bot,
    )  # fmt: skip


def games(member: discord.Member) -> list[str]:
    """What a member plays: the games they play, then the games they stream (each once).

    Only these are activities to engage: listening (Spotify), watching, competing, a custom
    status and activity types discord.py does not know (e.g. Discord's "Hang Status") are not.
    For a stream, the game is what is streamed (discord.py's `Streaming.game`, the payload's
    `state`), not the stream's title.
    """
    playing: list[str] = []
    streamed: list[str] = []
    for activity in member.activities:
        kind = getattr(activity, "type", None)
        if kind is discord.ActivityType.playing:
            name, into = activity.name, playing
        elif kind is discord.ActivityType.streaming:
            game = activity.game if isinstance(activity, discord.Streaming) else None
            name, into = game or getattr(activity, "state", None), streamed
        else:
            continue
        name = name.strip() if isinstance(name, str) else ""
        if name and name not in playing and name not in streamed:
            into.append(name)
    return playing + streamed


def presence_event(
    before: discord.Member, after: discord.Member, *, at: float
) -> PresenceEvent | None:
    """A person's presence change; `activity`: the game they started just now, if any."""
    if after.bot:
        return None
    online = after.status is not discord.Status.offline
    started = None
    if online:
        had = set(games(before))
        started = next((g for g in games(after) if g not in had), None)
    return PresenceEvent(after.guild.id, after.id, at, online, started)


def join_event(member: discord.Member, *, at: float) -> MemberJoinEvent | None:
    """A person joined (None for a bot: no one to talk to)."""
    if member.bot:
        return None
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
