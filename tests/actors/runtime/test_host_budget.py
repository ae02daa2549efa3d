"""A guild's daily token budget, through a real guild host's rounds and the real LLM client.

The host is wired from a TOML configuration (`build_host_core`: the OpenAI-compatible client
against the project's fake server, `tests.actions.llm_server`). Each mention gets a reply round;
the server reports each request's usage. Once the next request would not fit in the day's budget,
none is sent: templates write the reply, `guildmind_llm_budget_exhausted_total` counts it, and
`/guildmind status` says how much is used. The spend survives a restart (the guild's snapshot in
the store), and a new UTC day starts afresh.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from actions import BUILTIN_ACTIONS, ActionRegistry, BaseAction, LLMError, OutgoingMessage
from actors.clock import ManualClock
from actors.loop import admin
from actors.loop.assembly import build_host_core
from actors.routing.wire import Batch, Line
from actors.sources.discord.commands import describe, tokens_line
from actors.stores.base import MemoryStore, StateStore, open_store
from engine import MessageEvent
from guildmind.config import parse_config
from metrics import GuildmindMetrics, new_registry
from tests.actions.llm_server import FakeLLMServer, fake_llm_server

DAY = 86400.0
T0 = 20_000 * DAY + 3600  # 01:00 UTC
G, G2 = 5001, 5002
ALICE = 111111111111111111
LIMIT = 12_000
USAGE = (4000, 1000)  # what the server says each request cost: 5,000 tokens


def toml(url: str, limit: int, global_limit: int = 0) -> str:
    return f"""
