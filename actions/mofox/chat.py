"""What a MoFox action sees of the chat, built from guildmind's `ActionContext`.

MoFox hands an action a ``chat_stream`` (the conversation), an ``action_message`` (the message it
answers) and ``action_data`` (the planner's parameters). On guildmind the conversation is one
channel of one Discord guild (a group chat), the message is the latest human message of the
round's transcript, and nothing fills the parameters (guildmind's planner picks an action, it
does not fill its parameters). Ids are strings, as in MoFox.

Also here: which message a MoFox ``reply_to`` names, and what `send_emoji`'s argument is.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from actions.mofox.base.component_types import ChatMode, ChatType

if TYPE_CHECKING:
    from actions.context import ActionContext

PLATFORM = "discord"


def _missing(owner: str, name: str) -> AttributeError:
    return AttributeError(
        f"MoFox's {owner}.{name} is not available on guildmind: an action sees the chat through "
        f"self.chat_stream (stream_id, platform, group_info, user_info), self.action_message "
        f"and self.ctx (the round's ActionContext)."
    )


@dataclass(frozen=True)
class GroupInfo:
    """The guild, as MoFox's group: ``group_id`` is the guild id (a string)."""

    group_id: str
    group_name: str | None = None
    platform: str = PLATFORM


@dataclass(frozen=True)
class UserInfo:
    """A member, as MoFox's user: ``user_id`` is the Discord user id (a string)."""

    user_id: str
    user_nickname: str
    platform: str = PLATFORM
    user_cardname: str | None = None


@dataclass(frozen=True)
class ChatStream:
    """The round's channel, as MoFox's chat stream.

    ``stream_id`` is ``"discord:<guild>:<channel>"``; ``user_info`` is the author of the latest
    human message (None when there is none). Anything else MoFox's stream has (its context
    manager, its message history) is an `AttributeError` that says so.
    """

    stream_id: str
    platform: str
    group_info: GroupInfo | None
    user_info: UserInfo | None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise _missing("ChatStream", name)


def chat_stream(ctx: ActionContext) -> ChatStream:
    last = ctx.addressing_message
    user = None
    if last is not None:
        user = UserInfo(str(last.author_id or ""), last.author)
    return ChatStream(
        stream_id=f"{PLATFORM}:{ctx.guild_id}:{ctx.channel_id}",
        platform=PLATFORM,
        group_info=GroupInfo(str(ctx.guild_id)),
        user_info=user,
    )


def action_message(ctx: ActionContext) -> dict[str, Any]:
    """The message the round answers (the one that addressed the bot, else the latest human
    message) as MoFox's message dict, or {} when there is none."""
    last = ctx.addressing_message
    if last is None:
        return {}
    return {
        "message_id": str(last.message_id or ""),
        "time": last.at,
        "user_id": str(last.author_id or ""),
        "user_nickname": last.author,
        "user_platform": PLATFORM,
        "processed_plain_text": last.content,
        "display_message": last.content,
        "chat_info_group_id": str(ctx.guild_id),
        "chat_info_group_name": None,
        "chat_info_platform": PLATFORM,
        "chat_id": f"{PLATFORM}:{ctx.guild_id}:{ctx.channel_id}",
    }


def transcript(ctx: ActionContext) -> str:
    """The recent messages as MoFox's ``chat_content``: one ``author: text`` line each."""
    return "\n".join(f"{m.author}: {m.content}" for m in ctx.messages)


def round_modes(ctx: ActionContext) -> frozenset[ChatMode]:
    """The MoFox chat modes this round is in: FOCUS and PRIORITY when someone addressed the bot;
    NORMAL otherwise, and PROACTIVE as well when the engine decided to speak on its own."""
    if ctx.addressed:
        return frozenset({ChatMode.ALL, ChatMode.FOCUS, ChatMode.PRIORITY})
    modes = {ChatMode.ALL, ChatMode.NORMAL}
    if ctx.decision is not None:
        modes.add(ChatMode.PROACTIVE)
    return frozenset(modes)


def offered_here(mode_enable: ChatMode, chat_type_allow: ChatType, ctx: ActionContext) -> bool:
    """Whether an action with these MoFox settings may be offered in this round at all."""
    if chat_type_allow is ChatType.PRIVATE:  # a guild channel is a group chat
        return False
    return mode_enable in round_modes(ctx)


_NAME_ID = re.compile(r"^(?P<name>.*)\((?P<id>\d+)\)\s*$", re.S)
_SENDER = re.compile(r"^(?P<name>[^:：]+)[:：](?P<text>.*)$", re.S)


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def reply_target(ctx: ActionContext, reply_to: object) -> int | None:
    """The id of the message a MoFox ``reply_to`` names, among the round's messages.

    Accepted: a message id (int or digits); MoFox's ``"sender:text"`` (the sender's latest
    message whose text is, starts with or begins the given text); ``"sender(user id)"`` (that
    user's latest message); a MoFox message dict with a ``message_id``. None when nothing in the
    transcript matches.
    """
    if isinstance(reply_to, dict):
        reply_to = reply_to.get("message_id")
    if isinstance(reply_to, int) and not isinstance(reply_to, bool):
        return reply_to if reply_to > 0 else None
    if not isinstance(reply_to, str) or not reply_to.strip():
        return None
    text = reply_to.strip()
    if text.isdigit():
        return int(text)
    newest_first = [m for m in reversed(ctx.messages) if not m.is_bot and m.message_id]
    if m := _NAME_ID.match(text):
        uid = int(m["id"])
        return next((x.message_id for x in newest_first if x.author_id == uid), None)
    if m := _SENDER.match(text):
        name, said = _norm(m["name"]), _norm(m["text"])
        for x in newest_first:
            if _norm(x.author) != name:
                continue
            own = _norm(x.content)
            if not said or own == said or own.startswith(said) or (own and said.startswith(own)):
                return x.message_id
    return None


_CUSTOM_EMOJI = re.compile(r"<a?:[A-Za-z0-9_~]{2,32}:\d{15,21}>")
IMAGE_TYPES = {
    b"\x89PNG\r\n\x1a\n": "png",
    b"GIF87a": "gif",
    b"GIF89a": "gif",
    b"\xff\xd8\xff": "jpg",
}


def is_emoji(text: str) -> bool:
    """Whether `text` is emoji a bot can post as a message: Unicode emoji or symbols, Discord's
    custom emoji markup (``<:name:id>``), no words (at most 100 characters)."""
    if not text or len(text) > 100:
        return False
    rest = _CUSTOM_EMOJI.sub("", text)
    if not rest.strip():
        return True
    return any(unicodedata.category(c) == "So" for c in rest) and not any(
        unicodedata.category(c)[0] in "LN" for c in rest
    )


def image_kind(payload: str) -> tuple[bytes, str] | None:
    """The bytes and file extension of a base64 image (PNG, GIF, JPEG or WebP), or None."""
    raw = payload.strip()
    if raw.startswith("base64://"):  # the form MoFox's adapters also accept
        raw = raw[len("base64://") :]
    if raw.startswith("data:") and "," in raw:
        raw = raw.split(",", 1)[1]
    if len(raw) < 16:
        return None
    try:
        data = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        return None
    for magic, ext in IMAGE_TYPES.items():
        if data.startswith(magic):
            return data, ext
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return data, "webp"
    return None
