"""LLM requests and action executions reach Prometheus through the action system's observer port.

Real rounds run through a guild host's core wired as the host wires it (`build_host_core`, a fresh
`CollectorRegistry`), with its OpenAI-compatible client talking to a fake server; the series are
read with `get_sample_value`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
from prometheus_client import CollectorRegistry

import actions.observer
import metrics.labels
from actions import BUILTIN_ACTIONS, ActionActivationType, ActionRegistry, BaseAction, LLMPlanner
from actions.judge import JUDGE_SYSTEM
from actions.planner import PLAN_SYSTEM
from actors.clock import ManualClock
from actors.loop.assembly import build_host_core
from actors.routing.wire import Batch, Line
from actors.stores.base import MemoryStore
from engine import MessageEvent
from guildmind.config import parse_config
from metrics import GuildmindMetrics
from tests.actions.llm_server import HANG, FakeLLMServer, Reply, fake_llm_server

T0 = 1_700_000_000.0
G = 5001


class Judged(BaseAction):
    """A plugin action the LLM judge activates."""

    action_name = "judged"
    action_description = "Cheer people up."
    activation_type = ActionActivationType.LLM_JUDGE
    llm_judge_prompt = "Does someone need cheering up?"

    async def execute(self) -> tuple[bool, str]:
        await self.send_text("cheer up!")
        return True, "cheered"


def answers(judge: str = "judged: yes") -> Callable[[dict], Reply]:
    """The server's answers by purpose (told apart by the system prompt), each with usage."""

    def answer(body: dict) -> Reply:
        system = next(m["content"] for m in body["messages"] if m["role"] == "system")
        if system == JUDGE_SYSTEM:
            return (judge, 200, 4)
        if system == PLAN_SYSTEM:
            return ("judged", 90, 2)
        return ("fine, thanks", 100, 3)

    return answer


class Host:
    """A guild host's core as `build_host_core` wires it, its LLM at `server`."""

    def __init__(
        self, server: FakeLLMServer, *, timeout_s: float = 5.0, max_retries: int = 0
    ) -> None:
        config = parse_config(
            f"""
            [defaults]
            quiet_hours = false
            [guilds.{G}]
            channels = [77]
            [llm]
            base_url = "{server.url}"
            model = "test-model"
            api_key_env = "GUILDMIND_TEST_NO_KEY"
            timeout_s = {timeout_s}
            max_retries = {max_retries}
            retry_backoff_s = 0
            """,
            env={},
        )
        registry = ActionRegistry([*BUILTIN_ACTIONS, Judged])
        self.metrics = GuildmindMetrics(CollectorRegistry(), actions=registry.names)
        self.sent: list[tuple[str, str]] = []
        self.core = build_host_core(
            "host-0", config, store=MemoryStore(), clock=ManualClock(T0 + 300), started_at=T0,
            send=self._send, metrics=self.metrics, registry=registry, seed=1,
        )  # fmt: skip

    async def _send(self, gateway: str, messages: list) -> None:
        self.sent += [(m.action, m.text) for m in messages]

    async def mention(self, text: str = "@Miku hey, I'm sad") -> None:
        """Someone addresses the bot; the round it starts runs to its end."""
        ev = MessageEvent(G, 77, 9, T0 + 299, False, True)
        line = Line(G, 77, 4242, 9, "ann", text, T0 + 299, True)
        await self.core.apply(Batch("gw-0", 0, 0, T0, [ev], [line]))
        while self.core.tasks:
            await asyncio.gather(*list(self.core.tasks))

    def value(self, name: str, **labels: str) -> float | None:
        return self.metrics.registry.get_sample_value(name, labels)

    def requests(self) -> dict[tuple[str, str], float]:
        """The nonzero ``guildmind_llm_requests_total`` series, by (purpose, outcome)."""
        out = {}
        for purpose in metrics.labels.label_set(metrics.labels.LLM_PURPOSES):
            for outcome in metrics.labels.label_set(metrics.labels.LLM_OUTCOMES):
                n = self.value("guildmind_llm_requests_total", purpose=purpose, outcome=outcome)
                if n:
                    out[(purpose, outcome)] = n
        return out

    def tokens(self, purpose: str) -> dict[tuple[str, str], float | None]:
        return {
            (kind, source): self.value(
                "guildmind_llm_tokens_total", purpose=purpose, kind=kind, source=source
            )
            for kind in ("prompt", "completion")
            for source in ("server", "estimate")
        }

    def executions(self, action: str) -> dict[str, float | None]:
        return {
            outcome: self.value("guildmind_action_executions_total", action=action, outcome=outcome)
            for outcome in metrics.labels.EXECUTION_OUTCOMES
        }

    async def close(self) -> None:
        await self.core.runner.writer.llm.close()  # type: ignore[union-attr]