[llm]
base_url = "{url}"
model = "test"
max_retries = 0
max_tokens = 1500
guild_daily_tokens = {limit}
global_daily_tokens = {global_limit}
[defaults]
quiet_hours = false
[mood_rotation]
interval_s = 0
[guilds.{G}]
mood = "shy"
channels = [77]
[guilds.{G2}]
mood = "shy"
channels = [77]
"""


class Host:
    def __init__(
        self,
        server: FakeLLMServer,
        store: StateStore,
        at: float,
        limit: int,
        global_limit: int = 0,
        registry: ActionRegistry | None = None,
    ) -> None:
        self.clock = ManualClock(at)
        self.sent: list[OutgoingMessage] = []
        self.metrics = GuildmindMetrics(new_registry(process_metrics=False))

        async def send(gateway, messages) -> None:
            self.sent.extend(messages)

        self.core = build_host_core(
            "host-0", parse_config(toml(server.url, limit, global_limit), env={}), store=store,
            clock=self.clock, started_at=T0 - 600, send=send, metrics=self.metrics, seed=1,
            registry=registry,
        )  # fmt: skip
        self.core.load(lambda gid: True)
        self.seq = 0

    async def ask(self, guild: int = G) -> OutgoingMessage:
        """Alice addresses the bot; the reply it sent."""
        self.clock.set(self.clock.now() + 60)  # past the 30 s between two of the bot's actions
        at = self.clock.now()
        event = MessageEvent(guild, 77, ALICE, at, mentions_bot=True)
        text = "Miku, what do you think?"
        line = Line(guild, 77, 9000 + self.seq, ALICE, "Alice", text, at, True)
        before = len(self.sent)
        await self.core.apply(Batch("gw-0", self.seq, 0, T0, [event], [line]))
        self.seq += 1
        while self.core.tasks:
            await asyncio.gather(*list(self.core.tasks))
        [reply] = self.sent[before:]
        return reply

    def exhausted(self, purpose: str = "content", scope: str = "per_guild") -> float:
        value = self.metrics.registry.get_sample_value(
            "guildmind_llm_budget_exhausted_total", {"purpose": purpose, "scope": scope}
        )
        assert value is not None
        return value

    async def close(self) -> None:
        await self.core.flush(force=True)
        llm = self.core.runner.writer.llm
        await llm.close()  # type: ignore[union-attr]


@pytest.fixture
async def server():
    async with fake_llm_server() as s:
        words = iter(["sure thing", "why not", "let's go", "count me in", "sounds fun"])
        s.default = lambda body: (next(words), *USAGE)  # never a repeat
        yield s


async def test_a_spent_budget_hands_the_words_to_templates(server: FakeLLMServer) -> None:
    store = MemoryStore()
    h = Host(server, store, T0, LIMIT)
    # two requests fit (5,000 each, settled from the server's usage); the third would not
    assert [(await h.ask()).source for _ in range(2)] == ["llm", "llm"]
    assert len(server.requests) == 2 and server.requests[0]["max_tokens"] == 1500
    used = admin.status(h.core, G)["llm_tokens"]
    assert used == {"used": 10_000, "limit": LIMIT, "global_limit": 0}
    assert h.exhausted() == 0
    reply = await h.ask()
    assert reply.source == "template" and reply.text
    assert len(server.requests) == 2  # not sent
    assert h.exhausted() == 1 and h.exhausted(scope="global") == 0
    outcome = {"action": "reply", "outcome": "fallback"}
    assert h.metrics.registry.get_sample_value("guildmind_action_executions_total", outcome) == 1
    # the admins see it
    status = admin.status(h.core, G)
    text = describe(status, h.clock.now())
    assert "**LLM tokens today** (UTC) 10,000 of 12,000 (83 %)" in text
    assert "templates write instead until 00:00 UTC" in text
    await h.close()

    # a restart: the spend comes back with the guild's snapshot
    h2 = Host(server, store, h.clock.now(), LIMIT)
    assert admin.status(h2.core, G)["llm_tokens"]["used"] == 10_000
    assert (await h2.ask()).source == "template" and len(server.requests) == 2
    assert h2.exhausted() == 1
    # the next UTC day starts afresh
    h2.clock.set(20_001 * DAY)
    assert (await h2.ask()).source == "llm" and len(server.requests) == 3
    assert admin.status(h2.core, G)["llm_tokens"]["used"] == 5000
    await h2.close()


async def test_positive_control_without_a_budget_every_reply_asks_the_llm(
    server: FakeLLMServer,
) -> None:
    h = Host(server, MemoryStore(), T0, 0)
    assert [(await h.ask()).source for _ in range(4)] == ["llm"] * 4
    assert len(server.requests) == 4 and h.exhausted() == 0
    line = tokens_line(admin.status(h.core, G)["llm_tokens"])  # counted all the same
    assert line == "**LLM tokens today** (UTC) 20,000, no daily limit for this server"
    await h.close()


def test_the_status_line_states_both_budgets() -> None:
    line = tokens_line({"used": 500, "limit": 1000, "global_limit": 2_000_000})
    assert line.startswith("**LLM tokens today** (UTC) 500 of 1,000 (50 %)")
    assert line.endswith("· all servers share 2,000,000 a day")
    assert tokens_line(None) == "**LLM tokens today** (unknown)"
    no_llm = {"settings": {"channels": [], "default_channel": 0, "timezone": "UTC",
                           "quiet_hours": None, "paused": False},
              "mood": "shy", "messages_since_appearance": 0, "prompt": {"llm": False},
              "llm_tokens": {"used": 0, "limit": 0, "global_limit": 0}}  # fmt: skip
    assert "LLM tokens" not in describe(no_llm, 0.0)  # templates only: nothing to count


async def test_hosts_sharing_a_store_share_the_global_budget(
    server: FakeLLMServer, tmp_path: Path
) -> None:
    # two hosts (each its own connection to one SQLite file, each its own guild), one budget
    server.default = lambda body: (f"answer number {len(server.requests)}", 800, 200)
    budget, day = 6000, int(T0 // DAY)

    async def race(stores: list[StateStore]) -> tuple[int, list[Host]]:
        before = len(server.requests)
        hosts = [Host(server, st, T0, 0, budget) for st in stores]
        for _ in range(5):
            for host, guild in zip(hosts, (G, G2), strict=True):
                await host.ask(guild)
        for host in hosts:
            await host.close()
        return len(server.requests) - before, hosts

    shared = [open_store(f"sqlite:{tmp_path / 'state.db'}") for _ in range(2)]
    asked, hosts = await race(shared)
    spent = shared[0].tokens(day)
    assert 2 <= asked < 10 and spent == asked * 1000 <= budget
    assert sum(h.exhausted(scope="global") for h in hosts) == 10 - asked
    limits = [h.metrics.registry.get_sample_value(
        "guildmind_llm_budget_limit_tokens", {"scope": "global"}) for h in hosts]  # fmt: skip
    assert limits == [budget, budget]
    # positive control: hosts on stores of their own each count apart, and together overshoot
    apart = [open_store(f"sqlite:{tmp_path / f'own-{k}.db'}") for k in range(2)]
    asked_apart, _ = await race(apart)
    assert asked_apart > asked and asked_apart * 1000 > budget
    for st in shared + apart:
        st.close()


class AsksItself(BaseAction):
    """A plugin that calls ``self.ctx.llm`` directly, not through `ask_llm`."""

    action_name = "asks_itself"
    action_description = "answers in its own words"
    priority = 1000  # before `reply`

    async def go_activate(self, llm_judge_model=None) -> bool:
        return self.ctx.addressed

    async def execute(self) -> tuple[bool, str]:
        llm = self.ctx.llm
        assert llm is not None
        try:
            text, source = await llm.complete("say something", purpose="content"), "llm"
        except LLMError:
            text, source = "my own fallback words", "template"
        await self.send_text(text, source=source)
        return True, source


async def test_a_plugin_asking_ctx_llm_itself_is_held_to_the_budget(
    server: FakeLLMServer,
) -> None:
    server.default = lambda body: (f"answer number {len(server.requests)}", 800, 200)
    registry = ActionRegistry([*BUILTIN_ACTIONS, AsksItself])
    # a request reserves ~1,540 (its few bytes and max_tokens) and costs 1,000: two fit in 3,000
    h = Host(server, MemoryStore(), T0, 3000, registry=registry)
    sources = [(await h.ask()).source for _ in range(3)]
    assert sources == ["llm", "llm", "template"] and len(server.requests) == 2
    assert admin.status(h.core, G)["llm_tokens"]["used"] == 2000  # the server's usage
    assert h.exhausted() == 1  # counted like the built-in ones
    requests = h.metrics.registry.get_sample_value(
        "guildmind_llm_requests_total", {"purpose": "content", "outcome": "success"}
    )
    assert requests == 2  # and its requests reported
    await h.close()
    # positive control: without a budget the same plugin's third request goes out
    free = Host(server, MemoryStore(), T0, 0, registry=registry)
    assert [(await free.ask()).source for _ in range(3)] == ["llm"] * 3
    assert len(server.requests) == 5
    await free.close()
