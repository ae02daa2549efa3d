"""MoFox's `BasePrompt`: loaded with its plugin, never run (guildmind writes its own prompts)."""

from __future__ import annotations

from typing import ClassVar

from actions.mofox.base._component import NotRun, info_name
from actions.mofox.base.component_types import InjectionRule, PromptInfo

__all__ = ["BasePrompt"]


class BasePrompt(NotRun):
    """A prompt injection: listed by a plugin, loaded with a warning, not run."""

    prompt_name: ClassVar[str] = ""
    prompt_description: ClassVar[str] = ""
    injection_rules: ClassVar[list[InjectionRule]] = []
    injection_point: ClassVar[str | list[str] | None] = None

    async def execute(self) -> str:
        raise NotImplementedError(f"{type(self).__qualname__!r} must define execute().")

    @classmethod
    def get_prompt_info(cls) -> PromptInfo:
        return PromptInfo(
            name=info_name(cls, cls.prompt_name, "prompt"),
            description=cls.prompt_description,
            injection_rules=list(cls.injection_rules),
            injection_point=cls.injection_point,
        )
