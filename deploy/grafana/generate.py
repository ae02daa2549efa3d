"""Writes guildmind's Grafana dashboards (deploy/grafana/dashboards/*.json) from the tables below.

Run ``python deploy/grafana/generate.py`` after changing a panel; a test checks the JSON files are
what this script writes, and that every query uses only metrics of the catalogue. Queries use
``$__rate_interval`` (Grafana's rate window); the end-to-end test substitutes ``1m``.
"""

from __future__ import annotations

import json
from pathlib import Path

DATASOURCE = {"type": "prometheus", "uid": "guildmind-prometheus"}
OUT = Path(__file__).parent / "dashboards"
R = "[$__rate_interval]"


def rate(metric: str, by: str = "", where: str = "") -> str:
    sel = f"{metric}{{{where}}}" if where else metric
    return f"sum by ({by}) (rate({sel}{R}))" if by else f"sum(rate({sel}{R}))"


def quantile(q: float, metric: str, by: str = "") -> str:
    return (
        f"histogram_quantile({q}, sum by (le{', ' + by if by else ''}) (rate({metric}_bucket{R})))"
    )


def ratio(metric: str, where: str, by: str) -> str:
    return f"{rate(metric, by, where)} / {rate(metric, by)}"


def p50_p99(metric: str, by: str = "") -> list[tuple[str, str]]:
    suffix = f" {{{{{by}}}}}" if by else ""
    return [
        (quantile(0.5, metric, by), "p50" + suffix),
        (quantile(0.99, metric, by), "p99" + suffix),
    ]


# dashboard -> (title, [(panel title, unit, [(expr, legend)], kind)])
DASHBOARDS: dict[str, tuple[str, list[tuple[str, str, list[tuple[str, str]], str]]]] = {
    "overview": ("guildmind / overview", [
        ("Events in /s by type", "ops",
         [(rate("guildmind_events_total", "type"), "{{type}}")], "ts"),
        ("Decisions /s by action", "ops",
         [(rate("guildmind_decisions_total", "action", 'action!="none"'), "{{action}}")], "ts"),
        ("Decisions /s by mood", "ops",
         [(rate("guildmind_decisions_total", "mood"), "{{mood}}")], "ts"),
        ("Rounds /s by outcome", "ops",
         [(rate("guildmind_rounds_total", "outcome"), "{{outcome}}")], "ts"),
        ("Event → decision latency", "s", p50_p99("guildmind_event_to_decision_seconds"), "ts"),
        ("Time to decide", "s", p50_p99("guildmind_decide_seconds"), "ts"),
        ("Events dropped /s by reason", "ops",
         [(rate("guildmind_events_dropped_total", "type, reason"), "{{type}} {{reason}}")], "ts"),
        ("Messages sent /s by action", "ops",
         [(rate("guildmind_messages_sent_total", "action"), "{{action}}")], "ts"),
        ("Guilds loaded", "short", [("sum(guildmind_guilds_loaded)", "guilds")], "stat"),
        ("Processes up", "short", [('sum(up{job="guildmind"})', "up")], "stat"),
    ]),
    "actions": ("guildmind / actions", [
        ("Activations /s by action and result", "ops",
         [(rate("guildmind_activations_total", "action, result"), "{{action}} {{result}}")], "ts"),
        ("Share activated by action", "percentunit",
         [(ratio("guildmind_activations_total", 'result="activated"', "action"), "{{action}}")],
         "ts"),
        ("Activation timeouts and errors /s", "ops",
         [(rate("guildmind_activations_total", "action, result", 'result=~"timeout|error"'),
           "{{action}} {{result}}")], "ts"),
        ("go_activate() p99 by action", "s",
         [(quantile(0.99, "guildmind_activation_seconds", "action"), "{{action}}")], "ts"),
        ("Executions /s by action and outcome", "ops",
         [(rate("guildmind_action_executions_total", "action, outcome"),
           "{{action}} {{outcome}}")], "ts"),
        ("Share of executions that sent as written, by action", "percentunit",
         [(ratio("guildmind_action_executions_total", 'outcome="sent"', "action"), "{{action}}")],
         "ts"),
        ("Judge calls /s", "ops",
         [(rate("guildmind_llm_requests_total", "outcome", 'purpose="judge"'), "{{outcome}}")],
         "ts"),
        ("Judge verdicts /s by source", "ops",
         [(rate("guildmind_judge_verdicts_total", "source"), "{{source}}")], "ts"),
        ("Round duration", "s", p50_p99("guildmind_round_seconds"), "ts"),
    ]),
    "llm": ("guildmind / LLM", [
        ("LLM requests /s by purpose and outcome", "ops",
         [(rate("guildmind_llm_requests_total", "purpose, outcome"), "{{purpose}} {{outcome}}")],
         "ts"),
        ("LLM error ratio by purpose", "percentunit",
         [(ratio("guildmind_llm_requests_total", 'outcome!="success"', "purpose"), "{{purpose}}")],
         "ts"),
        ("LLM request duration by purpose", "s",
         p50_p99("guildmind_llm_request_seconds", "purpose"), "ts"),
        ("LLM tokens per hour by purpose and kind", "short",
         [("sum by (purpose, kind) (increase(guildmind_llm_tokens_total[1h]))",
           "{{purpose}} {{kind}}")], "ts"),
        ("Share of tokens estimated (the server reported no usage)", "percentunit",
         [(ratio("guildmind_llm_tokens_total", 'source="estimate"', "purpose"), "{{purpose}}")],
         "ts"),
        ("LLM retries /s by purpose", "ops",
         [(rate("guildmind_llm_retries_total", "purpose"), "{{purpose}}")], "ts"),
        ("LLM requests refused by a daily token budget /s (templates wrote)", "ops",
         [(rate("guildmind_llm_budget_exhausted_total", "scope, purpose"),
           "{{scope}} {{purpose}}")], "ts"),
        ("LLM tokens of the last 24 h / the global daily budget (UTC days; rolling here)",
         "percentunit",
         [("sum(increase(guildmind_llm_tokens_total[24h])) / "
           'max(guildmind_llm_budget_limit_tokens{scope="global"} > 0)', "global")], "ts"),
        ("Daily token budgets (0: none)", "short",
         [("max by (scope) (guildmind_llm_budget_limit_tokens)", "{{scope}}")], "stat"),
        ("Template fallbacks /s by action", "ops",
         [(rate("guildmind_action_executions_total", "action", 'outcome="fallback"'),
           "{{action}}")], "ts"),
    ]),
    "runtime": ("guildmind / runtime", [
        ("Processes up by role", "short", [('sum by (role) (up{job="guildmind"})', "{{role}}")],
         "ts"),
        ("Guilds loaded by process", "short",
         [("sum by (process) (guildmind_guilds_loaded)", "{{process}}")], "ts"),
        ("Guilds by mood", "short", [("sum by (mood) (guildmind_guilds_by_mood)", "{{mood}}")],
         "ts"),
        ("Batches in flight by process", "short",
         [("sum by (process) (guildmind_batches_in_flight)", "{{process}}")], "ts"),
        ("Batch size (events)", "short", p50_p99("guildmind_batch_size_events"), "ts"),
        ("State saves /s by outcome", "ops",
         [(rate("guildmind_state_saves_total", "outcome"), "{{outcome}}")], "ts"),
        ("State save duration", "s", p50_p99("guildmind_state_save_seconds"), "ts"),
        ("Host restarts (last hour)", "short",
         [("sum by (host) (increase(guildmind_host_restarts_total[1h]))", "{{host}}")], "ts"),
        ("Partitions moved (last hour)", "short",
         [("sum(increase(guildmind_partitions_moved_total[1h]))", "moved")], "ts"),
        ("Send failures /s by reason", "ops",
         [(rate("guildmind_send_failures_total", "reason"), "{{reason}}")], "ts"),
        ("Memory by process", "bytes",
         [('sum by (process) (process_resident_memory_bytes{job="guildmind"})', "{{process}}")],
         "ts"),
    ]),
}  # fmt: skip


