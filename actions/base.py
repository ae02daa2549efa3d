"""`BaseAction`: the plugin API of an action, its activation helpers, the legacy activation types.

An action is a class with declarative attributes and two async methods. `go_activate()` answers
"should I be offered this round?"; `execute()` does the action, putting what to say into the
context's outbox. Both read the round's `ActionContext` from ``self.ctx``. Classes are checked when
they are defined (async methods, attribute types); names are checked again when registered.
"""

from __future__ import annotations

import enum
import inspect
import logging
from typing import TYPE_CHECKING, Any, ClassVar

from actions.context import ActionContext, OutgoingMessage
from actions.judge import JudgeRequest, _JudgeRound, ask_judge
from actions.words import phrase_pattern, says

if TYPE_CHECKING:
    from actions.llm import LLMClient

logger = logging.getLogger(__name__)


class ActionActivationType(enum.Enum):
    """The legacy activation types, honoured by the default `BaseAction.go_activate()`."""

    ALWAYS = "always"
    NEVER = "never"
    RANDOM = "random"
    KEYWORD = "keyword"
    LLM_JUDGE = "llm_judge"


class BaseAction:
    """Base class of every action, built-in or plugin.

    Subclasses set `action_name` (unique, required to register) and override `execute()`; they
    override `go_activate()` for custom activation, or set the legacy fields (`activation_type`,
    `random_activation_probability`, `activation_keywords`, `keyword_case_sensitive`,
    `llm_judge_prompt`) and keep the default.

    Parameters
    ----------
    ctx:
        The round's `ActionContext`.

    Raises
    ------
    TypeError
        At class definition, when `go_activate`/`execute` is not ``async def`` or an attribute has
        the wrong type.
    """

    action_name: ClassVar[str] = ""
    action_description: ClassVar[str] = ""
    action_require: ClassVar[list[str]] = []
    action_parameters: ClassVar[dict[str, str]] = {}
    priority: ClassVar[int] = 0
    activation_type: ClassVar[ActionActivationType] = ActionActivationType.ALWAYS
    random_activation_probability: ClassVar[float] = 0.0
    activation_keywords: ClassVar[list[str]] = []
    keyword_case_sensitive: ClassVar[bool] = False
    llm_judge_prompt: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for meth in ("go_activate", "execute"):
            if not inspect.iscoroutinefunction(getattr(cls, meth)):
                raise TypeError(
                    f"{cls.__qualname__!r}.{meth} must be an 'async def' method; "
                    f"define it as 'async def {meth}(self, ...)'."
                )
        checks: list[tuple[str, type | tuple[type, ...]]] = [
            ("action_name", str),
            ("action_description", str),
            ("action_require", (list, tuple)),
            ("action_parameters", dict),
            ("activation_type", ActionActivationType),
            ("activation_keywords", (list, tuple)),
            ("keyword_case_sensitive", bool),
            ("llm_judge_prompt", str),
            ("random_activation_probability", (int, float)),
        ]
        for attr, typ in checks:
            value = getattr(cls, attr)
            if not isinstance(value, typ):
                raise TypeError(
                    f"{cls.__qualname__!r}.{attr} has the wrong type: got {value!r}, "
                    f"expected {typ.__name__ if isinstance(typ, type) else typ[0].__name__}."
                )
        if isinstance(cls.priority, bool) or not isinstance(cls.priority, int):
            raise TypeError(f"{cls.__qualname__!r}.priority must be an int, got {cls.priority!r}.")
        if not 0.0 <= cls.random_activation_probability <= 1.0:
            raise ValueError(
                f"{cls.__qualname__!r}.random_activation_probability must be in [0, 1], "
                f"got {cls.random_activation_probability!r}."
            )

    def __init__(self, ctx: ActionContext) -> None:
        self.ctx = ctx
        self._judge_round: _JudgeRound | None = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} action_name={self.action_name!r}>"

    # -- the two methods an action defines ------------------------------------------------------

    async def go_activate(self, llm_judge_model: LLMClient | None = None) -> bool:
        """Whether this action is offered this round. The default honours the legacy fields."""
        return await self._activate_as(self.activation_type, llm_judge_model)

    async def _activate_as(
        self, kind: ActionActivationType, llm_judge_model: LLMClient | None = None
    ) -> bool:
        """What the legacy activation type `kind` says this round, with this class's fields."""
        if kind is ActionActivationType.ALWAYS:
            return True
        if kind is ActionActivationType.NEVER:
            return False
        if kind is ActionActivationType.RANDOM:
            return await self._random_activation(self.random_activation_probability)
        if kind is ActionActivationType.KEYWORD:
            return await self._keyword_match(self.activation_keywords, self.keyword_case_sensitive)
        return await self._llm_judge_activation(self.llm_judge_prompt, llm_judge_model)

    async def execute(self) -> tuple[bool, str]:
        """Do the action; return (success, a short reason). Put messages in the outbox."""
        return False, f"{type(self).__name__} does not implement execute()"

    # -- activation helpers (the seed's signatures) ---------------------------------------------

    async def _random_activation(self, probability: float) -> bool:
        """True with `probability`, rolled on the context's RNG."""
        if not 0.0 <= probability <= 1.0:
            raise ValueError(f"probability must be in [0, 1], got {probability!r}.")
        roll = self.ctx.rng.random()
        result = roll < probability
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "random activation for %r: probability=%.3f roll=%.3f -> %s",
                self.action_name,
                probability,
                roll,
                "activate" if result else "no",
            )
        return result

    async def _keyword_match(
        self, keywords: list[str] | tuple[str, ...], case_sensitive: bool = False
    ) -> bool:
        """True when a recent human message says one of `keywords` (`actions.words.says`: whole
        words in scripts written with spaces, substrings in those without; code, links and
        markup aside). Logs the keywords, never the text."""
        if isinstance(keywords, str):
            keywords = [keywords]
        keys = tuple(keywords)
        texts = [m.content for m in self.ctx.messages if not m.is_bot]
        # Most rounds match nothing: one search over the whole transcript (joined and folded once
        # per context) settles that; a hit is confirmed message by message.
        pattern = phrase_pattern(keys, case_sensitive, False)  # the cache key says() uses
        hit = (
            pattern is not None
            and pattern.search(self.ctx.human_text(case_sensitive=case_sensitive)) is not None
            and any(says(t, keys, case_sensitive=case_sensitive) for t in texts)
        )
        if logger.isEnabledFor(logging.DEBUG):
            if hit:
                matched = [
                    k
                    for k in dict.fromkeys(keys)
                    if any(says(t, (k,), case_sensitive=case_sensitive) for t in texts)
                ]
                logger.debug("keyword match for %r: matched %r", self.action_name, matched)
            else:
                logger.debug(
                    "keyword match for %r: none of %d keywords", self.action_name, len(keys)
                )
        return hit

    async def _llm_judge_activation(
        self,
        judge_prompt: str,
        llm_judge_model: LLMClient | None = None,
        action_description: str | None = None,
        action_require: list[str] | None = None,
    ) -> bool:
        """Ask the LLM judge whether this action fits now; any error or unclear answer is no.

        Inside a modifier round the question joins the round's single batched judge call (and
        its cache); on its own it is one call whose bare answer is accepted.
        """
        llm = llm_judge_model if llm_judge_model is not None else self.ctx.llm
        if llm is None:
            logger.debug("LLM judge for %r: no LLM configured -> no", self.action_name)
            return False
        request = JudgeRequest(
            action_name=self.action_name,
            prompt=judge_prompt,
            description=action_description
            if action_description is not None
            else self.action_description,
            require=tuple(action_require if action_require is not None else self.action_require),
        )
        if self._judge_round is not None:
            return await self._judge_round.judge(request, llm)
        verdicts = await ask_judge(self.ctx, llm, [request])
        return verdicts[self.action_name]

    # -- what execute() uses --------------------------------------------------------------------

    async def send_text(
        self, text: str, *, reply_to: int | None = None, source: str = "plugin"
    ) -> bool:
        """Queue `text` for the round's channel; returns False for empty text."""
        if not text or not text.strip():
            return False
        self.ctx.send(
            OutgoingMessage(
                guild_id=self.ctx.guild_id,
                channel_id=self.ctx.channel_id,
                text=text,
                action=self.action_name,
                reply_to=reply_to,
                kind="text",
                source=source,
            )
        )
        return True

    async def send_emoji(self, emoji: str) -> bool:
        """Queue an emoji message for the round's channel."""
        if not emoji or not emoji.strip():
            return False
        self.ctx.send(
            OutgoingMessage(
                guild_id=self.ctx.guild_id,
                channel_id=self.ctx.channel_id,
                text=emoji,
                action=self.action_name,
                kind="emoji",
            )
        )
        return True

    def get_config(self, key: str | None = None, default: Any = None) -> Any:
        """This action's plugin config (``ctx.config[action_name]``), or one key of it.

        Dotted keys read nested tables: ``get_config("feeds.urls")``.
        """
        section: Any = self.ctx.config.get(self.action_name, {})
        if key is None:
            return section
        for part in key.split("."):
            if not isinstance(section, dict) or part not in section:
                return default
            section = section[part]
        return section
