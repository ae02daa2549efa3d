"""Recent transcripts of the guilds a host holds: bounded, in memory only, forgotten when idle.

A round's actions read the last few messages (keyword activation, the LLM's prompt). They live
here for at most `ttl_s` after a guild's last message and `max_lines` per guild, so memory stays
bounded whatever the traffic, and nothing here is ever persisted, logged or exported.
"""

from __future__ import annotations

import re
from collections import OrderedDict, deque
from collections.abc import Iterable

import msgspec

from actions import ChatMessage
from actors.routing.wire import Line


class Transcripts:
    """The last `max_lines` messages of each recently active guild."""

    def __init__(self, *, max_lines: int = 12, ttl_s: float = 3600.0) -> None:
        if max_lines < 1 or ttl_s <= 0:
            raise ValueError(f"need max_lines >= 1 and ttl_s > 0, got {max_lines!r}, {ttl_s!r}")
        self.max_lines, self.ttl_s = max_lines, ttl_s
        self._lines: OrderedDict[int, deque[Line]] = OrderedDict()  # least recently active first

    def __len__(self) -> int:
        return len(self._lines)

    def add(self, line: Line) -> None:
        lines = self._lines.get(line.guild_id)
        if lines is None:
            lines = self._lines[line.guild_id] = deque(maxlen=self.max_lines)
        else:
            self._lines.move_to_end(line.guild_id)
        lines.append(line)

    def recent(self, guild_id: int, channel_id: int | None = None) -> list[ChatMessage]:
        """The guild's recent messages (of one channel, if given), oldest first."""
        return [
            ChatMessage(line.author, line.content, line.at, line.message_id, line.author_id)
            for line in self._lines.get(guild_id, ())
            if channel_id is None or line.channel_id == channel_id
        ]

    def find(self, guild_id: int, author_id: int, at: float) -> Line | None:
        """The line of a message, by its author and time, if it is still here."""
        for line in reversed(self._lines.get(guild_id, ())):
            if line.at == at and line.author_id == author_id:
                return line
        return None

    def last_channel(self, guild_id: int) -> int | None:
        lines = self._lines.get(guild_id)
        return lines[-1].channel_id if lines else None

    def forget(self, guild_id: int) -> None:
        self._lines.pop(guild_id, None)

    def forget_user(self, user_id: int, guild_ids: Iterable[int] | None = None) -> list[int]:
        """Erase a member from the transcripts (of `guild_ids`, or all): the lines they wrote
        go, and mentions of them in others' lines become "@someone". Returns the guilds that
        held something of theirs."""
        mention = re.compile(rf"<@!?{int(user_id)}>")
        changed = []
        for gid in list(self._lines) if guild_ids is None else guild_ids:
            lines = self._lines.get(gid)
            if not lines:
                continue
            kept = deque(
                (
                    msgspec.structs.replace(line, content=mention.sub("@someone", line.content))
                    if mention.search(line.content)
                    else line
                    for line in lines
                    if line.author_id != user_id
                ),
                maxlen=self.max_lines,
            )
            if list(kept) != list(lines):
                changed.append(gid)
                if kept:
                    self._lines[gid] = kept
                else:
                    del self._lines[gid]
        return changed

    def expire(self, now: float) -> int:
        """Drop the transcripts of guilds silent for `ttl_s`; returns how many were dropped."""
        dropped = 0
        while self._lines:
            guild_id, lines = next(iter(self._lines.items()))
            if lines and now - lines[-1].at < self.ttl_s:
                break
            del self._lines[guild_id]
            dropped += 1
        return dropped
