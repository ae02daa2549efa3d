"""MoFox's `BaseEventHandler`: loaded with its plugin, never run (guildmind has no event bus)."""

from __future__ import annotations

from typing import Any, ClassVar

from actions.mofox.base._component import NotRun, info_name
from actions.mofox.base.component_types import EventHandlerInfo, EventType

__all__ = ["BaseEventHandler"]


class BaseEventHandler(NotRun):
    """An event handler: listed by a plugin, loaded with a warning, not run."""

    handler_name: ClassVar[str] = ""
    handler_description: ClassVar[str] = ""
    weight: ClassVar[int] = 0
    intercept_message: ClassVar[bool] = False
    init_subscribe: ClassVar[list[EventType | str]] = [EventType.UNKNOWN]
    plugin_name: ClassVar[str | None] = None

    async def execute(self, kwargs: dict[str, Any] | None) -> Any:
        raise NotImplementedError(f"{type(self).__qualname__!r} must define execute().")

    @classmethod
    def get_handler_info(cls) -> EventHandlerInfo:
        name = cls.handler_name or cls.__name__.lower().replace("handler", "")
        first = next((e for e in cls.init_subscribe if isinstance(e, EventType)), None)
        return EventHandlerInfo(
            name=info_name(cls, name, "handler"),
            description=cls.handler_description,
            event_type=first or EventType.UNKNOWN,
            weight=cls.weight,
            intercept_message=cls.intercept_message,
        )
