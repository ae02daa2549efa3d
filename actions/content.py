"""What to say: the LLM when configured, else (and as the fallback) template phrase banks.

`ContentWriter.write()` never raises for the LLM's fault: an error, a timeout or an empty answer
falls back to a template. It returns a `Written` saying where the words came from and how the LLM
did, and reports the request and any fallback to the round's `ctx.observer`. Templates live in
``actions/templates.toml`` (action × mood), with ``neutral`` as the fallback for any other mood.
"""

from __future__ import annotations

import functools
import logging
import tomllib
from collections.abc import Callable
from importlib import resources
from typing import TYPE_CHECKING, Any

import msgspec

from actions.observer import ask_llm
from actions.prompting import PromptView
from actions.repeats import RecentLines
from engine import ASLEEP, BUILTIN_MOODS
from engine.decision import ACTIONS

if TYPE_CHECKING:
    from actions.context import ActionContext
    from actions.llm import LLMClient

logger = logging.getLogger(__name__)

REQUIRED_MOODS = tuple(mood for mood in BUILTIN_MOODS if mood != ASLEEP)
"""Moods every built-in action has phrases for: the engine's built-ins (``asleep`` never acts)."""

BUILTIN_CONTENT = (*ACTIONS, "reply")
"""Actions the shipped phrase banks cover."""

GENERIC = "generic"
"""The bank used for an action without its own phrases."""

INSTRUCTIONS: dict[str, str] = {
    "join_conversation": "Join the ongoing conversation naturally with one short message that "
    "fits what people are talking about.",
    "engage_user": "Greet {user} and say something friendly about them starting {activity}.",
    "fomo_response": "A lot was said while you were away; jump back in as someone who feels "
    "they missed out, reacting to the latest topic.",
    "break_silence": "The channel has been quiet for a while; say something light to start a "
    "conversation.",
    "share_tweet": "Share this post with the channel with a short comment of your own, and "
    "include its link: {post}",
    "reply": "Someone addressed you directly; answer their last message.",
}

LLM_OUTCOMES = ("success", "error", "timeout", "empty", "repeat", "budget", "none")
"""How the LLM did for one write; "repeat": its answer was a line the guild heard lately;
"budget": a token budget was spent, nothing was asked (`actions.budget`); "none": no LLM was
configured."""


class Written(msgspec.Struct, frozen=True):
    """The words for one message and where they came from.

    ``source`` is "llm" or "template"; ``llm_outcome`` is one of `LLM_OUTCOMES`.
    """

    text: str
    source: str
    llm_outcome: str

    @property
    def fell_back(self) -> bool:
        """True when an LLM was configured but a template was used."""
        return self.source == "template" and self.llm_outcome != "none"


