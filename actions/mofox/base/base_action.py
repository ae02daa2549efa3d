"""MoFox's `BaseAction` on guildmind: a guildmind action with MoFox's attributes and methods.

A MoFox action is a guildmind `actions.BaseAction`: the modifier runs its ``go_activate()``, the
planner may choose it, and its ``execute()`` queues messages in the round's outbox. On top of
guildmind's API it has what MoFox's actions use:

- instance attributes: ``action_data`` (its ``action_parameters`` filled by the round's LLM,
  `actions.mofox.parameters`), ``reasoning``, ``chat_stream``, ``chat_id``,
  ``platform``, ``action_message``, ``group_id``, ``user_id``, ``user_nickname``, ``is_group``,
  ``log_prefix``, ``plugin_config``, ...;
- the activation helpers with MoFox's signatures: ``_llm_judge_activation()`` without a prompt
  asks about the action's description and requirements; ``_keyword_match(chat_content, ...)``
  of the guide's first version;
- the legacy two-mode fields ``focus_activation_type`` / ``normal_activation_type``, and
  ``mode_enable`` / ``chat_type_allow`` (see `actions.mofox.chat.round_modes`);
- the old ``go_activate(self, chat_content, llm_judge_model)`` form;
- MoFox's send methods, each mapped to a Discord post (a sticker or an image is uploaded) or
  refused (see `send_custom`): a refusal returns False, is logged, is reported to the round's
  observer (the runtime counts it), and an ``execute()`` that sent nothing but was refused
  something reports a failure naming it.

Classes are checked when they are defined (guildmind's checks, plus MoFox's own attributes).
"""

from __future__ import annotations

import functools
import inspect
import logging
import types
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from actions.base import BaseAction as _GuildmindAction
from actions.context import MAX_ATTACHMENT_BYTES, OutgoingMessage
from actions.mofox import chat
from actions.mofox._current import CURRENT_ACTION
from actions.mofox.base.component_types import (
    ActionActivationType,
    ActionInfo,
    ChatMode,
    ChatType,
    ComponentType,
)
from actions.mofox.parameters import fill_parameters
from actions.words import says

if TYPE_CHECKING:
    from actions.context import ActionContext
    from actions.llm import LLMClient

__all__ = ["ActionActivationType", "BaseAction", "ChatMode", "ChatType"]

logger = logging.getLogger(__name__)

DEFAULT_JUDGE_QUESTION = (
    "Given what this action does and when it should be used, should it be used now?"
)
"""The judge's question when a MoFox action asks without a prompt (MoFox then asks about the
action's description and requirements only)."""

_MOFOX_TYPES: tuple[tuple[str, type | tuple[type, ...]], ...] = (
    ("focus_activation_type", ActionActivationType),
    ("normal_activation_type", ActionActivationType),
    ("mode_enable", ChatMode),
    ("chat_type_allow", ChatType),
    ("parallel_action", bool),
    ("associated_types", (list, tuple)),
    ("is_two_step_action", bool),
    ("step_one_description", str),
    ("sub_actions", (list, tuple)),
)


def _declared(cls: type, attr: str) -> bool:
    """Whether a class below `BaseAction` (the plugin's own) sets `attr`."""
    for klass in cls.__mro__:
        if klass is BaseAction:
            return False
        if attr in vars(klass):
            return True
    return False


def _takes_chat_content(fn: Callable[..., Any]) -> bool:
    """The guide's first form: ``go_activate(self, chat_content, llm_judge_model=None)``."""
    params = list(inspect.signature(fn).parameters.values())[1:]
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if not positional:
        return False
    return positional[0].name == "chat_content" or (
        len(positional) >= 2 and positional[1].name == "llm_judge_model"
    )


def _unwrapped(fn: object) -> bool:
    return inspect.iscoroutinefunction(fn) and not getattr(fn, "__mofox_wrapped__", False)


def _activation(fn: Callable[..., Awaitable[bool]], old_form: bool) -> Callable[..., Any]:
    """Wrap a MoFox action's own ``go_activate``: not offered where its mode or chat type rules
    it out, and called with the transcript first when it has the old signature."""

    @functools.wraps(fn)
    async def go_activate(self: BaseAction, llm_judge_model: LLMClient | None = None) -> bool:
        if not self.offered_here():
            return False
        if old_form:
            return await fn(self, self.chat_content, llm_judge_model)
        return await fn(self, llm_judge_model)

    go_activate.__mofox_wrapped__ = True  # type: ignore[attr-defined]
    return go_activate


