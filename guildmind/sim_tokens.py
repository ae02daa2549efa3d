"""The LLM's tokens in `guildmind simulate`: each round's request, and the per-guild daily budget.

The model: every round of the main v2 run (the bot's own actions and its replies) asks the LLM
for its words once. Its prompt is the real one (`actions.content.build_prompt`: the persona, the
mood, the decision's reason, the transcript as the default prompt policy carries it), built from
stand-in lines: as many as the guild had messages in the last 30 minutes (at most 12), each of a
random length (15–160 characters). The "server" counts the prompt at 4 characters a token
(English text; OpenAI's rule of thumb) plus 3 a message, and answers 15–90 tokens. With
``--budget B``, the runtime's own `actions.BudgetPolicy` reserves each request in the guild's
ledger (its `GuildState`, as on a host) when the round starts and settles it with the model's
count when the round ends; a request that does not fit is not made (templates write).

The claim is checked on an independent tally: the tokens of every request made, summed per guild
per UTC day, never above B. Beside it, what the same rounds would have cost without a budget
(every request made): the control showing the budget bound something.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from actions import ActionContext, BudgetPolicy, ChatMessage, Reservation
from actions.budget import DAY_S
from actions.content import build_prompt
from config.types import DEFAULT_PERSONA

if TYPE_CHECKING:
    from actors.loop.guild_loop import Round
    from engine import AutonomousEngine

CHARS_PER_TOKEN = 4
TOKENS_PER_MESSAGE = 3
ANSWER_TOKENS = (15, 90)
LINE_CHARS = (15, 160)
PROMPT_LINES, PROMPT_MINUTES = 12, 30


def _now(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine that never waits (the in-process ledger's) to its end, at once."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value
    coro.close()
    raise RuntimeError("a budget call waited; the simulation's ledger never does")


class TokenTally:
    """The LLM requests of one run's rounds (see the module docstring); `budget` 0: no limit."""

    def __init__(self, engine: AutonomousEngine, *, budget: int, max_tokens: int, seed: int):
        self.engine, self.budget = engine, budget
        self.policy = BudgetPolicy(budget, max_tokens=max_tokens)
        self.rng = random.Random(f"{seed}:tokens")
        self.used: Counter[tuple[int, int]] = Counter()  # (guild, UTC day) -> tokens of requests
        self.demand: Counter[tuple[int, int]] = Counter()  # the same, had every request been made
        self.requests = self.refused = 0
        self._held: dict[int, tuple[Reservation, int, Any]] = {}

    def start(self, i: int, rnd: Round) -> None:
        """Round `rnd` of guild number `i` starts: its request is made, if the budget lets it."""
        st = self.engine.state(rnd.guild_id)
        assert st is not None
        system, prompt = self._prompt(st, rnd)
        cost = (
            -(-(len(system) + len(prompt)) // CHARS_PER_TOKEN)
            + 2 * TOKENS_PER_MESSAGE
            + self.rng.randint(*ANSWER_TOKENS)
        )
        day = int(rnd.at // DAY_S)
        self.demand[(i, day)] += cost
        budget = self.policy.for_guild(st, rnd.at)
        held = _now(budget.reserve(prompt, system))
        if isinstance(held, str):
            self.refused += 1
            return
        self._held[id(rnd)] = (held, cost, budget)
        self.requests += 1
        self.used[(i, day)] += cost

    def finish(self, rnd: Round) -> None:
        """Round `rnd` ends: its reservation is settled with what the request cost."""
        held = self._held.pop(id(rnd), None)
        if held is not None:
            reservation, cost, budget = held
            _now(budget.settle(reservation, cost))

    def _prompt(self, st: Any, rnd: Round) -> tuple[str, str]:
        n = min(PROMPT_LINES, st.messages_in(PROMPT_MINUTES, rnd.at))
        lines = [
            ChatMessage(f"member {k % 5}", "x" * self.rng.randint(*LINE_CHARS), rnd.at - 60 * k)
            for k in range(n, 0, -1)
        ]
        ctx = ActionContext(
            guild_id=rnd.guild_id, channel_id=1, mood=st.mood, messages=lines,
            decision=rnd.decision, now=rnd.at, persona=DEFAULT_PERSONA, bot_name="Miku",
        )  # fmt: skip
        action = rnd.decision.action if rnd.decision is not None else "reply"
        return build_prompt(ctx, action or "reply", {})

    def figures(self) -> dict[str, Any]:
        """The report's ``llm_tokens`` section."""
        return {
            "budget_per_guild_day": self.budget,
            "requests": self.requests,
            "refused_by_budget": self.refused,
            "tokens": sum(self.used.values()),
            "max_guild_day_tokens": max(self.used.values(), default=0),
            "unbudgeted_tokens": sum(self.demand.values()),
            "unbudgeted_max_guild_day_tokens": max(self.demand.values(), default=0),
            "unbudgeted_guild_days_over_budget": sum(v > self.budget for v in self.demand.values())
            if self.budget
            else 0,
        }


def budget_claim(tokens: dict[str, Any]) -> dict[str, object]:
    """'no guild's LLM use exceeds B' on the tally of `figures()`."""
    b, top = tokens["budget_per_guild_day"], tokens["max_guild_day_tokens"]
    return {
        "policy": "v2",
        "claim": f"with a budget of {b:,} tokens per guild per day, no guild's LLM use exceeds it",
        "passed": top <= b,
        "figure": (
            f"the most a guild used in a UTC day: {top:,} tokens; {tokens['refused_by_budget']} "
            f"of {tokens['requests'] + tokens['refused_by_budget']} requests left to templates "
            f"(without the budget: up to {tokens['unbudgeted_max_guild_day_tokens']:,}, "
            f"{tokens['unbudgeted_guild_days_over_budget']} guild-days over it)"
        ),
    }
