"""What an LLM prompt may carry of a guild's chat: the guild's policy, applied in one place.

A guild's admins choose (`engine.GuildSettings`, `/guildmind prompt`) whether a prompt carries
the recent transcript (at most so many lines, none older than so long) or only why the bot speaks
(the decision's reason and signals), and whether authors appear by their display names or as
"user 1", "user 2" (stable within one prompt, in order of appearance). The round's
`ActionContext.prompt` holds that `PromptPolicy`; every prompt guildmind builds (the content
writer, the LLM judge, MoFox action parameters) takes its transcript from a `PromptView`, so no
builder can forget the policy.

Ids never reach an LLM, whatever the policy: a mention ``<@id>`` becomes the member's alias (or
"someone"), a role or channel mention "@role" / "#channel", a custom emoji ``:name:``. With
names off, the display names of the transcript's authors are replaced in the text too. The
answer is mapped back (`PromptView.restore`): "user 2" becomes that member's display name, and
the member the bot addresses (engage_user's `{user}`) their mention, so the message still pings
them.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import msgspec

from engine import MAX_PROMPT_LINES, GuildSettings

if TYPE_CHECKING:
    from actions.context import ActionContext, ChatMessage

__all__ = ["PromptPolicy", "PromptView"]

_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE = re.compile(r"<@&\d+>")
_CHANNEL = re.compile(r"<#\d+>")
_EMOJI = re.compile(r"<a?:(\w+):\d+>")
_ALIAS = re.compile(r"\buser (\d+)\b", re.IGNORECASE)


class PromptPolicy(msgspec.Struct, frozen=True):
    """What a prompt may carry of a guild's chat (see the module docstring)."""

    transcript: bool = True
    lines: int = MAX_PROMPT_LINES
    max_age_s: float = 1800.0
    names: bool = False

    @classmethod
    def of(cls, settings: GuildSettings) -> PromptPolicy:
        """The policy a guild's settings say."""
        return cls(
            settings.prompt_transcript, settings.prompt_lines, settings.prompt_max_age_s,
            settings.prompt_names,
        )  # fmt: skip

    def describe(self) -> str:
        """One line for people ("the last 12 messages ..., authors as 'user 1', 'user 2'")."""
        if not self.transcript:
            return "no messages: only why the bot speaks (the decision's reason and signals)"
        who = "authors' display names" if self.names else "authors as 'user 1', 'user 2'"
        return (
            f"the last {self.lines} messages at most, none older than "
            f"{self.max_age_s / 60:.0f} min, {who}"
        )


class PromptView:
    """One prompt's view of the round's chat, as the guild's policy allows.

    `lines` are the transcript lines to send ("author: text", oldest first; empty when the
    policy sends none); `target` is how the prompt names the member the decision is about (None
    when it is about nobody); `restore()` maps an answer's aliases back.
    """

    def __init__(self, ctx: ActionContext) -> None:
        policy: PromptPolicy = ctx.prompt
        self.policy = policy
        self._alias: dict[int | str, str] = {}  # author id (or name, without one) → alias
        self._display: dict[str, str] = {}  # alias → display name (to map an answer back)
        self._mention: dict[str, str] = {}  # alias → the mention that pings them
        shown = _shown(ctx.messages, policy, ctx.now or 0.0) if policy.transcript else []
        for m in shown:
            if not m.is_bot:
                self._of(m.author_id, m.author)
        self.lines = [f"{self._who(m, ctx.bot_name)}: {self.redact(m.content)}" for m in shown]
        d = ctx.decision
        self.target: str | None = None
        if d is not None and d.user_id is not None:
            self.target = self._of(d.user_id, None)
            self._mention[self.target] = f"<@{d.user_id}>"

    def _of(self, user_id: int | None, display: str | None) -> str:
        key: int | str = user_id if user_id is not None else (display or "")
        alias = self._alias.get(key)
        if alias is None:
            alias = display if self.policy.names and display else f"user {len(self._alias) + 1}"
            self._alias[key] = alias
            if display:
                self._display[alias] = display
        return alias

    def _who(self, m: ChatMessage, bot_name: str) -> str:
        if m.is_bot:
            return bot_name if m.author == bot_name else "a bot"
        return self._of(m.author_id, m.author)

    def redact(self, text: str) -> str:
        """`text` without ids, and (names off) without the display names of known authors."""
        text = _MENTION.sub(self._mentioned, text)
        text = _ROLE.sub("@role", _CHANNEL.sub("#channel", _EMOJI.sub(r":\1:", text)))
        if not self.policy.names:
            for alias, display in self._display.items():
                # (a one-letter name would take every "a" or "I" with it: left as it is)
                if display != alias and len(display) > 1:
                    pattern = rf"(?<!\w)@?{re.escape(display)}(?!\w)"
                    text = re.sub(pattern, alias, text, flags=re.IGNORECASE)
        return text

    def _mentioned(self, match: re.Match[str]) -> str:
        alias = self._alias.get(int(match[1]))
        return alias if alias is not None else "someone"

    def restore(self, answer: str) -> str:
        """An LLM's answer with its aliases mapped back: the member the bot addresses becomes
        their mention, any other alias that member's display name."""
        if self.policy.names and not self._mention:
            return answer

        def back(match: re.Match[str]) -> str:
            alias = f"user {match[1]}"
            return self._mention.get(alias) or self._display.get(alias) or match[0]

        answer = _ALIAS.sub(back, answer)
        for alias, mention in self._mention.items():
            if self._display.get(alias) == alias:  # a display name (names on)
                answer = re.sub(rf"(?<!\w)@?{re.escape(alias)}(?!\w)", mention, answer)
        return answer

    def mentions(self, text: str) -> bool:
        """Whether `text` pings the member the bot addresses (True when it addresses nobody)."""
        return all(mention in text for mention in self._mention.values())

    @property
    def mention(self) -> str | None:
        """The mention of the member the bot addresses, if any."""
        return next(iter(self._mention.values()), None)


def _shown(messages: tuple[ChatMessage, ...], policy: PromptPolicy, now: float) -> list:
    """The messages the policy lets a prompt carry: the newest `lines`, none too old (a message
    of unknown time, `at` 0, is kept: the transcripts guildmind keeps all carry their time)."""
    recent = [m for m in messages if not m.at or now - m.at <= policy.max_age_s]
    return recent[-policy.lines :]