def _execution(fn: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
    """Wrap a MoFox action's own ``execute``: its result read as MoFox reads it, and what was
    refused on Discord reported in it (a failure when nothing was sent)."""

    @functools.wraps(fn)
    async def execute(self: BaseAction) -> tuple[bool, str]:
        if self._executing:  # a subclass's execute() calling super().execute(): the outer reads
            return await fn(self)
        outbox = self.ctx.outbox
        before = len(outbox)
        # execute() runs in a task of its own (the modifier's): set and reset in one context
        token = CURRENT_ACTION.set(self)
        self._executing = True
        try:
            await self.fill_action_data()
            result = await fn(self)
        finally:
            self._executing = False
            CURRENT_ACTION.reset(token)
        if isinstance(result, tuple):
            ok, reason = (
                (bool(result[0]) if result else False),
                (str(result[1]) if len(result) > 1 and result[1] is not None else ""),
            )
        elif isinstance(result, bool):
            ok, reason = result, ""
        else:
            ok, reason = False, f"execute() returned {type(result).__name__}, expected a tuple"
        if self.refused:
            sent = any(m.action == self.action_name for m in outbox[before:])
            note = "not supported on Discord: " + ", ".join(self.refused)
            reason = f"{reason}; {note}" if reason else note
            ok = ok and sent
        return ok, reason

    execute.__mofox_wrapped__ = True  # type: ignore[attr-defined]
    return execute


class BaseAction(_GuildmindAction):
    """A MoFox action (``from actions.mofox import BaseAction``).

    Set MoFox's class attributes (``action_name``, ``action_description``, ``action_require``,
    ``action_parameters``, ``activation_type`` and the other legacy fields, ``mode_enable``,
    ``chat_type_allow``, ...) and define ``async def execute(self)``; override
    ``go_activate()`` for custom activation. guildmind's ``priority`` also applies (the rule
    planner's choice among activated actions: built-ins use 10 and 20).

    Raises
    ------
    TypeError, ValueError
        At class definition, for guildmind's checks and for a MoFox attribute of the wrong type.
    """

    focus_activation_type: ClassVar[ActionActivationType] = ActionActivationType.ALWAYS
    normal_activation_type: ClassVar[ActionActivationType] = ActionActivationType.ALWAYS
    mode_enable: ClassVar[ChatMode] = ChatMode.ALL
    chat_type_allow: ClassVar[ChatType] = ChatType.ALL
    parallel_action: ClassVar[bool] = True
    associated_types: ClassVar[list[str]] = []
    is_two_step_action: ClassVar[bool] = False
    step_one_description: ClassVar[str] = ""
    sub_actions: ClassVar[list[tuple[str, str, dict[str, str]]]] = []

    mofox_plugin_name: ClassVar[str] = ""
    """The plugin that registered this class (set by the loader)."""
    mofox_plugin_config: ClassVar[Mapping[str, Any]] = types.MappingProxyType({})
    """The plugin's configuration, read by `get_config()` (set by the loader)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # The plugin's own methods are wrapped (async ones only: guildmind's check below names
        # a plain 'def'), so every MoFox action gets the mode gate and the refusal report.
        activate, execute = vars(cls).get("go_activate"), vars(cls).get("execute")
        if _unwrapped(activate):
            cls.go_activate = _activation(activate, _takes_chat_content(activate))  # type: ignore[method-assign,arg-type]
        if _unwrapped(execute):
            cls.execute = _execution(execute)  # type: ignore[method-assign,arg-type]
        super().__init_subclass__(**kwargs)
        for attr, typ in _MOFOX_TYPES:
            value = getattr(cls, attr)
            if not isinstance(value, typ):
                expected = typ.__name__ if isinstance(typ, type) else typ[0].__name__
                raise TypeError(
                    f"{cls.__qualname__!r}.{attr} has the wrong type: got {value!r}, "
                    f"expected {expected}."
                )
        if "." in cls.action_name and not cls.mofox_plugin_name:
            raise ValueError(
                f"{cls.__qualname__!r}.action_name {cls.action_name!r} contains '.'; MoFox "
                "action names use '_' instead."
            )

    def __init__(self, ctx: ActionContext, **_mofox: Any) -> None:
        super().__init__(ctx)
        self.refused: list[str] = []
        """What this action asked for and Discord cannot do, this round."""
        self._executing = False
        self._chat_content: str | None = None
        decision = ctx.decision
        self.reasoning: str = (
            decision.reason if decision is not None else "addressed" if ctx.addressed else ""
        )
        self.action_data: dict[str, Any] = {
            "reason": self.reasoning,
            "loop_start_time": ctx.now,
        }
        self.cycle_timers: dict[str, float] = {}
        self.thinking_id: str = ""
        self.log_prefix: str = f"[{self.action_name}]"
        self.plugin_config: Mapping[str, Any] = type(self).mofox_plugin_config
        self.chat_stream = chat.chat_stream(ctx)
        self.chat_id: str = self.chat_stream.stream_id
        self.platform: str = chat.PLATFORM
        self.action_message: dict[str, Any] = chat.action_message(ctx)
        self.has_action_message: bool = bool(self.action_message)
        self.group_id: str | None = str(ctx.guild_id)
        self.group_name: str | None = None
        self.user_id: str | None = self.action_message.get("user_id")
        self.user_nickname: str | None = self.action_message.get("user_nickname")
        self.is_group: bool = True
        self.target_id: str | None = self.group_id

    # -- what go_activate() uses --------------------------------------------------------------

    @property
    def chat_content(self) -> str:
        """The recent messages as MoFox's chat content (``author: text`` lines)."""
        if self._chat_content is None:
            self._chat_content = chat.transcript(self.ctx)
        return self._chat_content

    def offered_here(self) -> bool:
        """Whether ``mode_enable`` and ``chat_type_allow`` allow this round at all."""
        return chat.offered_here(self.mode_enable, self.chat_type_allow, self.ctx)

    def is_chat_type_allowed(self) -> bool:
        """MoFox's check: a guild channel is a group chat."""
        return self.chat_type_allow is not ChatType.PRIVATE

    def legacy_activation_type(self) -> ActionActivationType:
        """The legacy type that applies this round: ``activation_type`` when the class sets it;
        else ``focus_activation_type`` in a round where the bot was addressed and
        ``normal_activation_type`` in any other (only one of them set: that one, always)."""
        cls = type(self)
        if _declared(cls, "activation_type"):
            return self.activation_type
        focus, normal = (
            _declared(cls, "focus_activation_type"),
            _declared(cls, "normal_activation_type"),
        )
        if focus and not normal:
            return self.focus_activation_type
        if normal and not focus:
            return self.normal_activation_type
        return self.focus_activation_type if self.ctx.addressed else self.normal_activation_type

    async def go_activate(self, llm_judge_model: LLMClient | None = None) -> bool:
        """MoFox's default: the legacy fields, with the two-mode types read per round."""
        if not self.offered_here():
            return False
        return await self._activate_as(self.legacy_activation_type(), llm_judge_model)

    async def _keyword_match(self, *args: Any, **kwargs: Any) -> bool:  # type: ignore[override]
        """``_keyword_match(keywords, case_sensitive=False)``, or the guide's first form
        ``_keyword_match(chat_content, keywords, case_sensitive=False)``.

        The round's own transcript (``chat_content`` as passed to an old-form ``go_activate``)
        is matched as guildmind matches it (recent human messages); other text given is matched
        with the same word rules (`actions.words.says`).
        """
        content = kwargs.pop("chat_content", None)
        if "keywords" in kwargs:
            keywords = kwargs.pop("keywords")
            if args and isinstance(args[0], str) and content is None:
                content, args = args[0], args[1:]
        elif len(args) >= 2 and isinstance(args[0], str) and isinstance(args[1], list | tuple):
            content, keywords, args = args[0], args[1], args[2:]
        elif args:
            keywords, args = args[0], args[1:]
        else:
            raise TypeError("_keyword_match() needs the keywords to look for.")
        case_sensitive = bool(kwargs.pop("case_sensitive", args[0] if args else False))
        if kwargs:
            raise TypeError(f"_keyword_match() got unexpected arguments {sorted(kwargs)!r}.")
        if content is None or content == self.chat_content:
            return await super()._keyword_match(keywords, case_sensitive)
        keys = [keywords] if isinstance(keywords, str) else list(keywords)
        return says(content, keys, case_sensitive=case_sensitive)

    async def _llm_judge_activation(  # type: ignore[override]
        self,
        judge_prompt: str = "",
        llm_judge_model: LLMClient | None = None,
        action_description: str = "",
        action_require: list[str] | None = None,
        *,
        chat_content: str | None = None,
    ) -> bool:
        """MoFox's signature: every argument optional. Without a prompt the judge is asked
        about the action's description and requirements alone (`DEFAULT_JUDGE_QUESTION`);
        ``chat_content`` is accepted and not needed (the judge reads the round's transcript)."""
        return await super()._llm_judge_activation(
            judge_prompt if judge_prompt and judge_prompt.strip() else DEFAULT_JUDGE_QUESTION,
            llm_judge_model,
            action_description or None,
            action_require,
        )

    # -- what execute() uses ------------------------------------------------------------------

    async def fill_action_data(self) -> None:
        """Put the declared ``action_parameters`` into ``action_data``, as MoFox's planner does:
        asked of the round's LLM (`actions.mofox.parameters`); none without one. Called before
        ``execute()``; parameters already in ``action_data`` are kept."""
        wanted = {k: v for k, v in self.action_parameters.items() if k not in self.action_data}
        if wanted:
            found = await fill_parameters(
                self.ctx, self.action_name, self.action_description, self.reasoning, wanted
            )
            self.action_data.update(found)

    def get_config(self, key: str | None = None, default: Any = None) -> Any:
        """The plugin's configuration (its ``config.toml`` over its schema's defaults), or one
        key of it by dotted path: ``get_config("components.enable_emoji", True)``."""
        section: Any = self.plugin_config
        if key is None:
            return section
        for part in key.split("."):
            if not isinstance(section, Mapping) or part not in section:
                return default
            section = section[part]
        return section

    def refuse(self, what: str, why: str, feature: str | None = None) -> bool:
        """Record that `what` cannot be done on Discord: logged, reported to the round's
        observer as `feature` (default: `what` up to its parenthesis; the runtime counts it)
        and named in ``execute()``'s result; returns False, as MoFox's send methods do when a
        send fails."""
        self.refused.append(what)
        self.ctx.observer.unsupported(self.action_name, feature or what.split("(", 1)[0])
        logger.warning(
            "%s %s is not supported on Discord (%s); nothing was sent for it",
            self.log_prefix, what, why,
        )  # fmt: skip
        return False

    def _queue(
        self,
        text: str,
        kind: str,
        reply_to: int | None = None,
        attachment: bytes | None = None,
        filename: str = "",
    ) -> bool:
        self.ctx.send(
            OutgoingMessage(
                guild_id=self.ctx.guild_id, channel_id=self.ctx.channel_id, text=text,
                action=self.action_name, reply_to=reply_to, kind=kind, source="plugin",
                attachment=attachment, filename=filename,
            )
        )  # fmt: skip
        return True

    def _upload(self, what: str, payload: object, name: str) -> bool:
        image = chat.image_kind(payload) if isinstance(payload, str) else None
        if image is None:
            return self.refuse(what, "not a base64 PNG, GIF, JPEG or WebP image")
        data, ext = image
        if len(data) > MAX_ATTACHMENT_BYTES:
            return self.refuse(what, f"{len(data)} bytes, over Discord's upload limit")
        return self._queue("", "image", attachment=data, filename=f"{name}.{ext}")

    async def send_text(  # type: ignore[override]
        self,
        content: str,
        reply_to: str | int | dict[str, Any] | None = "",
        typing: bool = False,
        *,
        reply_to_message: dict[str, Any] | None = None,
        set_reply: bool = True,
        storage_message: bool = True,
        source: str = "plugin",
    ) -> bool:
        """Post `content` in the round's channel; False when it is empty.

        ``reply_to`` (MoFox's ``"sender:text"``, ``"sender(user id)"``, a message id) or
        ``reply_to_message`` (a message dict) makes it a Discord reply to that message of the
        transcript; when none matches it is posted as a plain message (and logged). ``typing``
        and ``storage_message`` are accepted and change nothing (no typing indicator; guildmind
        stores no message).
        """
        if not isinstance(content, str) or not content.strip():
            return False
        target = None
        wanted = reply_to_message if reply_to_message else reply_to
        if set_reply and wanted not in (None, "", 0):
            target = chat.reply_target(self.ctx, wanted)
            if target is None:
                logger.warning(
                    "%s reply_to names no message of the recent transcript; posted as a plain "
                    "message", self.log_prefix,
                )  # fmt: skip
        return self._queue(content, "text", target)

    async def send_emoji(self, emoji_base64: str) -> bool:
        """Post an emoji. MoFox's sticker (a base64 PNG, GIF, JPEG or WebP image) is uploaded
        as an image (``sticker.png``, ...); Unicode emoji or Discord's ``<:name:id>`` markup
        is posted as it is. Anything else is refused, counted."""
        if not isinstance(emoji_base64, str) or not emoji_base64.strip():
            return False
        text = emoji_base64.strip()
        if chat.is_emoji(text):
            return self._queue(text, "emoji")
        return self._upload("send_emoji", text, "sticker")

    async def send_image(self, image_base64: str) -> bool:
        """Upload a base64 image (PNG, GIF, JPEG or WebP) as ``image.<ext>``; anything else,
        or an image over Discord's 10 MiB, is refused, counted."""
        return self._upload("send_image", image_base64, "image")

    async def send_custom(
        self,
        message_type: str,
        content: str,
        typing: bool = False,
        reply_to: str | int | dict[str, Any] | None = "",
        **_kw: Any,
    ) -> bool:
        """MoFox's typed send: ``"text"`` is `send_text`, ``"emoji"`` `send_emoji`, ``"image"``
        `send_image`; any other type (``"voice"``, ``"tts_text"``, ``"video"``, ``"file"``,
        ...) has no Discord post here: refused, counted."""
        if message_type == "text":
            return await self.send_text(content, reply_to, typing)
        if message_type == "emoji":
            return await self.send_emoji(content)
        if message_type == "image":
            return await self.send_image(content)
        return self.refuse(f"send_custom({message_type!r})", "no such Discord message")

    async def send_command(
        self,
        command_name: str,
        args: dict[str, Any] | None = None,
        display_message: str = "",
        storage_message: bool = True,
    ) -> bool:
        """MoFox's adapter commands (QQ's poke, emoji-like, mute, ...): refused, counted."""
        return self.refuse(f"send_command({command_name!r})", "an adapter command of QQ")

    async def store_action_info(
        self,
        action_build_into_prompt: bool = False,
        action_prompt_display: str = "",
        action_done: bool = True,
    ) -> None:
        """Accepted and not stored: the engine records the action itself, and guildmind keeps
        no message or prompt history."""

    async def wait_for_new_message(self, timeout: int = 1200) -> tuple[bool, str]:
        """Refused: an action never waits for the chat (the round has a budget)."""
        self.refuse("wait_for_new_message", "an action cannot wait for the chat")
        return False, "wait_for_new_message is not supported on guildmind"

    async def call_action(
        self, action_name: str, action_data: dict[str, Any] | None = None
    ) -> tuple[bool, str]:
        """Refused: an action does not run another (the planner picks one per round)."""
        self.refuse(f"call_action({action_name!r})", "one action runs per round")
        return False, "call_action is not supported on guildmind"

    async def handle_action(self) -> tuple[bool, str]:
        """The old name of ``execute()``."""
        return await self.execute()

    @classmethod
    def get_action_info(cls) -> ActionInfo:
        """This class as MoFox's `ActionInfo` (what a plugin lists in its components)."""
        name = cls.action_name or cls.__name__.lower().replace("action", "")
        if "." in name and not cls.mofox_plugin_name:
            raise ValueError(
                f"{cls.__qualname__!r}.action_name {name!r} contains '.'; use '_' instead."
            )
        return ActionInfo(
            name=name,
            component_type=ComponentType.ACTION,
            description=cls.action_description or "Action",
            focus_activation_type=cls.focus_activation_type,
            normal_activation_type=cls.normal_activation_type,
            activation_type=cls.activation_type
            if _declared(cls, "activation_type")
            else cls.focus_activation_type,
            activation_keywords=list(cls.activation_keywords),
            keyword_case_sensitive=cls.keyword_case_sensitive,
            mode_enable=cls.mode_enable,
            parallel_action=cls.parallel_action,
            random_activation_probability=cls.random_activation_probability,
            llm_judge_prompt=cls.llm_judge_prompt,
            action_parameters=dict(cls.action_parameters),
            action_require=list(cls.action_require),
            associated_types=list(cls.associated_types),
            chat_type_allow=cls.chat_type_allow,
            is_two_step_action=cls.is_two_step_action,
            step_one_description=cls.step_one_description,
            sub_actions=list(cls.sub_actions),
        )
