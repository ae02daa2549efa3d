"""The fast ingest path: a plain MESSAGE_CREATE straight from the gateway frame to guildmind.

discord.py turns every gateway frame into Python objects before anyone sees it: `json.loads`
builds a dict of the whole frame, the parser builds a `Message`, a `Member` or `User` for its
author, lists of mentions, attachments and embeds, and `dispatch` schedules a task per event.
For the most frequent event, a member's message, that costs ~100 µs of a gateway's one core,
the ingest ceiling of a gateway process (issue 14). guildmind needs six ids and flags, the
author's display name and the text.

`FastPath.take(ws, frame)` runs in the shard's read loop (`frames.guard`), before discord.py
reads the frame. It decodes the frame with msgspec into typed structs (unknown fields ignored)
and, for a MESSAGE_CREATE that is *plain*, hands guildmind's `MessageEvent` and transcript
`Line` to the source, advances the shard's sequence number and heartbeat clock as discord.py
would, and returns True. Anything else returns False, having changed nothing, and discord.py
reads the frame as before (its parser guarded by the source): every other event, and every
message that is not plain, so the rules for those live in one place (`normalise`):

- a frame msgspec cannot decode into the types below (a malformed payload, a lone surrogate,
  an id that is no snowflake string, a sequence number that is none): discord.py decides, and
  a payload it refuses is counted malformed exactly as before;
- a message of a guild discord.py does not know (counted there), a direct message;
- a message that is not what someone wrote plainly: any type but those discord.py's
  `Message.is_system()` calls written (default, reply, commands) other than a thread's starter
  and a poll's result (`normalise.is_conversation`), a crosspost, one by Discord's system user;
- a message whose text or fields need discord.py's models to read: a reply, a forward
  (`message_reference`, `message_snapshots`), a webhook's, a command's (`interaction…`), one
  with mentions, role mentions, `<…>` markup or an @ in its text (`clean_content` writes names
  in), with attachments, embeds, stickers, components, a poll, a thread or an application;
- while discord.py waits for an event of its own (`wait_for`-style dispatch listeners).

What the fast path sees is what the slow path would have made of the same payload: the same
event, the same line (the text is `clean_content`, which for a plain text without `<` or `@` is
the text), the same counts. The tests send each kind through both (tests/actors/discord/
test_discord_fast.py). Not built: the `Message`, its author's `Member` and `User` (discord.py
would update a cached member's roles and nickname from the message: guildmind reads neither
from the cache for a plain message), and no task per event.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import TYPE_CHECKING, Annotated, Any

import discord
import msgspec

from actors.routing.wire import Line
from actors.sources.discord.names import says_name
from engine import MessageEvent

if TYPE_CHECKING:
    from actors.sources.discord.source import DiscordSource

__all__ = ["WRITTEN_TYPES", "FastPath", "PlainMessage"]

Id = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{1,20}$")]
"""A snowflake as Discord writes it (a decimal string); anything else goes to discord.py."""
Seq = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
_UNSET: Any = msgspec.UNSET


class _Envelope(msgspec.Struct):
    op: int
    t: str | None = None
    s: Seq | None = None
    d: msgspec.Raw = msgspec.Raw(b"null")


class _Author(msgspec.Struct):
    # what discord.py's `User._update` requires (a KeyError else), and what guildmind reads
    id: Id
    username: str
    discriminator: str
    avatar: str | None
    global_name: str | None = None
    bot: bool = False
    system: bool = False


class _Member(msgspec.Struct):
    roles: list[Id]  # discord.py requires them (`Member._update_from_message`)
    nick: str | None = None


class PlainMessage(msgspec.Struct):
    """The fields of a MESSAGE_CREATE payload the fast path reads or must see absent."""

    id: Id
    channel_id: Id
    type: int
    content: str
    author: _Author
    guild_id: Id | None = None
    member: _Member | None = None
    flags: int = 0
    # present (any value), or a list that is not empty: not plain
    mentions: list[msgspec.Raw] = []
    mention_roles: list[msgspec.Raw] = []
    attachments: list[msgspec.Raw] = []
    embeds: list[msgspec.Raw] = []
    components: list[msgspec.Raw] = []
    sticker_items: list[msgspec.Raw] = []
    reactions: list[msgspec.Raw] = []
    message_snapshots: msgspec.Raw | None = _UNSET
    message_reference: msgspec.Raw | None = _UNSET
    referenced_message: msgspec.Raw | None = _UNSET
    webhook_id: msgspec.Raw | None = _UNSET
    application_id: msgspec.Raw | None = _UNSET
    application: msgspec.Raw | None = _UNSET
    interaction: msgspec.Raw | None = _UNSET
    interaction_metadata: msgspec.Raw | None = _UNSET
    thread: msgspec.Raw | None = _UNSET
    poll: msgspec.Raw | None = _UNSET
    call: msgspec.Raw | None = _UNSET
    activity: msgspec.Raw | None = _UNSET
    role_subscription_data: msgspec.Raw | None = _UNSET
    purchase_notification: msgspec.Raw | None = _UNSET

    def plain(self) -> bool:
        """True when discord.py's models add nothing guildmind reads (see the module)."""
        return (
            self.type in WRITTEN_TYPES
            and self.member is not None  # else discord.py names the author from its cache
            and not self.flags & _CROSSPOSTED
            and not self.author.system
            and "<" not in self.content
            and "@" not in self.content
            and not (self.mentions or self.mention_roles or self.attachments or self.embeds)
            and not (self.components or self.sticker_items or self.reactions)
            and self.message_snapshots is _UNSET
            and self.message_reference is _UNSET
            and self.referenced_message is _UNSET
            and self.webhook_id is _UNSET
            and self.application_id is _UNSET
            and self.application is _UNSET
            and self.interaction is _UNSET
            and self.interaction_metadata is _UNSET
            and self.thread is _UNSET
            and self.poll is _UNSET
            and self.call is _UNSET
            and self.activity is _UNSET
            and self.role_subscription_data is _UNSET
            and self.purchase_notification is _UNSET
        )