@pytest.fixture
async def server() -> AsyncIterator[FakeLLMServer]:
    async with fake_llm_server() as s:
        yield s


NO_TOKENS = {(k, s): 0.0 for k in ("prompt", "completion") for s in ("server", "estimate")}


async def test_a_reply_round_records_its_content_request(server: FakeLLMServer) -> None:
    server.default = answers(judge="judged: no")
    host = Host(server)
    try:
        await host.mention()
    finally:
        await host.close()
    assert host.sent == [("reply", "fine, thanks")]
    assert host.requests() == {("judge", "success"): 1, ("content", "success"): 1}
    assert host.value("guildmind_llm_request_seconds_count", purpose="content") == 1
    assert host.value("guildmind_llm_request_seconds_count", purpose="judge") == 1
    assert host.tokens("content") == {**NO_TOKENS, ("prompt", "server"): 100,
                                      ("completion", "server"): 3}  # fmt: skip
    assert host.executions("reply") == {"sent": 1, "fallback": 0, "failed": 0, "timeout": 0,
                                        "error": 0}  # fmt: skip
    assert host.value("guildmind_activations_total", action="judged", result="inactive") == 1
    assert host.value("guildmind_judge_verdicts_total", source="llm") == 1
    assert host.value("guildmind_rounds_total", outcome="sent") == 1


async def test_a_judge_round_is_recorded(server: FakeLLMServer) -> None:
    server.default = answers()
    host = Host(server)
    try:
        await host.mention()
    finally:
        await host.close()
    assert host.value("guildmind_activations_total", action="judged", result="activated") == 1
    assert host.value("guildmind_judge_verdicts_total", source="llm") == 1
    assert host.value("guildmind_judge_verdicts_total", source="cache") == 0
    assert host.tokens("judge") == {**NO_TOKENS, ("prompt", "server"): 200,
                                    ("completion", "server"): 4}  # fmt: skip
    # the rules pick reply (priority 20) over judged (0): its words are the LLM's
    assert host.requests() == {("judge", "success"): 1, ("content", "success"): 1}
    assert host.executions("reply")["sent"] == 1 and host.sent == [("reply", "fine, thanks")]


async def test_an_llm_planner_round_is_recorded(server: FakeLLMServer) -> None:
    server.default = answers()
    host = Host(server)
    host.core.runner.planner = LLMPlanner(host.core.runner.writer.llm)  # type: ignore[arg-type]
    try:
        await host.mention()
    finally:
        await host.close()
    # two actions activated (reply, judged): the planner asked, and named judged
    assert host.requests() == {("judge", "success"): 1, ("plan", "success"): 1}
    assert host.tokens("plan") == {**NO_TOKENS, ("prompt", "server"): 90,
                                   ("completion", "server"): 2}  # fmt: skip
    assert host.executions("judged")["sent"] == 1 and host.executions("reply")["sent"] == 0
    assert host.sent == [("judged", "cheer up!")]


@pytest.mark.parametrize(
    ("script", "max_retries", "outcome", "retries"),
    [
        ([("judged: no", 200, 4), 500], 0, "error", 0),
        ([("judged: no", 200, 4), HANG, HANG], 1, "timeout", 1),
        ([("judged: no", 200, 4), "  "], 0, "empty", 0),
    ],
)
async def test_a_failing_llm_makes_the_action_fall_back(
    server: FakeLLMServer, script: list[Reply], max_retries: int, outcome: str, retries: int
) -> None:
    server.script = script
    host = Host(server, timeout_s=0.2, max_retries=max_retries)
    try:
        await host.mention()
    finally:
        await host.close()
    assert host.requests() == {("judge", "success"): 1, ("content", outcome): 1}
    assert host.executions("reply") == {"sent": 0, "fallback": 1, "failed": 0, "timeout": 0,
                                        "error": 0}  # fmt: skip
    assert host.value("guildmind_llm_retries_total", purpose="content") == retries
    # no answer, no tokens (an empty answer is estimated: the server sent no usage)
    tokens = host.tokens("content")
    assert tokens[("prompt", "server")] == tokens[("completion", "server")] == 0
    [(action, _text)] = host.sent  # templates wrote it, and it went out
    assert action == "reply" and host.value("guildmind_rounds_total", outcome="sent") == 1


def test_the_ports_label_sets_are_the_catalogues() -> None:
    assert actions.observer.PURPOSES == metrics.labels.LLM_PURPOSES
    assert actions.observer.OUTCOMES == metrics.labels.LLM_OUTCOMES
