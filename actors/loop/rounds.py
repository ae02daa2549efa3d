"""One action round for the guild loop: the action system chooses, writes, and hands back messages.

A `Round` (from `actors.loop.guild_loop`) says why the bot may speak: the engine decided, or people
addressed it. `RoundRunner.run()` builds the round's `ActionContext` (guild, channel, mood, the
decision, the recent transcript), asks every action whether it is available (`ActionModifier`),
lets the planner choose, executes the choice and returns what it wants sent. It records nothing in
the engine: the loop does that when the shell finishes the round.

What the action system reports during the round (each LLM request of the judge, the planner and
the writer; judge verdicts; a template written in the LLM's place) reaches the metrics through the
round's `ActionContext.observer`; the runner records the activations and how the chosen action's
execution went (`GuildmindMetrics.action_execution`).
"""

from __future__ import annotations

import random
from typing import Any, NamedTuple

import msgspec

from actions import (
    ActionContext,
    ActionModifier,
    BudgetedLLM,
    BudgetPolicy,
    ContentWriter,
    ExecutionResult,
    OutgoingMessage,
    PostSource,
    PromptPolicy,
)
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


class _RoundObserver:
    """The round's `actions.ActionObserver`: reports go to the metrics; a template fallback is
    also kept, as it decides the outcome of the action's execution."""

    __slots__ = ("fell_back", "metrics")

    def __init__(self, metrics: GuildmindMetrics) -> None:
        self.metrics, self.fell_back = metrics, False

    def llm_request(self, purpose: str, outcome: str, seconds: float, **cost: Any) -> None:
        self.metrics.llm_request(purpose, outcome, seconds, **cost)

    def judge_verdicts(self, *, llm: int = 0, cache: int = 0) -> None:
        self.metrics.judge_verdicts(llm=llm, cache=cache)

    def template_fallback(self, action: str) -> None:
        self.fell_back = True

    def unsupported(self, action: str, feature: str) -> None:
        self.metrics.plugin_refusal(action, feature)

    def budget_exhausted(self, purpose: str, scope: str) -> None:
        self.metrics.budget_exhausted(purpose, scope)


def execution_outcome(result: ExecutionResult, produced: bool, fell_back: bool) -> str:
    """How the chosen action's execution went (`metrics.labels.EXECUTION_OUTCOMES`): it timed out
    or raised; else it produced messages (written by templates in the LLM's place: "fallback");
    else it "failed"."""
    if result.outcome in ("timeout", "error"):
        return result.outcome
    if not produced:
        return "failed"
    return "fallback" if fell_back else "sent"


class RoundRunner:
    """Runs rounds with the action system; reports activations, executions and LLM use to
    `metrics`.

    Parameters
    ----------
    modifier, planner, writer, posts:
        The action system's parts (the planner defaults to `RulePlanner`, no LLM).
    rng:
        The dice of the actions' own activation (seed it for reproducible rounds).
    bot_name, persona:
        Who speaks.
    budget:
        The daily token budgets (`actions.BudgetPolicy`; default: no limit). Each round's LLM
        requests reserve in the guild's ledger (its `GuildState`, counted with or without a
        limit) and, with a global limit, the global one.
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
        budget: BudgetPolicy | None = None,
    ) -> None:
        self.modifier, self.writer, self.metrics = modifier, writer, metrics
        self.budget = budget or BudgetPolicy()
        metrics.budget_limits(
            per_guild=self.budget.guild_daily_tokens, global_=self.budget.global_daily_tokens
        )
        self.planner = planner or RulePlanner()
        self.posts, self.rng = posts, rng or random.Random()
        self.bot_name, self.persona = bot_name, persona

    @property
    def longest_s(self) -> float:
        """The longest a round can run, in seconds: every action's activation (they run at once,
        each cut at the modifier's timeout), then the chosen action's execute budget."""
        return self.modifier.timeout_s + self.modifier.execute_timeout_s

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
        observer = _RoundObserver(self.metrics)
        budget, llm = self.budget.for_guild(state, now), self.writer.llm
        if llm is not None:  # an action asking ctx.llm itself is held to the budget too
            llm = BudgetedLLM(llm, budget, observer)
        ctx = ActionContext(
            guild_id=gid, channel_id=channel, mood=state.mood,
            messages=transcripts.recent(gid, channel), decision=rnd.decision, llm=llm,
            rng=self.rng, now=now, bot_name=self.bot_name, persona=self.persona,
            addressed=bool(rnd.addressed), addressed_by=(line.message_id or None) if line else None,
            writer=self.writer, posts=self.posts, observer=observer,
            prompt=PromptPolicy.of(state.settings), budget=budget,
        )  # fmt: skip
        report = await self.modifier.activate(ctx)
        self.metrics.activations(report)
        name = await self.planner.plan(ctx, report)
        if name is None:
            return RoundResult("silent")
        result = await self.modifier.execute(report.actions[name])
        out = [m for m in ctx.outbox if m.text or m.attachment]
        self.metrics.action_execution(
            name, execution_outcome(result, bool(out), observer.fell_back)
        )
        if not out:
            return RoundResult("failed", name)
        if line is not None and line.message_id:
            out = [m if m.reply_to else _replying(m, line.message_id) for m in out]
        return RoundResult("spoke", name, tuple(out))


def _replying(m: OutgoingMessage, message_id: int) -> OutgoingMessage:
    return msgspec.structs.replace(m, reply_to=message_id)


def channel_for(state: GuildState, transcripts: Transcripts, guild_id: int) -> int:
    """Where the bot speaks on its own: the channel it last heard among the autonomous ones (or
    the lowest of them), else the default channel, the last channel it heard, or 0 (nowhere)."""
    s = state.settings
    if s.channels:
        return state.last_channel if state.last_channel in s.channels else min(s.channels)
    return s.default_channel or state.last_channel or transcripts.last_channel(guild_id) or 0