def _written_types() -> frozenset[int]:
    # discord.py's own notion (`Message.is_system` reads only the type), less what
    # `normalise.is_conversation` also refuses; a reply always carries its reference
    from actors.sources.discord.normalise import _NOT_WRITTEN

    return frozenset(
        t.value
        for t in discord.MessageType
        if not discord.Message.is_system(SimpleNamespace(type=t))  # type: ignore[arg-type]
        and t not in _NOT_WRITTEN
    )


WRITTEN_TYPES = _written_types()
"""Message types someone writes (discord.py's `Message.is_system()` is False): 0, 19, 20, 23."""
_CROSSPOSTED = discord.MessageFlags(crossposted=True).value
_DISPATCH = 0
_UNREAD = (msgspec.DecodeError, msgspec.ValidationError, RecursionError)  # discord.py decides
_decode_envelope = msgspec.json.Decoder(_Envelope).decode
_decode_message = msgspec.json.Decoder(PlainMessage).decode


class FastPath:
    """Takes the plain messages of a source's shards off discord.py's hands.

    `source`: the `DiscordSource` whose rules (where the bot lives, its names, its id) and
    `offer` the messages go to; `guilds`: discord.py's guilds by id (`ConnectionState._guilds`),
    read to tell a known guild. `taken` counts the frames it took.
    """

    def __init__(self, source: DiscordSource, guilds: dict[int, Any]) -> None:
        self.source = source
        self.guilds = guilds
        self.taken = 0

    def take(self, ws: Any, frame: str | bytes) -> bool:
        """Handle `frame` (a shard's inflated frame) if it is a plain message; else False."""
        try:
            env = _decode_envelope(frame)
        except _UNREAD:
            return False
        if env.op != _DISPATCH or env.t != "MESSAGE_CREATE" or ws._dispatch_listeners:
            return False
        try:
            message = _decode_message(env.d)
        except _UNREAD:
            return False
        if message.guild_id is None or not message.plain():
            return False
        guild_id = int(message.guild_id)
        if guild_id not in self.guilds:
            return False
        # taken: what discord.py's read loop does for every frame it reads
        if env.s is not None:
            ws.sequence = env.s
        if ws._keep_alive:
            ws._keep_alive.tick()
        self.taken += 1
        source = self.source
        try:
            self._message(message, guild_id)
        except Exception as e:  # as a handler's failure on the slow path: counted, skipped
            source.handler_failed("message", e)
        return True

    def _message(self, m: PlainMessage, guild_id: int) -> None:
        source, author = self.source, m.author
        author_id = int(author.id)
        nick = m.member.nick if m.member is not None else None
        # the author as discord.py's `Message.author`: its cached member when it has one (whose
        # nickname the message updates), else the payload's
        cached = self.guilds[guild_id]._members.get(author_id)
        if cached is not None:
            cached.nick = nick
            user = cached._user
            bot, name = user.bot, nick or user.global_name or user.name  # `display_name`
        else:
            bot, name = author.bot, nick or author.global_name or author.username
        channel_id = int(m.channel_id)
        autonomous = source.autonomous(guild_id, channel_id)
        # no mention, no reply: only its name calls the bot, where it lives (`addresses_bot`)
        names = source.names if autonomous else ()
        addressed = bool(names) and not bot and says_name(m.content, names)
        if not (autonomous or addressed):
            return
        event = MessageEvent(
            guild_id, channel_id, author_id, source.clock.now(), bot or author_id == source.bot_id,
            addressed,
        )  # fmt: skip
        source.counts["messages"] += 1
        source.offer(
            event,
            Line(guild_id, channel_id, int(m.id), author_id, name, m.content, event.at, addressed),
        )
