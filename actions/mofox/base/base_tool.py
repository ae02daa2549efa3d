"""MoFox's `BaseTool`: loaded with its plugin, never run (guildmind's LLM calls no tools)."""

from __future__ import annotations

from typing import Any, ClassVar

from actions.mofox.base._component import NotRun, info_name
from actions.mofox.base.component_types import ToolInfo, ToolParamType

__all__ = ["BaseTool"]


class BaseTool(NotRun):
    """A tool for the LLM: listed by a plugin, loaded with a warning, not run."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    parameters: ClassVar[list[tuple[str, ToolParamType, str, bool, list[str] | None]]] = []
    available_for_llm: ClassVar[bool] = False

    async def execute(self, function_args: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError(f"{type(self).__qualname__!r} must define execute().")

    @classmethod
    def get_tool_info(cls) -> ToolInfo:
        return ToolInfo(
            name=info_name(cls, cls.name, "tool"),
            description=cls.description,
            tool_description=cls.description,
            enabled=cls.available_for_llm,
            tool_parameters=list(cls.parameters),
        )