class _SafeMap(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


class TemplateBank:
    """Phrase banks per action × mood.

    Parameters
    ----------
    banks:
        action -> mood -> phrases. Validated: every listed phrase is a non-empty string.
    """

    def __init__(self, banks: dict[str, dict[str, list[str]]]) -> None:
        for action, moods in banks.items():
            if not isinstance(moods, dict) or "neutral" not in moods:
                raise ValueError(f"template bank {action!r} needs a 'neutral' list of phrases.")
            for mood, phrases in moods.items():
                if (
                    not isinstance(phrases, list)
                    or not phrases
                    or not all(isinstance(p, str) and p.strip() for p in phrases)
                ):
                    raise ValueError(
                        f"template bank {action!r}.{mood!r} must be a non-empty list of strings."
                    )
        self.banks = banks

    @classmethod
    def from_toml(cls, text: str) -> TemplateBank:
        """Parse a TOML document of ``[action] mood = ["phrase", ...]`` tables."""
        return cls(tomllib.loads(text))

    def phrases(self, action: str, mood: str) -> list[str]:
        """The phrases for `action` in `mood` (neutral for an unknown mood, generic for an unknown
        action)."""
        bank = self.banks.get(action) or self.banks[GENERIC]
        return bank.get(mood) or bank["neutral"]

    def render(
        self,
        action: str,
        mood: str,
        rng: Any,
        values: dict[str, str],
        age: Callable[[str], int | None] | None = None,
    ) -> str:
        """Pick a phrase with `rng` and fill ``{user}``, ``{activity}``, ``{post}``, ``{bot}``.

        With `age` (how many lines ago the guild heard a text, None if not lately), a phrase the
        guild did not hear lately is picked: one of the mood's, else one of the action's neutral
        ones, else the mood's phrase heard longest ago.
        """
        texts = [p.format_map(_SafeMap(values)) for p in self.phrases(action, mood)]
        if age is None:
            return str(rng.choice(texts))
        fresh = [t for t in texts if age(t) is None]
        if not fresh and mood != "neutral":
            neutral = [p.format_map(_SafeMap(values)) for p in self.phrases(action, "neutral")]
            fresh = [t for t in neutral if age(t) is None]
        if fresh:
            return str(rng.choice(fresh))
        return max(texts, key=lambda t: age(t) or 0)  # all heard lately: the oldest of them


@functools.cache
def default_templates() -> TemplateBank:
    """The phrase banks shipped in ``actions/templates.toml`` (loaded once)."""
    text = resources.files("actions").joinpath("templates.toml").read_text(encoding="utf-8")
    return TemplateBank.from_toml(text)


def placeholder_values(ctx: ActionContext, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Values for template placeholders and prompt instructions."""
    d = ctx.decision
    values = {
        "bot": ctx.bot_name,
        "user": f"<@{d.user_id}>" if d is not None and d.user_id is not None else "everyone",
        "activity": (d.activity if d is not None and d.activity else "something new"),
        "post": "",
    }
    if extra:
        values.update(extra)
    return values


def build_prompt(
    ctx: ActionContext,
    action: str,
    values: dict[str, str],
    instruction: str | None = None,
    view: PromptView | None = None,
) -> tuple[str, str]:
    """(system, user) prompts from the persona, the mood, the decision's reason and the chat as
    the guild's policy lets a prompt carry it (`view`, default: made from `ctx`). The member the
    decision is about is named as the view names them, never by id."""
    view = view or PromptView(ctx)
    system = (
        f"You are {ctx.bot_name}, a member of a Discord server. {ctx.persona}".strip()
        + f"\nYour current mood is {ctx.mood}; let it colour how you write."
        "\nWrite one short Discord chat message (one or two sentences). Reply with the message "
        "text only: no name prefix, no quotes."
    )
    d = ctx.decision
    if view.policy.transcript:
        lines = ["Recent messages (oldest first):"]
        lines += view.lines or ["(the channel is quiet)"]
    else:  # the server shares no messages: what the engine saw of the chat, in numbers
        signals = d.signals if d is not None else {}
        seen = ", ".join(f"{k} {v:g}" for k, v in signals.items() if k in _CHAT_SIGNALS)
        lines = ["Recent messages: not shared by this server."]
        if seen:
            lines[0] += f" The chat: {seen}."
    if d is not None and d.reason:
        lines.append(f"\nWhy you speak now: {d.reason}")
    task = instruction or INSTRUCTIONS.get(action, "Say something that fits the conversation.")
    values = dict(values, user=view.target or "everyone")
    lines.append(f"\nTask: {task.format_map(_SafeMap(values))}")
    return system, "\n".join(lines)


_CHAT_SIGNALS = (
    "momentum",
    "messages_5min",
    "messages_hour",
    "messages_since_appearance",
    "quiet_s",
)
"""The decision's signals a prompt carries when the guild shares no messages."""


def clean_answer(text: str, bot_name: str, max_chars: int) -> str:
    """Trim whitespace, wrapping quotes and a leading "BotName:" from an LLM answer."""
    text = text.strip()
    prefix = f"{bot_name}:"
    if text.casefold().startswith(prefix.casefold()):
        text = text[len(prefix) :].strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'“”":
        text = text[1:-1].strip()
    return text[:max_chars]


class ContentWriter:
    """Writes the words of an action: LLM when configured, templates otherwise or on failure.

    Parameters
    ----------
    llm:
        An `LLMClient`, or None for templates only.
    templates:
        A `TemplateBank` (default: the shipped banks).
    timeout_s:
        An own limit of one LLM write, if any. Normally the round bounds it: inside
        `ActionModifier.execute()` the LLM must answer by ``ctx.deadline`` (within the action's
        execute budget), else a template is written in the time left.
    max_chars:
        Longer LLM answers are cut.
    recent:
        What each guild heard lately (`RecentLines`; default: a new one). A guild never hears
        one of its recent lines again: templates pick another phrase, and an LLM answer it heard
        lately is replaced by a template it did not.
    """

    def __init__(
        self,
        llm: LLMClient | None = None,
        templates: TemplateBank | None = None,
        *,
        timeout_s: float | None = None,
        max_chars: int = 1800,
        recent: RecentLines | None = None,
    ) -> None:
        self.llm = llm
        self.templates = templates or default_templates()
        self.timeout_s = timeout_s
        self.max_chars = max_chars
        self.recent = recent if recent is not None else RecentLines()

    async def write(
        self,
        ctx: ActionContext,
        action: str,
        *,
        extra: dict[str, str] | None = None,
        instruction: str | None = None,
    ) -> Written:
        """The words for `action` in `ctx`; never raises for the LLM's fault.

        The LLM request, and a template written in its place, are reported to ``ctx.observer``.
        The words are never a line the guild heard lately (`recent`).
        """
        values = placeholder_values(ctx, extra)
        outcome = "none"
        guild = ctx.guild_id
        if self.llm is not None:
            view = PromptView(ctx)
            system, prompt = build_prompt(ctx, action, values, instruction, view)
            reply = await ask_llm(
                self.llm, prompt, system=system, purpose="content", observer=ctx.observer,
                grade=lambda answer: "success" if self._clean(ctx, answer) else "empty",
                timeout_s=self.timeout_s, deadline=ctx.deadline, budget=ctx.budget,
            )  # fmt: skip
            text = self._clean(ctx, view.restore(reply.text or ""))
            if text and not view.mentions(text):  # whom it greets gets the ping
                text = f"{view.mention} {text}"
            if reply.outcome == "success" and not self.recent.heard(guild, text):
                self.recent.add(guild, text)
                return Written(text, "llm", "success")
            outcome = reply.outcome if reply.outcome in LLM_OUTCOMES else "error"
            if outcome == "success":
                # the request went well (it is reported so); its words are not new to the guild
                outcome = "repeat"
            elif outcome == "error":
                logger.warning("LLM content for %r failed: %s", action, reply.error)
            logger.info("LLM content for %r: %s; using a template", action, outcome)
            ctx.observer.template_fallback(action)
        text = self.templates.render(
            action, ctx.mood, ctx.rng, values, age=lambda t: self.recent.age(guild, t)
        )
        self.recent.add(guild, text)
        return Written(text, "template", outcome)

    def _clean(self, ctx: ActionContext, answer: str) -> str:
        return clean_answer(answer, ctx.bot_name, self.max_chars)
