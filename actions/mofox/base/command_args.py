"""MoFox's `CommandArgs` (commands are loaded, never run, on guildmind)."""

from __future__ import annotations

__all__ = ["CommandArgs"]


class CommandArgs:
    """A command's arguments, split on whitespace."""

    def __init__(self, raw_args: str = "") -> None:
        self._raw = raw_args.strip()

    def get_raw(self) -> str:
        return self._raw

    def get_args(self) -> list[str]:
        return self._raw.split()

    def is_empty(self) -> bool:
        return not self._raw

    def get_arg(self, index: int, default: str = "") -> str:
        args = self.get_args()
        return args[index] if 0 <= index < len(args) else default

    def get_first(self, default: str = "") -> str:
        return self.get_arg(0, default)

    def get_remaining(self, start_index: int = 0) -> str:
        return " ".join(self.get_args()[start_index:])

    def count(self) -> int:
        return len(self.get_args())

    def __str__(self) -> str:
        return self._raw

    def __repr__(self) -> str:
        return f"CommandArgs(<{self.count()} args>)"
