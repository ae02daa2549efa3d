"""Planners: which activated action to execute this round.

`RulePlanner` (the default, no LLM): the engine's chosen action if it activated, else the activated
action of the highest priority (ties go to registration order). `LLMPlanner` asks an LLM to pick
among the activated actions and falls back to the rules on any error or unclear answer; it is
only used when configured (`make_planner("llm", llm)`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from actions.context import ActionContext
    from actions.llm import LLMClient
    from actions.modifier import ActivationReport

logger = logging.getLogger(__name__)


class Planner(Protocol):
    """Chooses one activated action name, or None."""

    async def plan(self, ctx: ActionContext, report: ActivationReport) -> str | None: ...


class RulePlanner:
    """The engine's choice if it activated, else the highest-priority activated action."""

    async def plan(self, ctx: ActionContext, report: ActivationReport) -> str | None:
        """Pick from ``report.activated``; None when nothing activated."""
        return self.choose(ctx, report)

    @staticmethod
    def choose(ctx: ActionContext, report: ActivationReport) -> str | None:
        """The same choice, synchronously."""
        if not report.activated:
            return None
        chosen = ctx.decision.action if ctx.decision is not None else None
        if chosen in report.actions:
            return chosen
        best = None
        for name in report.activated:  # registration order: the first of equal priority wins
            if best is None or report.actions[name].priority > report.actions[best].priority:
                best = name
        return best


PLAN_SYSTEM = (
    "You pick the one action a chat bot should take now. Answer with the action's name only."
)


class LLMPlanner:
    """Asks `llm` to choose among the activated actions; falls back to `RulePlanner`."""

    def __init__(self, llm: LLMClient) -> None:
        self.llm = llm
        self.fallbacks = 0

    async def plan(self, ctx: ActionContext, report: ActivationReport) -> str | None:
        """The LLM's pick if it names exactly one activated action, else the rule's pick."""
        if len(report.activated) <= 1:
            return RulePlanner.choose(ctx, report)
        options = "\n".join(
            f"- {n}: {report.actions[n].action_description}" for n in report.activated
        )
        reason = ctx.decision.reason if ctx.decision is not None else "someone addressed you"
        prompt = (
            f"Mood: {ctx.mood}\nWhy now: {reason}\nActions:\n{options}\n"
            "Which one action fits best? Answer with its name only."
        )
        try:
            answer = await self.llm.complete(prompt, system=PLAN_SYSTEM, purpose="plan")
        except Exception as e:
            logger.warning("LLM planner failed (%s); using the rules", type(e).__name__)
            answer = ""
        word = (answer or "").strip().strip("`'\"*. \n").casefold()
        for name in report.activated:
            if word == name.casefold():
                return name
        self.fallbacks += 1
        logger.debug("LLM planner answer unclear (%d chars); using the rules", len(answer or ""))
        return RulePlanner.choose(ctx, report)


def make_planner(kind: str = "rules", llm: LLMClient | None = None) -> Planner:
    """Build the configured planner: ``"rules"`` (default) or ``"llm"`` (needs `llm`).

    Raises
    ------
    ValueError
        For an unknown kind, or ``"llm"`` without an LLM.
    """
    if kind == "rules":
        return RulePlanner()
    if kind == "llm":
        if llm is None:
            raise ValueError("planner 'llm' needs an LLM; configure [llm] or use 'rules'.")
        return LLMPlanner(llm)
    raise ValueError(f"planner must be 'rules' or 'llm', got {kind!r}.")
