"""Writes a simulation report: `report.json`, PNG plots (matplotlib, Agg) and `report.html`.

The figures are drawn with matplotlib's object API (`Figure`, no pyplot), so nothing global is
left open and no display is needed. The HTML embeds the PNGs by relative path.
"""

from __future__ import annotations

import html
import itertools
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure

from engine import ACTIONS

_COLORS = {"v2": "#3b7dd8", "v1": "#d8823b"}


def _main_runs(report: dict) -> list[str]:
    return [name for name in ("v2", "v1") if name in report["runs"]]


def _bars(ax, labels: list[str], series: dict[str, list[float]]) -> None:
    width = 0.8 / max(1, len(series))
    for k, (name, values) in enumerate(series.items()):
        xs = [x + (k - (len(series) - 1) / 2) * width for x in range(len(labels))]
        ax.bar(xs, values, width, label=name, color=_COLORS.get(name.split(":")[0]))
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
    ax.legend()


def _save(fig: Figure, path: Path) -> str:
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    return path.name


def plot_by_mood(report: dict, out: Path) -> str:
    runs = report["runs"]
    moods = sorted(
        {m for n in _main_runs(report) for m in runs[n]["actions_per_guild_day_by_mood"]}
    )
    series = {
        n: [runs[n]["actions_per_guild_day_by_mood"].get(m, 0.0) for m in moods]
        for n in _main_runs(report)
    }
    fig = Figure(figsize=(8, 4))
    ax = fig.add_subplot()
    _bars(ax, moods, series)
    ax.set_ylabel("actions per guild per day")
    ax.set_title("Actions per guild per day, by mood")
    return _save(fig, out / "by_mood.png")


def plot_by_hour(report: dict, out: Path) -> str:
    runs = report["runs"]
    fig = Figure(figsize=(8, 4))
    ax = fig.add_subplot()
    for n in _main_runs(report):
        ax.plot(range(24), runs[n]["actions_by_local_hour"], marker="o", label=n,
                color=_COLORS[n])  # fmt: skip
    ax.set_xlabel("hour of day (guild's local time)")
    ax.set_ylabel("actions")
    ax2 = ax.twinx()
    ax2.fill_between(range(24), report["traffic"]["messages_by_local_hour"], alpha=0.15,
                     color="grey", label="human messages")  # fmt: skip
    ax2.set_ylabel("human messages")
    ax.set_xticks(range(0, 24, 2))
    ax.legend(loc="upper left")
    ax.set_title("Actions by hour of day (grey: human messages)")
    return _save(fig, out / "by_hour.png")


def plot_by_action(report: dict, out: Path) -> str:
    runs = report["runs"]
    series = {n: [runs[n]["actions_by_action"][a] for a in ACTIONS] for n in _main_runs(report)}
    fig = Figure(figsize=(8, 4))
    ax = fig.add_subplot()
    _bars(ax, list(ACTIONS), series)
    ax.set_ylabel("actions")
    ax.set_title("Actions by kind")
    return _save(fig, out / "by_action.png")


def plot_join_delay(report: dict, out: Path) -> str:
    runs = report["runs"]
    bins = runs[_main_runs(report)[0]]["join_delay_s"]["bins_s"]
    labels = [f"{_span(lo)}–{_span(hi)}" for lo, hi in itertools.pairwise(bins)]
    series = {n: runs[n]["join_delay_s"]["histogram"] for n in _main_runs(report)}
    fig = Figure(figsize=(8, 4))
    ax = fig.add_subplot()
    _bars(ax, labels, series)
    ax.set_xlabel("delay from a conversation's first message to the bot's first action in it")
    ax.set_ylabel("conversations")
    ax.set_title("How long after a conversation starts the bot joins")
    return _save(fig, out / "join_delay.png")


def plot_comparison(report: dict, out: Path) -> str:
    runs = report["runs"]
    keys = [
        ("into_empty_room", "into empty rooms"),
        ("interruptions", "interruptions"),
        ("in_quiet_hours", "in quiet hours"),
        ("before_startup", "before 120 s"),
    ]
    series = {n: [runs[n][k] for k, _ in keys] for n in _main_runs(report)}
    fig = Figure(figsize=(8, 4))
    ax = fig.add_subplot()
    _bars(ax, [label for _, label in keys], series)
    ax.set_ylabel("actions")
    ax.set_title("What the seed promises never happens")
    return _save(fig, out / "comparison.png")


