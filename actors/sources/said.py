"""`SaidLog`: what the bot said through a gateway's source (or failed to), with why.

In memory only, the newest few (for the demo's console); numbered from the gateway's start, so a
reader asks for what came after its cursor.
"""

from __future__ import annotations

import collections

from actors.sources.base import Said


class SaidLog:
    """The last `keep` messages the bot sent or tried to (`Said`), oldest first."""

    def __init__(self, keep: int = 1_000) -> None:
        self.said: collections.deque[Said] = collections.deque(maxlen=keep)
        self.total = 0  # how many were ever added (the next one's number)

    def add(self, said: Said) -> None:
        self.said.append(said)
        self.total += 1

    def since(self, cursor: int = 0) -> tuple[int, list[Said]]:
        """What was added after `cursor` (of those still kept); and the next cursor."""
        first = self.total - len(self.said)  # the number of said[0]
        return self.total, list(self.said)[max(0, cursor - first) :]

    def forget_user(self, user_id: int) -> None:
        """Drop the messages that mention the member `user_id` (an erasure)."""
        mention = (f"<@{user_id}>", f"<@!{user_id}>")
        kept = [s for s in self.said if not any(m in s.message.text for m in mention)]
        if len(kept) != len(self.said):
            self.said = collections.deque(kept, maxlen=self.said.maxlen)
