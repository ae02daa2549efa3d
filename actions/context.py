"""What one action round sees: the guild, the mood, the engine's decision, a short transcript.

An `ActionContext` lives for one round, in memory only. Nothing in it is persisted, logged or
exported: its `repr` shows counts, never message text. What actions want to say goes to `outbox` as
`OutgoingMessage` values; the runtime sends them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import msgspec

from actions.observer import UNOBSERVED
from actions.prompting import PromptPolicy
from engine.decision import Decision

if TYPE_CHECKING:
    from actions.budget import TokenBudget
    from actions.content import ContentWriter
    from actions.feeds import PostSource
    from actions.llm import LLMClient
    from actions.observer import ActionObserver

DEFAULT_MAX_MESSAGES = 20
"""How many recent messages a context keeps by default."""

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
"""The largest file a message may carry: Discord's upload limit for a bot (10 MiB)."""


class ChatMessage(msgspec.Struct, frozen=True):
    """One message of the recent transcript (in memory only).

    Parameters
    ----------
    author:
        Display name of the author.
    content:
        The text. Never logged: the `repr` shows only its length.
    at:
        Seconds since the epoch.
    message_id, author_id:
        Discord ids when known (``reply_to`` of an outgoing message refers to ``message_id``).
    is_bot:
        True for the bot's own messages; they never trigger keyword activation.
    """

    author: str
    content: str
    at: float = 0.0
    message_id: int | None = None
    author_id: int | None = None
    is_bot: bool = False

    def __repr__(self) -> str:
        return (
            f"ChatMessage(author={self.author!r}, content=<{len(self.content)} chars>, "
            f"at={self.at!r}, message_id={self.message_id!r})"
        )


class OutgoingMessage(msgspec.Struct, frozen=True, kw_only=True):
    """A message an action wants sent; the runtime sends it (it crosses Ray boundaries).

    Parameters
    ----------
    guild_id, channel_id:
        Where to send it.
    text:
        What to send (the bot's own words, never copied user content).
    action:
        The name of the action that produced it.
    reply_to:
        The id of the message answered, if any.
    kind:
        ``"text"``, ``"emoji"`` or ``"image"``.
    source:
        Who wrote the words: ``"llm"``, ``"template"`` or ``"plugin"`` (for counting).
    attachment, filename:
        A file uploaded with the message (an image, ``kind="image"``): its bytes and its name.
        `text` may then be empty. At most `MAX_ATTACHMENT_BYTES`.
    """

    guild_id: int
    channel_id: int
    text: str
    action: str
    reply_to: int | None = None
    kind: str = "text"
    source: str = "plugin"
    attachment: bytes | None = None
    filename: str = ""

    def __repr__(self) -> str:
        file = (
            f", attachment=<{len(self.attachment)} bytes {self.filename!r}>"
            if self.attachment
            else ""
        )
        return (
            f"OutgoingMessage(guild_id={self.guild_id!r}, channel_id={self.channel_id!r}, "
            f"text={self.text!r}, action={self.action!r}, reply_to={self.reply_to!r}, "
            f"kind={self.kind!r}, source={self.source!r}{file})"
        )


