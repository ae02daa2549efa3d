"""MoFox's ``src.plugin_system.base``, on guildmind (see `actions.mofox`)."""

from __future__ import annotations

from actions.mofox.base.base_action import BaseAction
from actions.mofox.base.base_command import BaseCommand
from actions.mofox.base.base_event import HandlerResult
from actions.mofox.base.base_events_handler import BaseEventHandler
from actions.mofox.base.base_plugin import BasePlugin
from actions.mofox.base.base_prompt import BasePrompt
from actions.mofox.base.base_tool import BaseTool
from actions.mofox.base.command_args import CommandArgs
from actions.mofox.base.component_types import (
    ActionActivationType,
    ActionInfo,
    ChatMode,
    ChatType,
    CommandInfo,
    ComponentInfo,
    ComponentType,
    EventHandlerInfo,
    EventType,
    InjectionRule,
    InjectionType,
    MaiMessages,
    PermissionNodeField,
    PluginInfo,
    PlusCommandInfo,
    PromptInfo,
    PythonDependency,
    ToolInfo,
    ToolParamType,
)
from actions.mofox.base.config_types import ConfigField
from actions.mofox.base.plugin_metadata import PluginMetadata
from actions.mofox.base.plus_command import PlusCommand, create_plus_command_adapter

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
    "HandlerResult",
    "InjectionRule",
    "InjectionType",
    "MaiMessages",
    "PermissionNodeField",
    "PluginInfo",
    "PluginMetadata",
    "PlusCommand",
    "PlusCommandInfo",
    "PromptInfo",
    "PythonDependency",
    "ToolInfo",
    "ToolParamType",
    "create_plus_command_adapter",
]
