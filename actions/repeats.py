"""What each guild heard lately, so that it does not hear the same line again soon.

`RecentLines` keeps, in memory only, a hash of each of the last `per_guild` lines the bot wrote in
a guild (never the text), for the `max_guilds` guilds it wrote in most recently: a guild pushed
out of that LRU forgets, so memory stays bounded however many guilds there are (about half a
kilobyte a guild at the defaults). The content writer asks it before it speaks: a template picks
a phrase the guild did not hear lately, and an LLM answer the guild just heard is replaced by
such a template.

Lines are compared after case folding and collapsing whitespace ("Anyone around?" is
"anyone  around?"). The hash is Python's own, salted per process: it is never stored or sent.
"""

from __future__ import annotations

from collections import OrderedDict

__all__ = ["RecentLines"]


class RecentLines:
    """The last few lines each recently active guild heard, as hashes.

    Parameters
    ----------
    per_guild:
        How many lines a guild remembers (its newest first).
    max_guilds:
        How many guilds are remembered; the one that heard a line longest ago is forgotten first.

    Raises
    ------
    ValueError
        For a size below 1.
    """

    def __init__(self, per_guild: int = 8, max_guilds: int = 10_000) -> None:
        if per_guild < 1:
            raise ValueError(f"per_guild must be >= 1, got {per_guild!r}.")
        if max_guilds < 1:
            raise ValueError(f"max_guilds must be >= 1, got {max_guilds!r}.")
        self.per_guild = per_guild
        self.max_guilds = max_guilds
        self._lines: OrderedDict[int, tuple[int, ...]] = OrderedDict()

    @staticmethod
    def key(text: str) -> int:
        """The hash a line is remembered by."""
        return hash(" ".join(text.casefold().split()))

    def age(self, guild_id: int, text: str) -> int | None:
        """How many lines ago `guild_id` heard `text` (0: the last one), or None when it is not
        among its last `per_guild` lines."""
        lines = self._lines.get(guild_id)
        if lines is None:
            return None
        try:
            return lines.index(self.key(text))
        except ValueError:
            return None

    def heard(self, guild_id: int, text: str) -> bool:
        """True when `text` is among the last lines `guild_id` heard."""
        return self.age(guild_id, text) is not None

    def add(self, guild_id: int, text: str) -> None:
        """Remember that `guild_id` heard `text` now."""
        key = self.key(text)
        lines = self._lines.pop(guild_id, ())
        self._lines[guild_id] = (key, *(k for k in lines if k != key))[: self.per_guild]
        if len(self._lines) > self.max_guilds:
            self._lines.popitem(last=False)

    def __len__(self) -> int:
        """How many guilds are remembered."""
        return len(self._lines)
