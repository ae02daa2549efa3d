"""MoFox's `PlusCommand`: loaded with its plugin, never run.

Guildmind's commands are its slash commands (``/guildmind status``, ...), for a guild's admins;
it does not read chat commands such as ``/hello``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from actions.mofox.base._component import NotRun, info_name
from actions.mofox.base.command_args import CommandArgs
from actions.mofox.base.component_types import ChatType, PlusCommandInfo

__all__ = ["PlusCommand", "create_plus_command_adapter"]


class PlusCommand(NotRun):
    """A chat command: listed by a plugin, loaded with a warning, not run."""

    command_name: ClassVar[str] = ""
    command_description: ClassVar[str] = ""
    command_aliases: ClassVar[list[str]] = []
    priority: ClassVar[int] = 0
    chat_type_allow: ClassVar[ChatType] = ChatType.ALL
    intercept_message: ClassVar[bool] = False

    async def execute(self, args: CommandArgs) -> tuple[bool, str | None, bool]:
        raise NotImplementedError(f"{type(self).__qualname__!r} must define execute().")

    @classmethod
    def get_plus_command_info(cls) -> PlusCommandInfo:
        return PlusCommandInfo(
            name=info_name(cls, cls.command_name, "command"),
            description=cls.command_description,
            command_aliases=list(cls.command_aliases),
            priority=cls.priority,
            chat_type_allow=cls.chat_type_allow,
            intercept_message=cls.intercept_message,
        )


def create_plus_command_adapter(plus_command_class: type[Any]) -> type[Any]:
    """MoFox's adapter to the old command system: the class itself (commands are not run)."""
    return plus_command_class
