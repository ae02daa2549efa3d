"""Planners: which activated action to execute this round.

`RulePlanner` (the default, no LLM): the engine's chosen action if it activated, else the activated
action of the highest priority (ties go to registration order). `LLMPlanner` asks an LLM to pick
among the activated actions and falls back to the rules on any error or unclear answer; it is
only used when configured (`make_planner("llm", llm)`). Its requests are reported to the round's
`ctx.observer` (an answer naming no activated action is "garbage").
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Protocol

from actions.observer import BUDGET, ask_llm

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
        reply = await ask_llm(
            self.llm, prompt, system=PLAN_SYSTEM, purpose="plan", observer=ctx.observer,
            grade=lambda text: _grade(text, report.activated), budget=ctx.budget,
        )  # fmt: skip
        if reply.text is None:
            log = logger.info if reply.outcome == BUDGET else logger.warning  # (a choice)
            log("LLM planner failed (%s); using the rules", reply.error)
            return RulePlanner.choose(ctx, report)
        name = _named(reply.text, report.activated)
        if name is not None:
            return name
        logger.debug("LLM planner answer unclear (%d chars); using the rules", len(reply.text))
        return RulePlanner.choose(ctx, report)


def _named(answer: str, names: list[str]) -> str | None:
    """The one of `names` that `answer` is (quotes, stars and a full stop aside), if any."""
    word = answer.strip().strip("`'\"*. \n").casefold()
    for name in names:
        if word == name.casefold():
            return name
    return None


def _grade(answer: str, names: list[str]) -> str:
    if _named(answer, names) is not None:
        return "success"
    return "garbage" if answer.strip() else "empty"


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
