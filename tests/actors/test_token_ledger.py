"""The global token budget's ledger in the state store, shared by every host that shares it.

Each store kind's `add_tokens` is checked against the real thing (a SQLite file opened by several
processes, a real `redis-server` with several clients): however many hosts add at once, the day's
count never passes the limit, and each addition that fits is taken.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from actions import BudgetPolicy, RecordingObserver, ask_llm
from actions.budget import reservation
from actors.stores.base import MemoryStore, StateStore, open_store
from actors.stores.ledger import StoreLedger
from engine import GuildState
from tests.actions.test_token_budget import D0, Metered

DAY = 20_000
LIMIT, STEP, TRIES = 1000, 7, 50  # 4 hosts × 50 tries of 7 tokens: only 142 fit in 1000


def _sqlite_host(path: str, out: Any) -> None:
    store = open_store(f"sqlite:{path}")
    taken = sum(store.add_tokens(DAY, STEP, LIMIT) for _ in range(TRIES))
    store.close()
    out.put(taken)


def race(store: Any, day: int, limit: int | None) -> int:
    return sum(store.add_tokens(day, STEP, limit) for _ in range(TRIES))


def check_semantics(store: Any) -> None:
    assert store.tokens(DAY) == 0
    assert store.add_tokens(DAY, 600, LIMIT) and not store.add_tokens(DAY, 401, LIMIT)
    assert store.add_tokens(DAY, 400, LIMIT) and store.tokens(DAY) == LIMIT
    assert store.add_tokens(DAY, -300) and store.tokens(DAY) == 700  # a settlement gives back
    assert store.add_tokens(DAY, -5000) and store.tokens(DAY) == 0  # never below nothing
    assert store.add_tokens(DAY + 1, 5, LIMIT) and store.tokens(DAY + 1) == 5  # days apart
    assert store.add_tokens(DAY + 2, 10**9)  # no limit: settling a server's larger count


def test_each_store_kind_counts_a_day_and_keeps_its_limit(tmp_path: Path, redis_server) -> None:
    stores = [
        MemoryStore(),
        open_store(f"sqlite:{tmp_path / 'a.db'}"),
        open_store(f"{redis_server.url}?prefix=ledger-a:"),
    ]
    for store in stores:
        try:
            check_semantics(store)
        finally:
            store.close()
    # the SQLite count survives the process (a restarted host reads it back)
    again = open_store(f"sqlite:{tmp_path / 'a.db'}")
    assert again.tokens(DAY + 1) == 5
    again.close()


def test_hosts_in_several_processes_share_one_sqlite_count(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.db")
    open_store(f"sqlite:{path}").close()  # set up once (WAL) before the race
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_sqlite_host, args=(path, out)) for _ in range(4)]
    for p in procs:
        p.start()
    taken = sum(out.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(timeout=60)
    store = open_store(f"sqlite:{path}")
    assert taken == LIMIT // STEP == 142 and store.tokens(DAY) == 142 * STEP <= LIMIT
    store.close()


def test_hosts_with_their_own_clients_share_one_redis_count(redis_server) -> None:
    stores = [open_store(f"{redis_server.url}?prefix=ledger-b:") for _ in range(4)]
    try:
        with ThreadPoolExecutor(4) as pool:
            taken = sum(pool.map(lambda s: race(s, DAY, LIMIT), stores))
            # positive control: the same race without a limit takes every addition
            free = sum(pool.map(lambda s: race(s, DAY + 1, None), stores))
        assert taken == 142 and stores[0].tokens(DAY) == 142 * STEP
        assert free == 4 * TRIES and stores[2].tokens(DAY + 1) == 4 * TRIES * STEP > LIMIT
    finally:
        for s in stores:
            s.close()


async def test_two_hosts_budgets_share_the_store_ledger(tmp_path: Path) -> None:
    # two hosts (their own store connections, their own guilds) under one global budget
    path = tmp_path / "g.db"
    cost = reservation("hi", "sys", 100)
    stores: list[StateStore] = [open_store(f"sqlite:{path}") for _ in range(2)]
    hosts = [BudgetPolicy(0, 5 * cost, max_tokens=100, ledger=StoreLedger(s)) for s in stores]
    obs = RecordingObserver()
    llm = Metered(usage=(cost, 0), delay_s=0.02)

    async def ask(policy: BudgetPolicy, st: GuildState) -> str:
        reply = await ask_llm(llm, "hi", system="sys", purpose="judge", observer=obs,
                              budget=policy.for_guild(st, D0 + 1))  # fmt: skip
        return reply.outcome

    guilds = [GuildState(mood="shy") for _ in range(6)]
    outcomes = await asyncio.gather(
        *(ask(hosts[i % 2], g) for i, g in enumerate(guilds) for _ in range(2))
    )
    assert outcomes.count("success") == 5 == llm.calls
    assert await hosts[1].ledger.spent(DAY) == 5 * cost
    assert set(obs.exhausted) == {("judge", "global")}
    # a store that cannot be reached refuses (fails closed), and the guild's hold is given back
    stores[0].close()
    st = GuildState(mood="shy")
    hosts[0].global_daily_tokens = 10**9
    assert await ask(hosts[0], st) == "budget" and st.llm_tokens == 0
    stores[1].close()


@pytest.fixture(autouse=True)
def _redis_prefixes_clean(request):
    yield
    if "redis_server" in request.fixturenames:
        server = request.getfixturevalue("redis_server")
        import redis

        client = redis.Redis.from_url(server.url)
        for key in client.scan_iter(match="ledger-*"):
            client.delete(key)
        client.close()
