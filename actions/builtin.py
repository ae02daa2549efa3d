"""The built-in actions: the engine's five autonomous actions and `reply`.

Each engine action activates when the round's `Decision` names it; `reply` activates when the bot
is addressed (``ctx.addressed``: the source decided it). Their `execute()` asks
the context's `ContentWriter` for the words (LLM or templates) and queues one message.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, ClassVar

from actions.base import BaseAction
from actions.content import ContentWriter, Written
from actions.feeds import Post, PostSource

if TYPE_CHECKING:
    from actions.context import ActionContext
    from actions.llm import LLMClient

logger = logging.getLogger(__name__)

_writers: dict[int, ContentWriter] = {}
_default_posts = PostSource()


def writer_for(ctx: ActionContext) -> ContentWriter:
    """The context's writer, or a shared default one for its LLM (templates when none)."""
    if ctx.writer is None:
        key = id(ctx.llm)
        w = _writers.get(key)
        if w is None or w.llm is not ctx.llm:
            w = _writers[key] = ContentWriter(ctx.llm)
        ctx.writer = w
    return ctx.writer


class EngineAction(BaseAction):
    """Base of the engine's actions: active when ``ctx.decision.action`` names this action."""

    priority: ClassVar[int] = 10

    async def go_activate(self, llm_judge_model: LLMClient | None = None) -> bool:
        d = self.ctx.decision
        return d is not None and d.action == self.action_name

    async def extra(self) -> dict[str, str]:
        """Extra placeholder values for the writer."""
        return {}

    async def execute(self) -> tuple[bool, str]:
        written = await writer_for(self.ctx).write(
            self.ctx, self.action_name, extra=await self.extra()
        )
        return await self._send(written)

    async def _send(self, written: Written, reply_to: int | None = None) -> tuple[bool, str]:
        if not await self.send_text(written.text, reply_to=reply_to, source=written.source):
            return False, "no text to send"
        how = written.source + (f" (LLM {written.llm_outcome})" if written.fell_back else "")
        return True, f"sent a {self.action_name} message written by {how}"


class JoinConversation(EngineAction):
    """Join a lively conversation."""

    action_name = "join_conversation"
    action_description = "Join the ongoing conversation with a short message."


class EngageUser(EngineAction):
    """Greet a user who started a new activity (``Decision.user_id`` / ``activity``)."""

    action_name = "engage_user"
    action_description = "Talk to a member about the game or activity they just started."


class FomoResponse(EngineAction):
    """Come back into a channel that talked a lot without the bot."""

    action_name = "fomo_response"
    action_description = "React to having missed a lot of conversation."


class BreakSilence(EngineAction):
    """Say something into a quiet channel."""

    action_name = "break_silence"
    action_description = "Start a conversation in a quiet channel."


class ShareTweet(EngineAction):
    """Share a post from the configured feeds or file (``ctx.posts``), or the shipped list.

    Without a ``ctx.posts`` port, ``get_config("feeds")`` and ``get_config("file")`` are read.
    """

    action_name = "share_tweet"
    action_description = "Share an interesting post with the channel."
    _sources: ClassVar[dict[tuple[tuple[str, ...], str | None], PostSource]] = {}

    def _source(self) -> PostSource:
        if self.ctx.posts is not None:
            return self.ctx.posts
        feeds = tuple(self.get_config("feeds", ()) or ())
        file = self.get_config("file")
        if not feeds and not file:
            return _default_posts
        key = (feeds, file)
        src = self._sources.get(key)
        if src is None:
            src = self._sources[key] = PostSource(feeds, file)
        return src

    async def _post(self) -> Post:
        """A post from the source; from the shipped list when the source (feeds being fetched)
        has not answered by ``ctx.deadline``, so the words still come inside the budget."""
        now = self.ctx.now or 0.0
        try:
            async with asyncio.timeout_at(self.ctx.deadline):
                return await self._source().pick(now, self.ctx.rng)
        except TimeoutError:
            logger.warning("share_tweet: no post by the deadline; sharing one of the shipped list")
            return await _default_posts.pick(now, self.ctx.rng)

    async def execute(self) -> tuple[bool, str]:
        post = await self._post()
        written = await writer_for(self.ctx).write(
            self.ctx, self.action_name, extra={"post": post.render()}
        )
        if post.url and post.url not in written.text:
            written = Written(f"{written.text} {post.url}", written.source, written.llm_outcome)
        return await self._send(written)


class Reply(EngineAction):
    """Answer when someone addresses the bot (``ctx.addressed``).

    Whether a message addresses the bot is the source's decision, made once where the facts are:
    a mention, a reply to the bot, or one of its names said as a word (the Discord source's
    `says_name`, which knows forwarded text, code and links, and every configured name). The
    round sets ``ctx.addressed``; this action does not read the name in the text again.
    """

    action_name = "reply"
    action_description = "Answer a message addressed to the bot."
    priority: ClassVar[int] = 20

    async def go_activate(self, llm_judge_model: LLMClient | None = None) -> bool:
        return self.ctx.addressed

    async def execute(self) -> tuple[bool, str]:
        asked = self.ctx.addressing_message  # not the newest message: others may have spoken since
        written = await writer_for(self.ctx).write(self.ctx, self.action_name)
        return await self._send(written, reply_to=asked.message_id if asked else None)


BUILTIN_ACTIONS: tuple[type[BaseAction], ...] = (
    JoinConversation,
    EngageUser,
    FomoResponse,
    BreakSilence,
    ShareTweet,
    Reply,
)
"""The built-in actions, in registration order."""
