"""End to end with a real Prometheus: discovery, scrapes, every dashboard query and alert rule.

No Ray: the driver's `DiscoveryServer` runs here, and three stand-in runtime processes (two guild
hosts, one gateway; `loadgen.py`) record through the catalogue and serve their own /metrics.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from metrics import DiscoveryServer, GuildmindMetrics, TargetDirectory, new_registry
from tests.fixtures.prometheus import (
    ALERTS,
    ROOT,
    Prometheus,
    evaluate_dashboards,
    evaluate_rules,
    run_prometheus,
)

LOADGEN = Path(__file__).with_name("loadgen.py")


@contextmanager
def stand_in(role: str) -> Iterator[int]:
    """A loadgen process for `role`; yields its metrics port, stops it after."""
    proc = subprocess.Popen(
        [sys.executable, str(LOADGEN), role],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip().isdigit(), f"loadgen {role} did not start: {line!r}"
        yield int(line)
    finally:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()


def up_processes(prom: Prometheus) -> dict[str, str]:
    return {t["labels"]["process"]: t["health"] for t in prom.targets()}


def has_data(prom: Prometheus, expr: str) -> bool:
    return any(float(s["value"][1]) > 0 for s in prom.query(expr))


def test_prometheus_finds_every_process_and_every_query_evaluates(tmp_path: Path) -> None:
    directory = TargetDirectory()
    driver = GuildmindMetrics(new_registry(), hosts=["host-0", "host-1"], version="test")
    with ExitStack() as stack:
        sd = stack.enter_context(DiscoveryServer(directory, driver.registry, port=0))
        for process, role in [("host-0", "host"), ("host-1", "host"), ("gateway-0", "gateway")]:
            port = stack.enter_context(stand_in(role))
            directory.add(process, f"127.0.0.1:{port}", role=role)
        prom = stack.enter_context(run_prometheus(tmp_path, sd.url, rule_files=[ALERTS]))

        everyone = {"driver": "up", "host-0": "up", "host-1": "up", "gateway-0": "up"}
        prom.wait_for(lambda: up_processes(prom) == everyone, what=f"targets {everyone}")
        roles = {t["labels"]["process"]: t["labels"]["role"] for t in prom.targets()}
        assert roles == {"driver": "driver", "host-0": "host", "host-1": "host",
                         "gateway-0": "gateway"}  # fmt: skip
        driver.host_restart("host-1")

        key_series = [
            'sum(rate(guildmind_events_total{type="message"}[1m]))',
            "sum(rate(guildmind_decisions_total[1m]))",
            "sum(rate(guildmind_rounds_total[1m]))",
            'sum(rate(guildmind_activations_total{result="activated"}[1m]))',
            "sum(rate(guildmind_llm_requests_total[1m]))",
            "sum(rate(guildmind_state_saves_total[1m]))",
            'count(guildmind_guilds_loaded{role="host"})',
            "sum(guildmind_guilds_by_mood)",
            "sum(rate(guildmind_event_to_decision_seconds_bucket[1m]))",
            'sum(guildmind_host_restarts_total{process="driver"})',
            'count(guildmind_build_info{version="test"})',
        ]  # fmt: skip
        prom.wait_for(
            lambda: all(has_data(prom, e) for e in key_series),
            what="data in " + ", ".join(e for e in key_series if not has_data(prom, e)),
        )
        assert prom.query('count(guildmind_guilds_loaded{role="host"})')[0]["value"][1] == "2"

        assert evaluate_dashboards(prom) == []
        prom.wait_for(lambda: bool(prom.api("rules")["groups"]), what="alert rules loaded")
        assert evaluate_rules(prom) == []

        # host-1 goes away and host-0 restarts (a new process on a new port, same name):
        # Prometheus stops scraping host-1 and follows host-0 to its new address.
        directory.remove("host-1")
        del everyone["host-1"]
        port = stack.enter_context(stand_in("host"))
        assert directory.add("host-0", f"127.0.0.1:{port}", role="host") is True
        driver.host_restart("host-0")

        def followed() -> bool:
            where = {t["labels"]["process"]: t["labels"]["instance"] for t in prom.targets()}
            return up_processes(prom) == everyone and where["host-0"] == f"127.0.0.1:{port}"

        prom.wait_for(followed, what="host-1 to leave and host-0 to move")
