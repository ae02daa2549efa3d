"""One action round for the guild loop: the action system chooses, writes, and hands back messages.

A `Round` (from `actors.loop.guild_loop`) says why the bot may speak: the engine decided, or people
addressed it. `RoundRunner.run()` builds the round's `ActionContext` (guild, channel, mood, the
decision, the recent transcript), asks every action whether it is available (`ActionModifier`),
lets the planner choose, executes the choice and returns what it wants sent. It records nothing in
the engine: the loop does that when the shell finishes the round.
"""

from __future__ import annotations

import random
from typing import NamedTuple

import msgspec

from actions import ActionContext, ActionModifier, ContentWriter, OutgoingMessage, PostSource
from actions.planner import Planner, RulePlanner
from engine import GuildState
from metrics import GuildmindMetrics

from .guild_loop import Round
from .transcripts import Transcripts


class RoundResult(NamedTuple):
    """What a round came to: the action that speaks and its messages, or why nothing is sent.

    `outcome` is "spoke" (messages to send), "silent" (no action chosen) or "failed" (nowhere to
    speak, or the chosen action produced no message).
    """

    outcome: str
    action: str | None = None
    messages: tuple[OutgoingMessage, ...] = ()


class RoundRunner:
    """Runs rounds with the action system; reports activations and LLM use to `metrics`.

    Parameters
    ----------
    modifier, planner, writer, posts:
        The action system's parts (the planner defaults to `RulePlanner`, no LLM).
    rng:
        The dice of the actions' own activation (seed it for reproducible rounds).
    bot_name, persona:
        Who speaks.
    """

    def __init__(
        self,
        *,
        modifier: ActionModifier,
        writer: ContentWriter,
        metrics: GuildmindMetrics,
        planner: Planner | None = None,
        posts: PostSource | None = None,
        rng: random.Random | None = None,
        bot_name: str = "guildmind",
        persona: str = "",
    ) -> None:
        self.modifier, self.writer, self.metrics = modifier, writer, metrics
        self.planner = planner or RulePlanner()
        self.posts, self.rng = posts, rng or random.Random()
        self.bot_name, self.persona = bot_name, persona
        self._judge_seen = (0, 0)  # the modifier's (judged, cache_hits) already exported

    async def run(
        self, rnd: Round, state: GuildState, transcripts: Transcripts, now: float
    ) -> RoundResult:
        """Run `rnd` for a guild in `state` at `now`; what to send, if anything."""
        gid = rnd.guild_id
        last = rnd.addressed[-1] if rnd.addressed else None  # a reply answers the latest
        line = transcripts.find(gid, last.author_id, last.at) if last else None
        channel = last.channel_id if last else channel_for(state, transcripts, gid)
        if not channel:
            return RoundResult("failed")
        ctx = ActionContext(
            guild_id=gid, channel_id=channel, mood=state.mood,
            messages=transcripts.recent(gid, channel), decision=rnd.decision, llm=self.writer.llm,
            rng=self.rng, now=now, bot_name=self.bot_name, persona=self.persona,
            addressed=bool(rnd.addressed), writer=self.writer, posts=self.posts,
        )  # fmt: skip
        report = await self.modifier.activate(ctx)
        self.metrics.activations(report)
        self._count_judge()
        name = await self.planner.plan(ctx, report)
        if name is None:
            return RoundResult("silent")
        action = report.actions[name]
        result = await self.modifier.execute(action)
        written = getattr(action, "last_written", None)
        if written is not None and written.llm_outcome != "none":
            self.metrics.llm_request("content", written.llm_outcome, result.duration_s)
            if written.fell_back:
                self.metrics.template_fallback(name)
        out = [m for m in ctx.outbox if m.text]
        if not out:
            return RoundResult("failed", name)
        if line is not None and line.message_id:
            out = [m if m.reply_to else _replying(m, line.message_id) for m in out]
        return RoundResult("spoke", name, tuple(out))

    def _count_judge(self) -> None:
        # The modifier's judge counters are shared by every round; export what is new since the
        # last look (no await in between, so concurrent rounds never count a verdict twice).
        stats, (llm, cache) = self.modifier.judge_stats, self._judge_seen
        self._judge_seen = (stats.judged, stats.cache_hits)
        self.metrics.judge_verdicts(llm=stats.judged - llm, cache=stats.cache_hits - cache)


def _replying(m: OutgoingMessage, message_id: int) -> OutgoingMessage:
    return msgspec.structs.replace(m, reply_to=message_id)


def channel_for(state: GuildState, transcripts: Transcripts, guild_id: int) -> int:
    """Where the bot speaks on its own: the channel it last heard among the autonomous ones (or
    the lowest of them), else the default channel, the last channel it heard, or 0 (nowhere)."""
    s = state.settings
    if s.channels:
        return state.last_channel if state.last_channel in s.channels else min(s.channels)
    return s.default_channel or state.last_channel or transcripts.last_channel(guild_id) or 0
