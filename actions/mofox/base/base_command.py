"""MoFox's `BaseCommand` (the regex commands): loaded with its plugin, never run."""

from __future__ import annotations

from typing import ClassVar

from actions.mofox.base._component import info_name
from actions.mofox.base.component_types import ChatType, CommandInfo
from actions.mofox.base.plus_command import PlusCommand

__all__ = ["BaseCommand"]


class BaseCommand(PlusCommand):
    """A regex chat command: listed by a plugin, loaded with a warning, not run."""

    command_pattern: ClassVar[str] = r""
    matched_groups: ClassVar[dict[str, str]] = {}

    async def execute(self) -> tuple[bool, str | None, bool]:  # type: ignore[override]
        raise NotImplementedError(f"{type(self).__qualname__!r} must define execute().")

    @classmethod
    def get_command_info(cls) -> CommandInfo:
        return CommandInfo(
            name=info_name(cls, cls.command_name, "command"),
            description=cls.command_description,
            command_pattern=cls.command_pattern,
            chat_type_allow=getattr(cls, "chat_type_allow", ChatType.ALL),
        )
