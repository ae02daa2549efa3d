"""MoFox's event results (event handlers are loaded, never run, on guildmind)."""

from __future__ import annotations

from typing import Any

__all__ = ["HandlerResult"]


class HandlerResult:
    """What an event handler returns."""

    def __init__(
        self, success: bool, continue_process: bool, message: Any = None, handler_name: str = ""
    ) -> None:
        self.success = success
        self.continue_process = continue_process
        self.message = message
        self.handler_name = handler_name

    def __repr__(self) -> str:
        return (
            f"HandlerResult(success={self.success!r}, continue_process={self.continue_process!r}, "
            f"handler_name={self.handler_name!r})"
        )