@dataclass(eq=False)
class ActionContext:
    """Everything an action may look at during one round, plus its outbox.

    Parameters
    ----------
    guild_id, channel_id:
        Where the round happens (the channel answers go to).
    mood:
        The guild's current mood name.
    messages:
        Recent messages, oldest first; only the last `max_messages` are kept.
    decision:
        The engine's `Decision` for this round, or None (e.g. the bot was addressed).
    llm:
        The `LLMClient` port, or None when no LLM is configured. The modifier passes it to
        `go_activate()` as ``llm_judge_model``.
    rng:
        The round's randomness (seed it in tests); actions never use the `random` module's globals.
    now:
        Seconds since the epoch; actions never read the clock. Defaults to the decision's time.
    bot_name, persona:
        Who the bot is: its display name and a persona description for prompts.
    addressed:
        True when someone addressed the bot: a mention, a reply to it, or its name said as a word
        (the source decides, e.g. with `actors.sources.discord.names.says_name`); activates
        `reply`.
    addressed_by:
        The id of the message that addressed the bot (the latest, when several did in one
        round), or None. `addressing_message` finds it in `messages`.
    config:
        Plugin configuration: action name -> settings dict, read with `BaseAction.get_config()`.
    writer, posts:
        Optional ports for built-in actions: a `ContentWriter` and a `PostSource`. Defaults are
        made on first use (templates only when `llm` is None).
    observer:
        Where the round's LLM requests, judge verdicts and template fallbacks are reported
        (`actions.observer.ActionObserver`; the runtime wires its metrics). Default: nowhere.
    budget:
        The round's token budget (`actions.budget.TokenBudget`; the runtime always sets one,
        counting the guild's tokens with or without a limit), or None (nothing counted): every
        LLM request of the round reserves its cost in it first (``ask_llm(..., budget=...)``).
    deadline:
        While `ActionModifier.execute()` runs an action: the event loop's time
        (``asyncio.get_running_loop().time()``) by which its messages should be queued, inside
        the execute budget; else None. The content writer's LLM requests end by then. An action
        that waits on something itself bounds it with ``asyncio.timeout_at(ctx.deadline)``.
    prompt:
        What an LLM prompt may carry of the chat (the guild's setting; `actions.prompting`):
        every prompt guildmind builds reads `messages` through a `PromptView` of it. `messages`
        themselves stay whole for local use (keyword activation, replies); a plugin that sends
        them anywhere should do the same.
    outbox:
        Messages the actions of this round want sent, in order.
    """

    guild_id: int
    channel_id: int
    mood: str
    messages: Any = ()
    decision: Decision | None = None
    llm: LLMClient | None = None
    rng: random.Random = field(default_factory=random.Random)
    now: float | None = None
    bot_name: str = "guildmind"
    persona: str = ""
    addressed: bool = False
    addressed_by: int | None = None
    config: dict[str, dict[str, Any]] = field(default_factory=dict)
    writer: ContentWriter | None = None
    posts: PostSource | None = None
    observer: ActionObserver = UNOBSERVED
    budget: TokenBudget | None = None
    deadline: float | None = None
    max_messages: int = DEFAULT_MAX_MESSAGES
    prompt: PromptPolicy = field(default_factory=PromptPolicy)
    outbox: list[OutgoingMessage] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.max_messages < 0:
            raise ValueError(f"max_messages must be >= 0, got {self.max_messages!r}.")
        msgs = tuple(self.messages)
        for m in msgs:
            if not isinstance(m, ChatMessage):
                raise TypeError(f"messages must hold ChatMessage values, got {type(m).__name__!r}.")
        self.messages = msgs[-self.max_messages :] if self.max_messages else ()
        if self.now is None:
            self.now = self.decision.at if self.decision is not None else 0.0
        self._folded: str | None = None
        self._plain: str | None = None

    def __repr__(self) -> str:
        return (
            f"ActionContext(guild_id={self.guild_id!r}, channel_id={self.channel_id!r}, "
            f"mood={self.mood!r}, messages=<{len(self.messages)}>, "
            f"decision={self.decision.action if self.decision else None!r}, "
            f"llm={'set' if self.llm is not None else None}, outbox=<{len(self.outbox)}>)"
        )

    def human_text(self, *, case_sensitive: bool = True) -> str:
        """The human messages of the transcript joined by newlines (cached; for matching only)."""
        if self._plain is None:
            self._plain = "\n".join(m.content for m in self.messages if not m.is_bot)
            self._folded = self._plain.casefold()
        return self._plain if case_sensitive else self._folded  # type: ignore[return-value]

    @property
    def last_message(self) -> ChatMessage | None:
        """The most recent human message, if any."""
        for m in reversed(self.messages):
            if not m.is_bot:
                return m
        return None

    @property
    def addressing_message(self) -> ChatMessage | None:
        """The message that addressed the bot (`addressed_by`), else the most recent human
        message: what a reply answers, even when others spoke after it."""
        if self.addressed_by is not None:
            for m in reversed(self.messages):
                if m.message_id == self.addressed_by:
                    return m
        return self.last_message

    def send(self, message: OutgoingMessage) -> None:
        """Append an outgoing message to the outbox (the runtime sends it)."""
        self.outbox.append(message)