def panel(
    i: int, pos: dict, title: str, unit: str, queries: list[tuple[str, str]], kind: str
) -> dict:
    return {
        "id": i + 1,
        "type": "stat" if kind == "stat" else "timeseries",
        "title": title,
        "datasource": DATASOURCE,
        "gridPos": pos,
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}}
        if kind != "stat"
        else {"reduceOptions": {"calcs": ["lastNotNull"]}},
        "targets": [
            {"refId": chr(ord("A") + k), "datasource": DATASOURCE, "expr": e, "legendFormat": lg}
            for k, (e, lg) in enumerate(queries)
        ],
    }


def layout(panels: list) -> list[dict]:
    """Grid positions: time series half a row wide, stats a quarter, filled left to right."""
    out, x, y = [], 0, 0
    for p in panels:
        w, h = (6, 4) if p[3] == "stat" else (12, 8)
        if x + w > 24:
            x, y = 0, y + 8
        out.append({"h": h, "w": w, "x": x, "y": y})
        x += w
    return out


def dashboard(name: str) -> dict:
    """The Grafana dashboard JSON model for `name`."""
    title, panels = DASHBOARDS[name]
    return {
        "uid": f"guildmind-{name}",
        "title": title,
        "tags": ["guildmind"],
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "refresh": "10s",
        "time": {"from": "now-1h", "to": "now"},
        "templating": {"list": []},
        "annotations": {"list": []},
        "panels": [
            panel(i, pos, *p) for i, (pos, p) in enumerate(zip(layout(panels), panels, strict=True))
        ],
    }


def render(name: str) -> str:
    """The file text of dashboard `name`."""
    return json.dumps(dashboard(name), indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for name in DASHBOARDS:
        (OUT / f"{name}.json").write_text(render(name), encoding="utf-8")
        print(f"wrote {OUT / f'{name}.json'}")


if __name__ == "__main__":
    main()
