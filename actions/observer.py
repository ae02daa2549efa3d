"""The action system's observer port: what it reports, for the shell to export.

The action system never imports prometheus_client. It reports to the `ActionObserver` of each
round's `ActionContext` (``ctx.observer``); the runtime's round runner wires one that records into
`metrics.GuildmindMetrics`, a test passes a `RecordingObserver`, and without one nothing is
reported. What is reported:

- every LLM request the judge, the planner and the content writer make: why (``purpose``), how it
  ended (``outcome``), how long that one request took, its retries and its tokens;
- the judge's verdicts (asked the LLM, or reused from the cache);
- a template writing an action's words because the LLM failed;
- a request not sent because a token budget was spent (`actions.budget`);
- a plugin action asking for what Discord has no equivalent for (`actions.mofox`).

`ask_llm()` makes one request and reports it, once, whatever happens to it. The client says what
the request cost when it can (`actions.llm.MeteredLLMClient`: the server's ``usage``, the retries);
otherwise the tokens are estimated from the text and reported as estimates.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from time import perf_counter
from typing import TYPE_CHECKING, Protocol

import msgspec

from actions.budget import BudgetedLLM
from actions.llm import LLMError, LLMTimeout, MeteredLLMClient
from actions.reasoning import final_answer

if TYPE_CHECKING:
    from actions.budget import TokenBudget
    from actions.llm import LLMClient

PURPOSES = ("content", "judge", "plan")
"""Why the LLM is asked: write an action's words, judge which actions fit, pick the action."""

OUTCOMES = ("success", "empty", "garbage", "timeout", "error", "cancelled")
BUDGET = "budget"
"""`LLMReply.outcome` of a request a token budget did not let go (none was sent or reported)."""
"""How one LLM request ended: a usable answer; an empty one; one that could not be read (the
judge's or planner's format); no answer in time; a failure (HTTP, connection, malformed response);
the caller stopped waiting (the round's deadline passed)."""

CHARS_PER_TOKEN = 4
"""The estimate's rule of thumb (English text; other scripts take more tokens per character)."""


class ActionObserver(Protocol):
    """What the action system reports (the runtime records it as Prometheus metrics)."""

    def llm_request(
        self,
        purpose: str,
        outcome: str,
        seconds: float,
        *,
        retries: int = 0,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        tokens_estimated: bool = False,
    ) -> None:
        """One LLM request for `purpose` (one of `PURPOSES`) ended with `outcome` (one of
        `OUTCOMES`) after `seconds` (this request alone, its retries and waiting for a free slot
        included), sent again `retries` times. The tokens are the server's counts, or estimates
        when `tokens_estimated` (the server reported none); both are 0 when no answer came."""

    def judge_verdicts(self, *, llm: int = 0, cache: int = 0) -> None:
        """LLM-judge verdicts obtained: `llm` from a request, `cache` reused from the cache."""

    def template_fallback(self, action: str) -> None:
        """Templates wrote `action`'s words because the LLM failed (error, timeout, empty) or
        answered a line the guild heard lately (its request is reported as a success)."""

    def unsupported(self, action: str, feature: str) -> None:
        """A plugin `action` asked for `feature` (a MoFox-Bot send or call: "send_custom",
        "send_command", ...) that Discord has no equivalent for; nothing was sent for it."""

    def budget_exhausted(self, purpose: str, scope: str) -> None:
        """An LLM request for `purpose` was not sent: the `scope` budget ("per_guild" or
        "global", `actions.budget.SCOPES`) of the day would have been overshot."""


class _Unobserved:
    """Reports go nowhere (a context built without an observer)."""

    def llm_request(self, purpose, outcome, seconds, **_kw) -> None:  # type: ignore[no-untyped-def]
        pass

    def judge_verdicts(self, *, llm: int = 0, cache: int = 0) -> None:
        pass

    def template_fallback(self, action: str) -> None:
        pass

    def unsupported(self, action: str, feature: str) -> None:
        pass

    def budget_exhausted(self, purpose: str, scope: str) -> None:
        pass


UNOBSERVED: ActionObserver = _Unobserved()
"""The observer of a context that has none."""


class LLMRequest(msgspec.Struct, frozen=True):
    """One reported LLM request, as `RecordingObserver` keeps it."""

    purpose: str
    outcome: str
    seconds: float
    retries: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    tokens_estimated: bool = False


@dataclass
class RecordingObserver:
    """An `ActionObserver` that keeps every report (tests, simulations)."""

    requests: list[LLMRequest] = field(default_factory=list)
    verdicts: dict[str, int] = field(default_factory=lambda: {"llm": 0, "cache": 0})
    fallbacks: list[str] = field(default_factory=list)
    refusals: list[tuple[str, str]] = field(default_factory=list)
    exhausted: list[tuple[str, str]] = field(default_factory=list)

    def llm_request(
        self,
        purpose: str,
        outcome: str,
        seconds: float,
        *,
        retries: int = 0,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        tokens_estimated: bool = False,
    ) -> None:
        self.requests.append(
            LLMRequest(
                purpose,
                outcome,
                seconds,
                retries=retries,
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                tokens_estimated=tokens_estimated,
            )
        )

    def judge_verdicts(self, *, llm: int = 0, cache: int = 0) -> None:
        self.verdicts["llm"] += llm
        self.verdicts["cache"] += cache

    def template_fallback(self, action: str) -> None:
        self.fallbacks.append(action)

    def unsupported(self, action: str, feature: str) -> None:
        self.refusals.append((action, feature))

    def budget_exhausted(self, purpose: str, scope: str) -> None:
        self.exhausted.append((purpose, scope))


