"""Token budgets (`actions.budget`): reserve before a request, settle after, per UTC day.

The ledgers are checked directly and through `ask_llm`, the one door of every LLM request; a fake
client answers with the usage it is told, after a delay, so concurrent requests overlap.
"""

from __future__ import annotations

import asyncio

import msgspec
import pytest

from actions import BudgetPolicy, LocalLedger, RecordingObserver, ask_llm
from actions.budget import CHAT_OVERHEAD_TOKENS, DAY_S, day_of, reservation
from actions.llm import Completion, LLMTimeout
from engine import AutonomousEngine, GuildState
from engine.state import GuildSnapshot

D0 = 20_000 * DAY_S  # 2024-10-04 00:00 UTC
MAX = 100


class Metered:
    """A metered client: answers after `delay_s` with the usage it is given (or times out)."""

    def __init__(self, usage: tuple[int, int] | None = (40, 10), delay_s: float = 0.01) -> None:
        self.usage, self.delay_s, self.calls = usage, delay_s, 0

    async def complete(self, prompt, *, system=None, purpose="content") -> str:
        return (await self.request(prompt, system=system, purpose=purpose)).text

    async def request(self, prompt, *, system=None, purpose="content") -> Completion:
        self.calls += 1
        await asyncio.sleep(self.delay_s)
        if self.usage is None:
            raise LLMTimeout("no answer")
        return Completion("ok", *self.usage)


def cost(prompt: str = "hi", system: str | None = "sys") -> int:
    return reservation(prompt, system, MAX)


async def ask(llm, state: GuildState, policy: BudgetPolicy, *, at: float = D0 + 10, obs=None):
    obs = obs if obs is not None else RecordingObserver()
    return await ask_llm(
        llm, "hi", system="sys", purpose="content", observer=obs,
        budget=policy.for_guild(state, at),
    )  # fmt: skip


def test_a_reservation_bounds_any_text_byte_by_byte() -> None:
    # a token covers at least one byte: the UTF-8 bytes bound the tokens of any script
    for text in ("hello there", "こんにちは、元気？", "🎮🎮🎮", "x" * 1000):
        got = reservation(text, "be kind", 64)
        assert got == len(text.encode()) + len(b"be kind") + 3 * CHAT_OVERHEAD_TOKENS + 64
    assert reservation("abc", None, 1) == 3 + 2 * CHAT_OVERHEAD_TOKENS + 1
    assert day_of(D0 + DAY_S - 0.001) == day_of(D0) == 20_000 and day_of(D0 + DAY_S) == 20_001


async def test_reserve_then_settle_with_the_real_cost() -> None:
    st = GuildState(mood="bubbly")
    policy = BudgetPolicy(10 * cost(), max_tokens=MAX)
    budget = policy.for_guild(st, D0 + 5)
    assert budget is not None
    held = await budget.reserve("hi", "sys")
    assert not isinstance(held, str) and held.tokens == cost() and held.day == 20_000
    assert (st.llm_day, st.llm_tokens) == (20_000, cost())  # held while the request runs
    await budget.settle(held, 50)
    assert st.llm_tokens == 50 and policy.used(st, D0 + 5) == 50
    assert policy.used(st, D0 + DAY_S) == 0  # tomorrow's use


async def test_a_request_that_does_not_fit_is_not_sent_and_is_counted() -> None:
    st = GuildState(mood="bubbly")
    policy = BudgetPolicy(2 * cost(), max_tokens=MAX)  # two reservations, no more
    llm, obs = Metered(usage=(cost(), 0)), RecordingObserver()  # each costs its whole bound
    outcomes = [(await ask(llm, st, policy, obs=obs)).outcome for _ in range(3)]
    assert outcomes == ["success", "success", "budget"]
    assert llm.calls == 2 and st.llm_tokens == 2 * cost()
    assert obs.exhausted == [("content", "per_guild")]
    assert len(obs.requests) == 2  # the refused one was never sent, so never reported
    # a cheap day: the real costs settle lower, and the room they leave is used again
    st2, llm2 = GuildState(mood="bubbly"), Metered(usage=(10, 5))
    for _ in range(5):
        assert (await ask(llm2, st2, policy)).outcome == "success"
    assert st2.llm_tokens == 75


