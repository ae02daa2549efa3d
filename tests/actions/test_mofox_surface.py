"""MoFox's plugin surface on guildmind: the names and module paths, and the checks at definition."""

from __future__ import annotations

import ast
import importlib
import types
from pathlib import Path
from typing import ClassVar

import pytest

import actions.mofox as mofox
from actions.mofox import (
    ActionActivationType,
    BaseAction,
    BasePlugin,
    ChatMode,
    ConfigField,
    MoFoxAPIUnsupported,
    llm_api,
    register_plugin,
    send_api,
)
from actions.mofox.chat import ChatStream, chat_stream
from tests.actions.actions_testkit import make_ctx

FIXTURES = Path(__file__).parent / "mofox_plugins"

# MoFox-Bot's ``src/plugin_system/__init__.py`` exports these; guildmind has all but the
# dependency manager's four (guildmind installs nothing).
MOFOX_EXPORTS = [
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
    "PluginInfo",
    "PlusCommand",
    "PythonDependency",
    "ToolInfo",
    "ToolParamType",
    "chat_api",
    "component_manage_api",
    "config_api",
    "create_plus_command_adapter",
    "database_api",
    "emoji_api",
    "generator_api",
    "get_logger",
    "llm_api",
    "message_api",
    "mood_api",
    "person_api",
    "plugin_manage_api",
    "register_plugin",
    "send_api",
    "tool_api",
]

# The module paths plugins import from, below ``src.plugin_system``.
MOFOX_MODULES = [
    "base",
    "base.base_action",
    "base.base_plugin",
    "base.component_types",
    "base.config_types",
    "base.base_events_handler",
    "base.base_event",
    "base.base_command",
    "base.plus_command",
    "base.base_tool",
    "base.base_prompt",
    "base.command_args",
    "base.plugin_metadata",
    "apis",
    "apis.plugin_register_api",
    "apis.logging_api",
]


def test_every_mofox_export_is_importable_from_actions_mofox() -> None:
    missing = [n for n in MOFOX_EXPORTS if not hasattr(mofox, n)]
    assert missing == []
    assert set(MOFOX_EXPORTS) <= set(mofox.__all__)


def test_all_lists_the_public_names() -> None:
    public = {n for n in dir(mofox) if not n.startswith("_")}
    modules = {n for n in public if isinstance(getattr(mofox, n), types.ModuleType)}
    assert set(mofox.__all__) == (public - modules - {"annotations"}) | {"apis"}


@pytest.mark.parametrize("path", MOFOX_MODULES)
def test_mofox_module_paths_exist_under_actions_mofox(path: str) -> None:
    module = importlib.import_module(f"actions.mofox.{path}")
    assert module.__name__ == f"actions.mofox.{path}"


def test_the_fixture_plugins_differ_from_mofox_only_in_their_import_lines() -> None:
    """Every ``actions.mofox`` of the MoFox-shaped fixtures sits in an import statement: pointing
    them back at ``src.plugin_system`` gives MoFox-Bot plugins."""
    files = sorted(FIXTURES.glob("*_plugin/*.py"))
    assert len(files) == 6
    for file in files:
        source = file.read_text(encoding="utf-8")
        tree = ast.parse(source)
        in_imports = {
            n.lineno
            for n in ast.walk(tree)
            if isinstance(n, ast.ImportFrom) and (n.module or "").startswith("actions.mofox")
        }
        lines = [i for i, line in enumerate(source.splitlines(), 1) if "actions.mofox" in line]
        assert set(lines) == in_imports, file
        assert "setup(" not in source and "import actions\n" not in source


def test_a_mofox_action_is_a_guildmind_action_with_the_same_activation_types() -> None:
    from actions import ActionActivationType as Native
    from actions import BaseAction as NativeAction

    assert issubclass(BaseAction, NativeAction)
    assert ActionActivationType is Native
    assert [t.value for t in ChatMode] == ["focus", "normal", "proactive", "priority", "all"]


def test_mofox_attributes_are_checked_when_the_class_is_defined() -> None:
    with pytest.raises(TypeError, match=r"Bad'\.focus_activation_type has the wrong type"):

        class Bad(BaseAction):
            action_name = "bad"
            focus_activation_type = "llm_judge"  # type: ignore[assignment]

    with pytest.raises(ValueError, match=r"action_name 'a.b' contains '.'"):

        class Dotted(BaseAction):
            action_name = "a.b"

    with pytest.raises(TypeError, match=r"Sync'\.execute must be an 'async def' method"):

        class Sync(BaseAction):
            action_name = "sync"

            def execute(self):  # type: ignore[override]
                return True, ""


def test_register_plugin_checks_the_plugin_class() -> None:
    with pytest.raises(TypeError, match="is not a BasePlugin subclass"):
        register_plugin(object)  # type: ignore[type-var]

    with pytest.raises(ValueError, match=r"Nameless'\.plugin_name must be a non-empty string"):

        @register_plugin
        class Nameless(BasePlugin):
            def get_plugin_components(self):
                return []

    with pytest.raises(ValueError, match=r"plugin_name 'my.plugin' contains '.'"):

        @register_plugin
        class Dotted(BasePlugin):
            plugin_name = "my.plugin"

            def get_plugin_components(self):
                return []

    with pytest.raises(TypeError, match=r"the default 'three' is not of type int"):

        @register_plugin
        class WrongDefault(BasePlugin):
            plugin_name = "wrong_default"
            config_schema: ClassVar = {
                "greeting": {"count": ConfigField(type=int, default="three", description="n")}
            }

            def get_plugin_components(self):
                return []

    with pytest.raises(TypeError, match=r"key 'greeting.count' must be a ConfigField, got 'int'"):

        @register_plugin
        class NotAField(BasePlugin):
            plugin_name = "not_a_field"
            config_schema: ClassVar = {"greeting": {"count": 3}}

            def get_plugin_components(self):
                return []

    with pytest.raises(TypeError, match=r"NoComponents' must define get_plugin_components"):

        @register_plugin
        class NoComponents(BasePlugin):
            plugin_name = "no_components"


def test_mofox_service_apis_import_and_refuse_to_be_called_with_what_to_use() -> None:
    with pytest.raises(
        MoFoxAPIUnsupported, match=r"llm_api.get_available_models\(\).*self.ctx.llm"
    ):
        llm_api.get_available_models()
    with pytest.raises(NotImplementedError, match=r"send_api.text_to_stream\(\).*self.send_text"):
        send_api.text_to_stream("hi", "stream")
    assert "send_api" in repr(send_api)


def test_the_chat_stream_says_what_it_does_not_have() -> None:
    stream = chat_stream(make_ctx("hi"))
    assert isinstance(stream, ChatStream) and stream.stream_id == "discord:1:2"
    assert stream.group_info is not None and stream.group_info.group_id == "1"
    with pytest.raises(AttributeError, match=r"ChatStream.context_manager is not available"):
        _ = stream.context_manager