class LLMReply(msgspec.Struct, frozen=True):
    """What `ask_llm()` got: the answer's text (None when no answer came), the reported outcome,
    and the failure's type name when the request failed."""

    text: str | None
    outcome: str
    error: str = ""


def estimate_tokens(text: str) -> int:
    """A rough token count of `text` (`CHARS_PER_TOKEN` characters a token)."""
    return -(-len(text) // CHARS_PER_TOKEN)


def readable(text: str) -> str:
    """The default grading of an answer: "success", or "empty" when it is blank."""
    return "success" if text.strip() else "empty"


async def ask_llm(
    llm: LLMClient,
    prompt: str,
    *,
    system: str | None,
    purpose: str,
    observer: ActionObserver,
    grade: Callable[[str], str] = readable,
    timeout_s: float | None = None,
    deadline: float | None = None,
    budget: TokenBudget | None = None,
) -> LLMReply:
    """Ask `llm` once (its own retries included) and report the request to `observer`.

    Parameters
    ----------
    grade:
        The outcome of an answer that came: "success", "empty" or "garbage" (the caller's format).
    timeout_s:
        Give up after this long (outcome "timeout"), on top of the client's own timeout.
    deadline:
        Give up at this event-loop time (``ctx.deadline``), whichever comes first: the
        request, its retries and backoff included, is cut and reported as a "timeout". When it
        has already passed, no request is sent (nor reported) and the outcome is "timeout".
    budget:
        The round's token budget (``ctx.budget``): the request's cost is reserved before it is
        sent and settled after. When it does not fit, no request is sent, the observer hears
        `budget_exhausted`, and the outcome is `BUDGET`.

    Returns an `LLMReply` whose text is the final answer only (`actions.reasoning.final_answer`:
    a reasoning model's ``<think>`` blocks removed); never raises for the LLM's fault. A cancelled
    request is reported ("cancelled") and the cancellation goes on.
    """
    t0 = perf_counter()
    text: str | None = None
    retries = 0
    tokens: tuple[int | None, int | None] = (None, None)
    loop = asyncio.get_running_loop()
    when = deadline
    if timeout_s is not None:
        own = loop.time() + timeout_s
        when = own if when is None else min(when, own)
    if when is not None and when <= loop.time():
        # No time left (what came before in the action used it up): no request is sent, so
        # none is reported, and the caller's template speaks at once.
        return LLMReply(None, "timeout", "TimeoutError")
    if isinstance(llm, BudgetedLLM):  # the round's ctx.llm: its budget, reserved once
        budget = budget if budget is not None else llm.budget
        llm = llm.llm
    held = None
    if budget is not None:
        try:
            async with asyncio.timeout_at(when):  # a shared ledger's store is I/O too
                held = await budget.reserve(prompt, system)
        except TimeoutError:  # nothing was sent (nor reported); a hold in the store errs high
            return LLMReply(None, "timeout", "TimeoutError")
        if isinstance(held, str):
            observer.budget_exhausted(purpose, held)
            return LLMReply(None, BUDGET, f"the {held} token budget is spent")
    try:
        async with asyncio.timeout_at(when):
            if isinstance(llm, MeteredLLMClient):
                answer = await llm.request(prompt, system=system, purpose=purpose)
                text, retries = answer.text, answer.retries
                tokens = (answer.prompt_tokens, answer.completion_tokens)
            else:
                text = await llm.complete(prompt, system=system, purpose=purpose)
    except asyncio.CancelledError:
        observer.llm_request(purpose, "cancelled", perf_counter() - t0)
        raise  # (a reservation stays spent: the server may have spent it)
    except Exception as e:
        seconds = perf_counter() - t0
        outcome = "timeout" if isinstance(e, TimeoutError | LLMTimeout) else "error"
        retries = e.retries if isinstance(e, LLMError) else 0
        observer.llm_request(purpose, outcome, seconds, retries=retries)
        return LLMReply(None, outcome, type(e).__name__)
    seconds = perf_counter() - t0
    if not isinstance(text, str):
        text = ""
    prompt_tokens, completion_tokens = tokens
    estimated = prompt_tokens is None or completion_tokens is None
    if estimated:
        prompt_tokens = estimate_tokens(prompt) + estimate_tokens(system or "")
        completion_tokens = estimate_tokens(text)  # the reasoning was written too
    if held is not None:
        # the server's count replaces the reservation; an estimate could fall short of what the
        # server spent (another script, a reasoning model's thinking), so then the bound stays
        used = None if estimated else (prompt_tokens or 0) + (completion_tokens or 0)
        await budget.settle(held, used)  # type: ignore[union-attr]
    text = final_answer(text)  # nothing downstream ever sees a model's reasoning
    outcome = grade(text)
    observer.llm_request(
        purpose, outcome, seconds, retries=retries, prompt_tokens=prompt_tokens or 0,
        completion_tokens=completion_tokens or 0, tokens_estimated=estimated,
    )  # fmt: skip
    return LLMReply(text, outcome)