async def test_the_day_rolls_over_at_midnight_utc() -> None:
    st = GuildState(mood="bubbly")
    policy = BudgetPolicy(cost(), max_tokens=MAX)
    llm = Metered(usage=(cost(), 0))
    assert (await ask(llm, st, policy, at=D0 + DAY_S - 1)).outcome == "success"
    assert (await ask(llm, st, policy, at=D0 + DAY_S - 0.5)).outcome == "budget"
    assert (await ask(llm, st, policy, at=D0 + DAY_S)).outcome == "success"  # a new day
    assert (st.llm_day, st.llm_tokens) == (20_001, cost())
    # a clock set back never reopens a day already spent: it charges the guild's newest day
    assert (await ask(llm, st, policy, at=D0 + 10)).outcome == "budget"


async def test_concurrent_requests_never_overshoot_together() -> None:
    # 50 requests at once, each costing its whole reservation: only those that fit are sent
    st = GuildState(mood="bubbly")
    limit = 7 * cost() + cost() // 2
    policy = BudgetPolicy(limit, max_tokens=MAX)
    llm, obs = Metered(usage=(cost(), 0), delay_s=0.05), RecordingObserver()
    replies = await asyncio.gather(*(ask(llm, st, policy, obs=obs) for _ in range(50)))
    assert sum(r.outcome == "success" for r in replies) == 7 == llm.calls
    assert st.llm_tokens == 7 * cost() <= limit and len(obs.exhausted) == 43
    # positive control: with room for all, the same 50 requests are all sent
    roomy, llm2 = GuildState(mood="bubbly"), Metered(usage=(cost(), 0), delay_s=0.05)
    wide = BudgetPolicy(100 * cost(), max_tokens=MAX)
    replies = await asyncio.gather(*(ask(llm2, roomy, wide) for _ in range(50)))
    assert llm2.calls == 50 and roomy.llm_tokens == 50 * cost() > limit
    # no limit: every request goes, and the guild's day is still counted (for its status)
    counted, llm3 = GuildState(mood="bubbly"), Metered(usage=(cost(), 0), delay_s=0.05)
    await asyncio.gather(*(ask(llm3, counted, BudgetPolicy(0, max_tokens=MAX)) for _ in range(50)))
    assert llm3.calls == 50 and counted.llm_tokens == 50 * cost()


async def test_the_global_budget_binds_all_guilds_together() -> None:
    ledger = LocalLedger()
    policy = BudgetPolicy(0, 5 * cost(), max_tokens=MAX, ledger=ledger)
    guilds = [GuildState(mood="bubbly") for _ in range(4)]
    llm, obs = Metered(usage=(cost(), 0), delay_s=0.02), RecordingObserver()
    asks = [ask(llm, g, policy, obs=obs) for g in guilds for _ in range(3)]
    replies = await asyncio.gather(*asks)
    assert sum(r.outcome == "success" for r in replies) == 5 == llm.calls
    assert await ledger.spent(20_000) == 5 * cost()
    assert sum(g.llm_tokens for g in guilds) == 5 * cost()  # refused ones gave their hold back
    assert set(obs.exhausted) == {("content", "global")} and len(obs.exhausted) == 7
    # the real cost settles in the global ledger too
    ledger2 = LocalLedger()
    policy2 = BudgetPolicy(0, 10**6, max_tokens=MAX, ledger=ledger2)
    await ask(Metered(usage=(30, 3)), guilds[0], policy2)
    assert await ledger2.spent(20_000) == 33 and await ledger2.spent(20_001) == 0


async def test_a_request_without_an_answer_stays_charged_at_its_reservation() -> None:
    st = GuildState(mood="bubbly")
    policy = BudgetPolicy(10 * cost(), max_tokens=MAX)
    reply = await ask(Metered(usage=None), st, policy)
    assert reply.outcome == "timeout" and st.llm_tokens == cost()  # the server may have spent it
    # cancelled mid-request: charged as well
    task = asyncio.ensure_future(ask(Metered(delay_s=10), st, policy))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert st.llm_tokens == 2 * cost()


