"""Token budgets: each guild's, and all guilds', LLM tokens per UTC day.

Before any LLM request (the writer's, the judge's, the planner's: every purpose goes through
`actions.observer.ask_llm`), the round's `TokenBudget` *reserves* the most the request can cost
(`reservation()`); the request is sent only if the reservation fits under both limits, and once it
ended the real cost (the server's ``usage``) replaces the reservation (*settle*); a server that
reports no usage is charged the reservation, as an estimate could fall short of its real count.
A request the budget refuses is not sent: the writer's templates write the words, the judge reads
it as no, the planner uses the rules, as when the LLM fails.

The rule this gives (`guildmind simulate --budget` checks it): a guild's tokens on a UTC day never
exceed ``guild_daily_tokens``, and the tokens of every guild sharing one `GlobalLedger` never
exceed ``global_daily_tokens``, provided that no request costs more than its reservation. A
reservation is an upper bound for byte-level BPE tokenizers (GPT, Llama 3, Qwen, ...): every token
covers at least one byte of the text, the chat format adds a few tokens per message
(`CHAT_OVERHEAD_TOKENS`), and the answer is cut at ``max_tokens``, which is sent with the request.
Requests of concurrent rounds cannot together overshoot: each holds its reservation before it asks.
A request that got no answer (a timeout, an error, cancelled) is charged its whole reservation:
the server may have spent it. A server that counts more than the bound (another tokenizer, hidden
tool prompts) is counted as it says, and may push a guild past its limit by that excess.

The day is the UTC day (``now // 86400``) for both budgets: one day for every guild, which the
global budget needs, and the day most providers bill by. The guild's ledger (``llm_day``,
``llm_tokens``) is part of its `engine.GuildState`, so it is persisted with the guild and survives
a restart; reservations in flight are in it, so a crash mid-request errs on the side of spent.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Protocol

import msgspec

if TYPE_CHECKING:
    from actions.llm import LLMClient
    from actions.observer import ActionObserver
    from engine import GuildState

DAY_S = 86400
"""A budget day: a UTC day, in seconds."""

CHAT_OVERHEAD_TOKENS = 8
"""Tokens the chat format adds per message (role markers, separators; OpenAI's cookbook counts 3
to 4 per message and 3 for the reply's priming): a margin above them."""

SCOPES = ("per_guild", "global")
"""Which budget refused a request (``scope`` label of ``guildmind_llm_budget_exhausted_total``)."""


def day_of(now: float) -> int:
    """The UTC day of `now` (seconds since the epoch): days since 1970-01-01."""
    return int(now // DAY_S)


def reservation(prompt: str, system: str | None, max_tokens: int) -> int:
    """The most one request can cost, in tokens: the UTF-8 bytes of its messages, the chat
    format's `CHAT_OVERHEAD_TOKENS` per message (and one more for the answer's), and the answer's
    cap `max_tokens`."""
    messages = [prompt] if not system else [system, prompt]
    text = sum(len(m.encode("utf-8", "surrogatepass")) for m in messages)
    return text + CHAT_OVERHEAD_TOKENS * (len(messages) + 1) + max_tokens


class GlobalLedger(Protocol):
    """All guilds' tokens of a UTC day, shared by every host that uses the same ledger."""

    async def reserve(self, day: int, tokens: int, limit: int) -> bool:
        """Add `tokens` to `day`'s count if the count stays ≤ `limit`; whether it did (atomic)."""
        ...

    async def settle(self, day: int, delta: int) -> None:
        """Correct `day`'s count by `delta` tokens (a reservation replaced by the real cost)."""
        ...

    async def spent(self, day: int) -> int:
        """`day`'s count (reservations in flight included)."""
        ...


class LocalLedger:
    """A `GlobalLedger` in this process only (one host, the simulation, tests): its count
    starts at 0 when the process does."""

    def __init__(self) -> None:
        self.day, self.tokens = 0, 0

    def _roll(self, day: int) -> None:
        if day > self.day:
            self.day, self.tokens = day, 0

    async def reserve(self, day: int, tokens: int, limit: int) -> bool:
        self._roll(day)
        if day < self.day or self.tokens + tokens > limit:
            return False
        self.tokens += tokens
        return True

    async def settle(self, day: int, delta: int) -> None:
        if day == self.day:
            self.tokens = max(0, self.tokens + delta)

    async def spent(self, day: int) -> int:
        return self.tokens if day == self.day else 0


class Reservation(msgspec.Struct, frozen=True):
    """Tokens held for one request on UTC `day`; `shared`: also in the global ledger."""

    day: int
    tokens: int
    shared: bool = False


class BudgetPolicy:
    """A host's token budgets: the limits, the answer's cap and the global ledger.

    Parameters
    ----------
    guild_daily_tokens, global_daily_tokens:
        The limits per UTC day (0: none). ``llm.guild_daily_tokens``, ``llm.global_daily_tokens``.
    max_tokens:
        The cap on one answer, sent with every request (``llm.max_tokens``).
    ledger:
        Where the global count is kept (default: this process, `LocalLedger`).

    Raises
    ------
    ValueError
        For a negative limit or a cap below 1.
    """

    def __init__(
        self,
        guild_daily_tokens: int = 0,
        global_daily_tokens: int = 0,
        *,
        max_tokens: int = 1024,
        ledger: GlobalLedger | None = None,
    ) -> None:
        if guild_daily_tokens < 0 or global_daily_tokens < 0:
            raise ValueError(
                "token budgets must be >= 0 (0: no limit), got "
                f"{guild_daily_tokens!r} per guild and {global_daily_tokens!r} in all."
            )
        if max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1, got {max_tokens!r}.")
        self.guild_daily_tokens = guild_daily_tokens
        self.global_daily_tokens = global_daily_tokens
        self.max_tokens = max_tokens
        self.ledger: GlobalLedger = ledger if ledger is not None else LocalLedger()

    @property
    def enabled(self) -> bool:
        """Whether any limit is set."""
        return bool(self.guild_daily_tokens or self.global_daily_tokens)

    def for_guild(self, state: GuildState, now: float) -> TokenBudget:
        """The budget of one round of the guild in `state` at `now`. The guild's tokens are
        counted even when no limit is set, so `/guildmind status` shows the day's use."""
        return TokenBudget(self, state, now)

    def used(self, state: GuildState, now: float) -> int:
        """The guild's tokens on `now`'s UTC day (requests in flight at their reservation)."""
        return state.llm_tokens if state.llm_day == day_of(now) else 0


class TokenBudget:
    """One round's budget port (``ActionContext.budget``): reserve before a request, settle
    after it. The guild's count lives in its `GuildState` (persisted with it); at most one round
    runs per guild, and its requests reserve on one event loop, so a check and its reservation
    are never split."""

    __slots__ = ("day", "policy", "state")

    def __init__(self, policy: BudgetPolicy, state: GuildState, now: float) -> None:
        self.policy, self.state, self.day = policy, state, day_of(now)

    async def reserve(self, prompt: str, system: str | None) -> Reservation | str:
        """Hold what a request of `prompt` and `system` can cost; the `Reservation`, or the scope
        ("per_guild" or "global", `SCOPES`) of the budget it would overshoot."""
        p, st = self.policy, self.state
        tokens = reservation(prompt, system, p.max_tokens)
        day = max(self.day, st.llm_day)  # (a clock set back never reopens a spent day)
        if st.llm_day != day:
            st.llm_day, st.llm_tokens = day, 0
        if p.guild_daily_tokens and st.llm_tokens + tokens > p.guild_daily_tokens:
            return "per_guild"
        st.llm_tokens += tokens  # held before the await: a concurrent request sees it
        if p.global_daily_tokens:
            try:
                held = await p.ledger.reserve(day, tokens, p.global_daily_tokens)
            except BaseException:
                self._give_back(day, tokens)
                raise
            if not held:
                self._give_back(day, tokens)
                return "global"
        return Reservation(day, tokens, shared=bool(p.global_daily_tokens))

    async def settle(self, held: Reservation, used: int | None) -> None:
        """Replace `held` by what the request cost: `used` tokens, or None when no answer came
        (the reservation stays spent: the server may have spent it)."""
        if used is None:
            return
        delta = used - held.tokens
        self._give_back(held.day, -delta)
        if held.shared and delta:
            await asyncio.shield(self.policy.ledger.settle(held.day, delta))

    def _give_back(self, day: int, tokens: int) -> None:
        st = self.state
        if st.llm_day == day:
            st.llm_tokens = max(0, st.llm_tokens - tokens)


class BudgetedLLM:
    """An `LLMClient` under a round's `TokenBudget`: the runtime's rounds set it as ``ctx.llm``,
    so an action that calls ``self.ctx.llm.complete()`` itself is held to the budget (and its
    request reported) like the built-in ones. `actions.observer.ask_llm` unwraps it and
    reserves once.

    `complete()` raises `actions.llm.LLMError` when the budget has no room (nothing is sent;
    the observer hears `budget_exhausted`), `LLMTimeout`/`LLMError` when the request fails.
    """

    __slots__ = ("budget", "llm", "observer")

    def __init__(self, llm: LLMClient, budget: TokenBudget, observer: ActionObserver) -> None:
        self.llm, self.budget, self.observer = llm, budget, observer

    async def complete(
        self, prompt: str, *, system: str | None = None, purpose: str = "content"
    ) -> str:
        from actions.llm import LLMError, LLMTimeout
        from actions.observer import ask_llm

        reply = await ask_llm(self.llm, prompt, system=system, purpose=purpose,
                              observer=self.observer, budget=self.budget)  # fmt: skip
        if reply.text is None:
            error = LLMTimeout if reply.outcome == "timeout" else LLMError
            raise error(f"LLM {purpose} request not answered: {reply.error or reply.outcome}")
        return reply.text
