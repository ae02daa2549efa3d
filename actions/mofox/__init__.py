"""MoFox-Bot's plugin surface on guildmind: ``src.plugin_system`` becomes ``actions.mofox``.

A MoFox-Bot (or MaiBot) action plugin runs on guildmind with its import lines changed and nothing
else::

    from src.plugin_system import BaseAction, BasePlugin, register_plugin     # MoFox
    from actions.mofox import BaseAction, BasePlugin, register_plugin         # guildmind

The submodules have MoFox's paths too (``actions.mofox.base.base_action``,
``actions.mofox.base.component_types``, ``actions.mofox.apis.plugin_register_api``, ...), so a
deep import changes the same way. Put the plugin's folder (``plugin.py`` and ``config.toml``) in
a folder of ``runtime.plugin_dirs``, beside native plugins; `ActionRegistry.load_folder` loads
both kinds.

What maps to what, what behaves differently and what is refused: ``docs/actions.md``, section
"Migrating a MoFox-Bot plugin". In short: actions run (activation, the legacy fields, the
helpers, MoFox's instance attributes and send methods); a name that clashes is namespaced
(``plugin.reply``); event handlers, commands, tools and prompts load and are not run; MoFox's
service APIs (``send_api``, ``llm_api``, ...) import and refuse to be called.
"""

from __future__ import annotations

from actions.mofox import apis
from actions.mofox.apis import (
    MoFoxAPIUnsupported,
    chat_api,
    component_manage_api,
    config_api,
    database_api,
    emoji_api,
    generator_api,
    get_logger,
    llm_api,
    message_api,
    mood_api,
    person_api,
    plugin_manage_api,
    register_plugin,
    send_api,
    tool_api,
)
from actions.mofox.base import (
    ActionActivationType,
    ActionInfo,
    BaseAction,
    BaseCommand,
    BaseEventHandler,
    BasePlugin,
    BasePrompt,
    BaseTool,
    ChatMode,
    ChatType,
    CommandArgs,
    CommandInfo,
    ComponentInfo,
    ComponentType,
    ConfigField,
    EventHandlerInfo,
    EventType,
    MaiMessages,
    PluginInfo,
    PluginMetadata,
    PlusCommand,
    PythonDependency,
    ToolInfo,
    ToolParamType,
    create_plus_command_adapter,
)
from actions.mofox.config import PluginConfigError
from actions.mofox.loader import load_plugin, plugin_setup

__version__ = "2.0.0"
"""The version of MoFox's plugin system this mirrors."""

__all__ = [
    "ActionActivationType",
    "ActionInfo",
    "BaseAction",
    "BaseCommand",
    "BaseEventHandler",
    "BasePlugin",
    "BasePrompt",
    "BaseTool",
    "ChatMode",
    "ChatType",
    "CommandArgs",
    "CommandInfo",
    "ComponentInfo",
    "ComponentType",
    "ConfigField",
    "EventHandlerInfo",
    "EventType",
    "MaiMessages",
    "MoFoxAPIUnsupported",
    "PluginConfigError",
    "PluginInfo",
    "PluginMetadata",
    "PlusCommand",
    "PythonDependency",
    "ToolInfo",
    "ToolParamType",
    "apis",
    "chat_api",
    "component_manage_api",
    "config_api",
    "create_plus_command_adapter",
    "database_api",
    "emoji_api",
    "generator_api",
    "get_logger",
    "llm_api",
    "load_plugin",
    "message_api",
    "mood_api",
    "person_api",
    "plugin_manage_api",
    "plugin_setup",
    "register_plugin",
    "send_api",
    "tool_api",
]