def test_the_guilds_ledger_survives_a_restart_through_its_snapshot() -> None:
    engine = AutonomousEngine(started_at=D0)
    engine.update_mood(1, "bubbly", at=D0)
    st = engine.state(1)
    assert st is not None
    st.llm_day, st.llm_tokens = 20_000, 1234
    again = AutonomousEngine(started_at=D0)
    again.restore(1, engine.snapshot(1))
    restored = again.state(1)
    assert restored is not None and (restored.llm_day, restored.llm_tokens) == (20_000, 1234)
    # a snapshot written before the ledger existed (format 2) loads with nothing spent
    old = msgspec.msgpack.decode(msgspec.msgpack.encode(GuildSnapshot(mood="shy", version=2)))
    del old["llm_day"], old["llm_tokens"]
    again.restore(2, msgspec.msgpack.encode(old))
    st2 = again.state(2)
    assert st2 is not None and (st2.llm_day, st2.llm_tokens) == (0, 0)


def test_bad_limits_are_refused_in_a_sentence() -> None:
    with pytest.raises(ValueError, match=r"token budgets must be >= 0 \(0: no limit\), got -1"):
        BudgetPolicy(-1)
    with pytest.raises(ValueError, match="max_tokens must be >= 1, got 0"):
        BudgetPolicy(10, max_tokens=0)
    assert not BudgetPolicy().enabled and BudgetPolicy(0, 5).enabled


async def test_every_purpose_falls_back_as_when_the_llm_is_absent() -> None:
    # a guild whose day is spent: the judge reads no, the planner uses its rules, the writer's
    # templates speak; nothing reaches the LLM and each refusal is counted with its purpose
    from actions import BUILTIN_ACTIONS, ActionModifier, ContentWriter, LLMPlanner
    from tests.actions.actions_testkit import FakeLLM, decision, make_ctx
    from tests.actions.test_judge import by_name, judged

    spent = GuildState(mood="bubbly", llm_day=day_of(2000.0), llm_tokens=10_000)
    policy = BudgetPolicy(10_000, max_tokens=MAX)
    llm, seen = FakeLLM(by_name({"a1"})), RecordingObserver()

    def ctx(now: float = 2000.0):
        return make_ctx("hi", llm=llm, observer=seen, budget=policy.for_guild(spent, now),
                        decision=decision("join_conversation"), addressed=True)  # fmt: skip

    judged_report = await ActionModifier([judged("a1")]).activate(ctx())
    assert judged_report.activated == []  # the judge would have said yes to a1
    c = ctx()
    report = await ActionModifier(BUILTIN_ACTIONS).activate(c)
    assert await LLMPlanner(llm).plan(c, report) == "join_conversation"  # the rules' pick
    written = await ContentWriter(llm).write(c, "join_conversation")
    assert written.source == "template" and written.llm_outcome == "budget" and written.text
    assert llm.calls == [] and seen.requests == []
    assert seen.exhausted == [("judge", "per_guild"), ("plan", "per_guild"),
                              ("content", "per_guild")]  # fmt: skip
    # positive control: the same guild on the next day asks the LLM for each
    assert (await ActionModifier([judged("a1")]).activate(ctx(2000.0 + DAY_S))).activated == ["a1"]
    assert len(llm.calls) == 1


async def test_a_server_that_reports_no_usage_is_charged_the_bound() -> None:
    # an estimate from the text could fall short of the server's real count: the bound stays
    from tests.actions.actions_testkit import FakeLLM

    st = GuildState(mood="bubbly")
    policy = BudgetPolicy(10 * cost(), max_tokens=MAX)
    obs = RecordingObserver()
    reply = await ask(FakeLLM("fine"), st, policy, obs=obs)
    assert reply.outcome == "success" and st.llm_tokens == cost()
    [req] = obs.requests
    assert req.tokens_estimated and req.prompt_tokens + req.completion_tokens < cost()


async def test_a_slow_shared_ledger_is_bounded_by_the_requests_deadline() -> None:
    class Stuck(LocalLedger):
        async def reserve(self, day: int, tokens: int, limit: int) -> bool:
            await asyncio.sleep(10)
            return True

    st, llm, obs = GuildState(mood="bubbly"), Metered(), RecordingObserver()
    policy = BudgetPolicy(0, 10**6, max_tokens=MAX, ledger=Stuck())
    reply = await ask_llm(llm, "hi", system="sys", purpose="content", observer=obs,
                          timeout_s=0.05, budget=policy.for_guild(st, D0))  # fmt: skip
    assert reply.outcome == "timeout" and llm.calls == 0 and obs.requests == []
    assert st.llm_tokens == 0  # the guild's hold was given back
