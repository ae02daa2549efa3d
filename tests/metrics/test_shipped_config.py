"""The shipped Prometheus config, alert rules and Grafana files: promtool and static checks."""

from __future__ import annotations

import importlib.util
import json
import subprocess

import pytest
from prometheus_client import CollectorRegistry

from metrics import GuildmindMetrics, metric_names, new_registry
from tests.fixtures.prometheus import ROOT, dashboard_queries, referenced_metrics, require

GRAFANA = ROOT / "deploy" / "grafana"


def promtool(*args: str) -> str:
    done = subprocess.run(
        [require("promtool"), *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, f"promtool {' '.join(args)}:\n{done.stdout}{done.stderr}"
    return done.stdout


def test_prometheus_config_is_valid() -> None:
    out = promtool("check", "config", "deploy/prometheus/prometheus.yml")
    assert "1 rule files found" in out


def test_alert_rules_are_valid() -> None:
    assert "7 rules found" in promtool("check", "rules", "metrics/alerts.yml")


def test_alert_rule_unit_tests_pass() -> None:
    assert "SUCCESS" in promtool("test", "rules", "metrics/alerts_test.yml")


def test_every_alert_has_a_unit_test() -> None:
    alerts = (ROOT / "metrics" / "alerts.yml").read_text()
    tests = (ROOT / "metrics" / "alerts_test.yml").read_text()
    names = [line.split(":", 1)[1].strip() for line in alerts.splitlines() if "- alert:" in line]
    assert len(names) == 7
    for name in names:
        assert tests.count(f"alertname: {name}") >= 2, f"{name}: test it firing and not firing"


def test_deploy_copy_of_the_alerts_is_identical() -> None:
    shipped = (ROOT / "deploy" / "prometheus" / "alerts.yml").read_text()
    assert shipped == (ROOT / "metrics" / "alerts.yml").read_text(), (
        "deploy/prometheus/alerts.yml differs: cp metrics/alerts.yml deploy/prometheus/"
    )


def catalogue_names() -> set[str]:
    m = GuildmindMetrics(new_registry(), hosts=["host-0"])
    m.set_guild_source(dict)
    return metric_names(m.registry) | {"up"}


def test_dashboards_use_only_catalogue_metrics() -> None:
    known = catalogue_names()
    queries = dashboard_queries()
    assert {name for name, _, _ in queries} == {
        "overview.json", "actions.json", "llm.json", "runtime.json"
    }  # fmt: skip
    for name, title, expr in queries:
        used = referenced_metrics(expr)
        assert used, f"{name} / {title}: no metric in {expr!r}"
        assert used <= known, f"{name} / {title}: unknown {sorted(used - known)}"


def test_alerts_use_only_catalogue_metrics() -> None:
    known = catalogue_names()
    text = (ROOT / "metrics" / "alerts.yml").read_text()
    used = {n for n in referenced_metrics(text) if n.startswith("guildmind_")}
    assert len(used) >= 5 and used <= known, sorted(used - known)


def test_dashboards_are_what_the_generator_writes() -> None:
    spec = importlib.util.spec_from_file_location("grafana_generate", GRAFANA / "generate.py")
    assert spec and spec.loader
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    for name in gen.DASHBOARDS:
        assert (GRAFANA / "dashboards" / f"{name}.json").read_text() == gen.render(name), (
            f"{name}.json is stale: run python deploy/grafana/generate.py"
        )


@pytest.mark.parametrize("name", ["overview", "actions", "llm", "runtime"])
def test_dashboard_json_is_a_grafana_model(name: str) -> None:
    model = json.loads((GRAFANA / "dashboards" / f"{name}.json").read_text())
    assert model["uid"] == f"guildmind-{name}" and model["schemaVersion"] >= 36
    ids = [p["id"] for p in model["panels"]]
    assert len(ids) == len(set(ids))
    for p in model["panels"]:
        assert p["type"] in ("timeseries", "stat") and p["targets"]
        assert p["datasource"]["uid"] == "guildmind-prometheus"
        pos = p["gridPos"]
        assert pos["x"] >= 0 and pos["x"] + pos["w"] <= 24


def test_grafana_provisioning_points_at_the_dashboards_datasource() -> None:
    ds = (GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text()
    assert "uid: guildmind-prometheus" in ds and "type: prometheus" in ds
    dash = (GRAFANA / "provisioning" / "dashboards" / "guildmind.yml").read_text()
    assert "type: file" in dash and "path:" in dash


def test_catalogue_names_exclude_process_collectors_without_them() -> None:
    names = metric_names(GuildmindMetrics(CollectorRegistry()).registry)
    assert not any(n.startswith("process_") for n in names)
