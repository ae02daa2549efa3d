"""The whole runtime on Ray under a real Prometheus: discovery, every query, data, a restart.

A `Runtime` (synthetic source, two guild hosts, time at 60x) on the session Ray; Prometheus finds
the driver, the gateway and both hosts through the driver's ``/sd``; every dashboard panel query
and every alert expression evaluates; the key series carry data; a killed host comes back on a
new port, discovery follows it there and the driver's restart counter reaches Prometheus.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import ray

from actors.remote.runtime import Runtime
from guildmind.config import parse_config
from tests.fixtures.polling import wait_until_async
from tests.fixtures.prometheus import (
    ALERTS,
    Prometheus,
    evaluate_dashboards,
    evaluate_rules,
    run_prometheus,
)

pytestmark = pytest.mark.usefixtures("ray_session")

KEY_SERIES = [
    'sum(rate(guildmind_events_total{type="message"}[1m]))',
    'sum(rate(guildmind_events_total{type="presence"}[1m]))',
    "sum(rate(guildmind_decisions_total[1m]))",
    'sum(rate(guildmind_decisions_total{action="none"}[1m]))',
    'sum(rate(guildmind_decisions_total{action!="none"}[1m]))',
    "sum(rate(guildmind_decide_seconds_count[1m]))",
    "sum(rate(guildmind_rounds_total[1m]))",
    "sum(rate(guildmind_round_seconds_count[1m]))",
    "sum(rate(guildmind_activations_total[1m]))",
    "sum(rate(guildmind_messages_sent_total[1m]))",
    "sum(rate(guildmind_batch_size_events_count[1m]))",
    "sum(rate(guildmind_state_saves_total[1m]))",
    "sum(guildmind_guilds_by_mood)",
    'count(guildmind_guilds_loaded{role="host"})',
    "sum(rate(guildmind_event_to_decision_seconds_bucket[1m]))",
]


def config(tmp_path: Path):
    return parse_config(
        f"""
[runtime]
speed = 60
hosts = 2
data_dir = "{tmp_path}"
[state]
url = "sqlite:"
write_behind_s = 0.5
[metrics]
port = 0
[defaults]
quiet_hours = false
[source.synthetic]
guilds = 40
rate = 40
seed = 5
""",
        env={},
    )


def processes(prom: Prometheus) -> dict[str, tuple[str, str, str]]:
    """process -> (role, health, instance) of every active target."""
    return {
        t["labels"]["process"]: (t["labels"]["role"], t["health"], t["labels"]["instance"])
        for t in prom.targets()
    }


def has_data(prom: Prometheus, expr: str) -> bool:
    return any(float(s["value"][1]) > 0 for s in prom.query(expr))


async def wait_for(prom: Prometheus, check, *, what: str, timeout_s: float = 30.0) -> None:
    """`Prometheus.wait_for`, without blocking the event loop the runtime's awaits need."""
    await wait_until_async(lambda: asyncio.to_thread(check), what=what, timeout_s=timeout_s,
                           interval_s=0.3, detail=lambda: f"targets: {prom.targets()}")  # fmt: skip


async def test_prometheus_follows_the_whole_runtime_and_every_query_evaluates(
    tmp_path: Path,
) -> None:
    runtime = Runtime(config(tmp_path))
    runtime.start()
    try:
        assert runtime.discovery is not None
        with run_prometheus(tmp_path / "prom", runtime.discovery.url, rule_files=[ALERTS]) as prom:
            hosts = sorted(runtime.hosts)
            gateway = f"{runtime.prefix}gateway-0"
            roles = {"driver": "driver", gateway: "gateway", hosts[0]: "host", hosts[1]: "host"}

            def all_up() -> bool:
                seen = processes(prom)
                return {p: r for p, (r, _, _) in seen.items()} == roles and all(
                    h == "up" for _, h, _ in seen.values()
                )

            await wait_for(prom, all_up, what=f"targets {roles} up")

            def missing() -> list[str]:
                return [e for e in KEY_SERIES if not has_data(prom, e)]

            await wait_for(prom, lambda: not missing(), what="data in every key series")
            loaded = prom.query('sum(guildmind_guilds_loaded{role="host"})')[0]["value"][1]
            assert 0 < float(loaded) <= 40

            assert await asyncio.to_thread(evaluate_dashboards, prom) == []
            await wait_for(prom, lambda: bool(prom.api("rules")["groups"]), what="rules loaded")
            assert await asyncio.to_thread(evaluate_rules, prom) == []

            # A host dies; Ray restarts it (a new process, a new metrics port, the same name).
            name = hosts[0]
            watched = runtime.hosts[name]
            old = processes(prom)[name][2]
            ray.kill(watched.handle, no_restart=False)

            async def new_port() -> str | None:
                await runtime.check(timeout_s=5)
                return watched.info["metrics"] if watched.info.get("metrics") != old else None

            new = await wait_until_async(new_port, interval_s=0.3,
                                         what=f"the killed {name} back on a new port")  # fmt: skip

            restarts = f'guildmind_host_restarts_total{{process="driver",host="{name}"}}'

            def followed() -> bool:
                seen = processes(prom)
                return seen.get(name) == ("host", "up", new) and has_data(prom, restarts)

            await wait_for(prom, followed, what=f"{name} at {new} and its restart counted")
            assert prom.query(restarts)[0]["value"][1] == "1"
    finally:
        runtime.stop()