def plot_week_profile(report: dict, out: Path) -> str | None:
    """A guild's learned week (the rhythm weights) against its true one (activity / mean)."""
    week = (report.get("learning") or {}).get("week_profile")
    if not week:
        return None
    fig = Figure(figsize=(10, 4))
    ax = fig.add_subplot()
    lo, hi = week["bounds"]
    true = [min(hi, max(lo, x)) for x in week["true"]]
    ax.plot(range(168), week["true"], color="#999", lw=1, label="true activity / weekly mean")
    ax.plot(range(168), true, color="#555", lw=1, ls="--", label=f"… within [{lo:g}, {hi:g}]")
    ax.plot(range(168), week["learned"], color=_COLORS["v2"], lw=2, label="learned weight")
    ax.set_xticks(range(0, 168, 24), ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"])
    ax.set_ylim(0, max(hi, max(week["true"])) * 1.05)
    ax.set_xlabel("hour of the week, local time")
    ax.legend(loc="upper left")
    ax.set_title(f"A {week['rhythm']} guild's learned week vs its true one")
    return _save(fig, out / "week_profile.png")


def plot_chattiness(report: dict, out: Path) -> str | None:
    """The learned chattiness over time of an engaging and an ignoring guild."""
    learning = report.get("learning") or {}
    traces, hours = learning.get("chattiness") or {}, learning.get("chattiness_hours") or []
    if not traces or not hours:
        return None
    fig = Figure(figsize=(10, 4))
    ax = fig.add_subplot()
    for kind, color in (("engaging", "#3bd87d"), ("ignoring", "#d83b3b")):
        if kind in traces:
            t = traces[kind]
            ax.plot(hours, t["values"], color=color, label=f"an {kind} guild ({t['rhythm']})")
    ax.axhline(1.0, color="#999", lw=1)
    ax.set_xlabel("hours since start")
    ax.set_ylabel("chattiness")
    ax.legend()
    ax.set_title("Chattiness learned from what follows the bot's remarks")
    return _save(fig, out / "chattiness.png")


_REMARKS = (
    ("remarks_per_guild_day", "remarks of its own per guild per day"),
    ("answered_share", "answered by a member within 10 min (share)"),
    ("answered_per_guild_day", "answered remarks per guild per day"),
    ("followed_by_talk_share", "followed by any talk within 10 min (share)"),
    ("in_dead_hours", "remarks in usually-dead hours"),
    ("told_to_be_quiet", "times told to be quiet"),
)


def _span(s: float | None) -> str:
    if s is None:
        return "∞"
    return f"{s / 3600:g}h" if s >= 3600 else f"{s / 60:g}m" if s >= 60 else f"{s:g}s"


def _table(rows: list[list[object]], head: list[str]) -> str:
    cells = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{cells}</tr>{body}</table>"


_FIGURES = (
    ("actions_per_guild_day", "actions per guild per day"),
    ("into_empty_room", "actions into an empty room"),
    ("into_busy_conversation", "actions into a busy conversation"),
    ("interruptions", "interruptions (off-topic actions into a busy conversation)"),
    ("in_quiet_hours", "actions in quiet hours"),
    ("before_startup", "actions in the first 120 s"),
    ("shortest_gap_s", "shortest gap between two actions in a guild (s)"),
    ("conversations_joined", "conversations the bot acted in"),
)


def write(report: dict, out: Path) -> Path:
    """Write report.json, the PNGs and report.html into `out`; return the HTML's path."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    pngs = [
        png
        for f in (
            plot_by_mood,
            plot_by_hour,
            plot_by_action,
            plot_join_delay,
            plot_comparison,
            plot_week_profile,
            plot_chattiness,
        )
        if (png := f(report, out)) is not None
    ]
    runs, names = report["runs"], list(report["runs"])
    claims = _table(
        [["PASS" if c["passed"] else "FAIL", c["policy"], c["claim"], c["figure"]]
         for c in report["claims"]]
        + [["MET" if c["passed"] else "MISSED", c["policy"], "target: " + c["claim"], c["figure"]]
           for c in report.get("targets", [])],
        ["", "policy", "claim", "figure"],
    )  # fmt: skip
    figs = _table([[label] + [runs[n][k] for n in names] for k, label in _FIGURES], ["", *names])
    delay = _table(
        [[n, runs[n]["join_delay_s"]["median"], runs[n]["join_delay_s"]["p90"],
          f"{runs[n]['conversations_joined']} of {runs[n]['conversations']}"] for n in names],
        ["run", "median delay (s)", "p90 delay (s)", "conversations joined"],
    )  # fmt: skip
    remarks = _table(
        [[label] + [runs[n].get("remarks", {}).get(k) for n in names] for k, label in _REMARKS],
        ["", *names],
    )
    model = html.escape((report.get("learning") or {}).get("model", ""))
    cfg = html.escape(json.dumps(report["config"]))
    imgs = "".join(f'<p><img src="{p}" alt="{p}"></p>' for p in pngs)
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>guildmind simulate</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.2em .5em}}</style></head>
<body><h1>guildmind simulate</h1><p><code>{cfg}</code></p>
<h2>The seed's claims</h2>{claims}
<h2>Figures, side by side</h2>{figs}
<p>Runs named <code>policy:mood</code> replay the same events with every guild in that mood.</p>
<h2>Joining conversations</h2>{delay}
<h2>What follows the bot's remarks (learning)</h2><p>{model}</p>{remarks}
<h2>Plots</h2>{imgs}
</body></html>
"""
    path = out / "report.html"
    path.write_text(page)
    return path
