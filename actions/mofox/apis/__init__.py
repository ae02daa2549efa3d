"""MoFox's ``src.plugin_system.apis``, on guildmind: ``get_logger``, ``register_plugin``, and
the service APIs, which are refused.

MoFox's service APIs (``send_api``, ``llm_api``, ``message_api``, ``database_api``, ...) reach
into MoFox's own chat manager, database and model configuration. Guildmind has none of them: an
action gets what it may use from ``self`` and the round's ``self.ctx`` (sends, the transcript,
the LLM port). So these names import, and calling anything in them raises `MoFoxAPIUnsupported`
naming the call and what to use instead; inside an action it is also counted as a refusal of
that action, even when the plugin catches the exception.
"""

from __future__ import annotations

from typing import Any, NoReturn

from actions.mofox._current import CURRENT_ACTION
from actions.mofox.apis.logging_api import get_logger
from actions.mofox.apis.plugin_register_api import register_plugin

INSTEAD = {
    "send_api": "self.send_text(), self.send_emoji() or self.send_custom() in an action",
    "llm_api": "self.ctx.llm with actions.ask_llm() (reported to the round's observer)",
    "message_api": "self.ctx.messages (the recent transcript) or self.chat_content",
    "generator_api": "actions.ContentWriter (self.ctx.writer) or self.ctx.llm",
    "chat_api": "self.chat_stream and self.ctx",
    "config_api": "self.get_config() (the plugin's own configuration)",
    "emoji_api": "self.send_emoji() with a Unicode or Discord emoji",
    "person_api": "self.action_message (the author of the latest message)",
    "database_api": "nothing: guildmind stores no message or action history",
}


class MoFoxAPIUnsupported(NotImplementedError):
    """A MoFox service API was called; guildmind does not have it."""


class RefusedAPI:
    """One of MoFox's service API modules: every function refuses, with what to use instead."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)

        def refused(*_args: Any, **_kwargs: Any) -> NoReturn:
            instead = INSTEAD.get(self._name, "what self and self.ctx offer")
            action = CURRENT_ACTION.get()
            if action is not None:  # counted even if the plugin catches the exception
                action.refuse(f"{self._name}.{attr}()", "a MoFox service API", "service_api")
            raise MoFoxAPIUnsupported(
                f"MoFox's {self._name}.{attr}() is not available on guildmind; use {instead}."
            )

        refused.__name__ = attr
        return refused

    def __repr__(self) -> str:
        return f"<refused MoFox API {self._name!r}>"


chat_api = RefusedAPI("chat_api")
component_manage_api = RefusedAPI("component_manage_api")
config_api = RefusedAPI("config_api")
database_api = RefusedAPI("database_api")
emoji_api = RefusedAPI("emoji_api")
generator_api = RefusedAPI("generator_api")
llm_api = RefusedAPI("llm_api")
message_api = RefusedAPI("message_api")
mood_api = RefusedAPI("mood_api")
permission_api = RefusedAPI("permission_api")
person_api = RefusedAPI("person_api")
plugin_manage_api = RefusedAPI("plugin_manage_api")
schedule_api = RefusedAPI("schedule_api")
send_api = RefusedAPI("send_api")
tool_api = RefusedAPI("tool_api")

__all__ = [
    "MoFoxAPIUnsupported",
    "RefusedAPI",
    "chat_api",
    "component_manage_api",
    "config_api",
    "database_api",
    "emoji_api",
    "generator_api",
    "get_logger",
    "llm_api",
    "message_api",
    "mood_api",
    "permission_api",
    "person_api",
    "plugin_manage_api",
    "register_plugin",
    "schedule_api",
    "send_api",
    "tool_api",
]
