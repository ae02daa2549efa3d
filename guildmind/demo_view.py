"""The demo's console: a live rich view on a terminal, plain lines otherwise.

Per guild: its mood, the conversation's momentum, human messages since the bot last spoke, and
the bot's last action (when, in runtime-clock time). Below: a feed of what the bot said and why.
"""

from __future__ import annotations

import collections
import time
from typing import Any, TextIO

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text


def _ago(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f}s ago"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"


def _clock(seconds: float) -> str:
    m, s = divmod(int(max(0.0, seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}"


class DemoView:
    """What the demo shows; `render()` for the live view, `lines()` for plain output."""

    def __init__(self, names: dict[int, str], *, started_at: float, speed: float, url: str) -> None:
        self.names, self.started_at, self.speed, self.url = names, started_at, speed, url
        self.guilds: dict[int, dict[str, Any] | None] = dict.fromkeys(names)
        self.feed: collections.deque[tuple[float, int, str, str, str, str | None]] = (
            collections.deque(maxlen=12)
        )
        self.now = started_at
        self.spoken = 0
        self._printed_summary = time.monotonic()

    def update(self, now: float, guilds: dict[int, dict | None], said: list) -> list[str]:
        """New state; returns the feed's new entries as plain lines."""
        self.now = now
        self.guilds.update(guilds)
        new = []
        for s in said:
            m = s.message
            entry = (s.at, m.guild_id, m.action, m.text, s.reason, s.failure)
            self.feed.append(entry)
            self.spoken += s.failure is None
            new.append(self._line(entry))
        return new

    def _line(self, entry: tuple) -> str:
        at, gid, action, text, reason, failure = entry
        outcome = f"(not sent: {failure}) " if failure else ""
        why = f" because {reason}" if reason else ""
        return (
            f"[{_clock(at - self.started_at)}] {self.names.get(gid, gid)} · {action}: "
            f"{outcome}“{text}”{why}"
        )

    def summary(self, every_s: float = 30.0) -> list[str]:
        """Per-guild lines, at most every `every_s` seconds (plain output)."""
        if time.monotonic() - self._printed_summary < every_s:
            return []
        self._printed_summary = time.monotonic()
        out = [f"-- runtime clock {_clock(self.now - self.started_at)} ({self.speed:g}×) --"]
        for gid, g in self.guilds.items():
            if g is not None:
                last = g["last_action"] or "—"
                out.append(
                    f"   {self.names[gid]:<16} {g['mood']:<10} momentum "
                    f"{g['signals']['momentum']:.2f}  since bot {g['messages_since_appearance']:>3}"
                    f"  last {last}"
                )
        return out

    def render(self) -> Group:
        header = Text.assemble(
            ("guildmind demo", "bold magenta"),
            f" · emulated Discord, real discord.py client, Ray runtime · runtime clock "
            f"{_clock(self.now - self.started_at)} at {self.speed:g}× · {self.spoken} messages "
            f"sent · metrics discovery {self.url} · Ctrl-C stops",
        )
        table = Table(expand=True, show_edge=False)
        for col, kw in (
            ("guild", {}), ("mood", {}), ("momentum", {"justify": "right"}),
            ("msgs since bot", {"justify": "right"}), ("last action", {}), ("when", {}),
        ):  # fmt: skip
            table.add_column(col, **kw)
        for gid, g in self.guilds.items():
            if g is None:
                table.add_row(self.names[gid], "…", "", "", "", "")
                continue
            momentum = g["signals"]["momentum"]
            bar = "█" * round(momentum * 10) + "·" * (10 - round(momentum * 10))
            when = _ago(self.now - g["last_action_at"]) if g["last_action"] else ""
            table.add_row(
                self.names[gid], g["mood"], f"{bar} {momentum:.2f}",
                str(g["messages_since_appearance"]), g["last_action"] or "—", when,
            )  # fmt: skip
        feed = Text()
        for entry in reversed(self.feed):
            at, gid, action, text, reason, failure = entry
            feed.append(f"{_clock(at - self.started_at)} ", style="dim")
            feed.append(f"{self.names.get(gid, gid)} ", style="bold")
            feed.append(f"{action}", style="red" if failure else "cyan")
            feed.append(f"  “{text}”\n")
            if reason:
                feed.append(f"         because {reason[:160]}\n", style="dim italic")
        if not self.feed:
            feed.append(
                f"nothing yet: the bot stays quiet for its first 120 s of runtime-clock time "
                f"({120 / self.speed:.0f} s at {self.speed:g}×) …"
            )
        return Group(
            header,
            Panel(table, title="guilds"),
            Panel(feed, title="what the bot said, and why"),
        )


def plain_console(stream: TextIO) -> Console:
    return Console(file=stream, highlight=False, soft_wrap=True)
