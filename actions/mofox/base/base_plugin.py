"""MoFox's `BasePlugin`: a class that lists its components and carries a configuration.

A MoFox plugin is a ``@register_plugin`` class whose ``get_plugin_components()`` returns
``(info, class)`` pairs. Guildmind instantiates it when its folder is loaded
(`actions.mofox.loader`): the configuration is read then (``config.toml`` in the plugin's folder
over the ``config_schema`` defaults, `actions.mofox.config`), ``plugin.enabled = false`` or
``enable_plugin = False`` keep it off, and its action components are registered.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from actions.mofox.base.component_types import (
    ComponentInfo,
    ComponentType,
    PermissionNodeField,
    PluginInfo,
    PythonDependency,
)
from actions.mofox.base.plugin_metadata import PluginMetadata
from actions.mofox.config import load_config

__all__ = ["BasePlugin"]

logger = logging.getLogger(__name__)

_INFO_GETTERS = {
    ComponentType.ACTION: "get_action_info",
    ComponentType.COMMAND: "get_command_info",
    ComponentType.PLUS_COMMAND: "get_plus_command_info",
    ComponentType.TOOL: "get_tool_info",
    ComponentType.EVENT_HANDLER: "get_handler_info",
    ComponentType.PROMPT: "get_prompt_info",
    ComponentType.INTEREST_CALCULATOR: "get_interest_calculator_info",
}


class BasePlugin:
    """A MoFox plugin (``from actions.mofox import BasePlugin, register_plugin``).

    Class attributes: ``plugin_name`` (required, no ``.``), ``enable_plugin``,
    ``config_file_name`` (read from the plugin's folder), ``config_schema`` (sections of
    `ConfigField`), ``config_section_descriptions``, ``dependencies``, ``python_dependencies``,
    ``permission_nodes`` (ignored). Define ``get_plugin_components()``.

    Parameters
    ----------
    plugin_dir:
        The plugin's folder (where ``config_file_name`` is looked for).
    metadata:
        The package's ``__plugin_meta__``, when it has one.

    Raises
    ------
    actions.mofox.PluginConfigError
        When the configuration file is wrong (one line naming the key).
    """

    plugin_name: ClassVar[str] = ""
    enable_plugin: ClassVar[bool] = True
    config_file_name: ClassVar[str] = ""
    config_schema: ClassVar[Mapping[str, Any]] = {}
    config_section_descriptions: ClassVar[Mapping[str, str]] = {}
    dependencies: ClassVar[list[str]] = []
    python_dependencies: ClassVar[list[str | PythonDependency]] = []
    permission_nodes: ClassVar[list[PermissionNodeField]] = []

    def __init__(
        self, plugin_dir: str | None = None, metadata: PluginMetadata | None = None, **_kw: Any
    ) -> None:
        cls = type(self)
        self.plugin_dir = plugin_dir or ""
        self.log_prefix = f"[Plugin:{self.plugin_name}]"
        self.plugin_meta = metadata or PluginMetadata(
            name=getattr(cls, "plugin_display_name", "") or self.plugin_name,
            description=getattr(cls, "plugin_description", "") or (cls.__doc__ or "").strip(),
            version=getattr(cls, "plugin_version", "") or "1.0.0",
            author=getattr(cls, "plugin_author", "") or "",
        )
        self._is_enabled = self.enable_plugin
        file = (
            Path(self.plugin_dir) / self.config_file_name
            if self.plugin_dir and self.config_file_name
            else None
        )
        self.config: dict[str, Any] = load_config(self.plugin_name, self.config_schema, file)
        enabled = self.config.get("plugin", {})
        if isinstance(enabled, Mapping) and isinstance(enabled.get("enabled"), bool):
            self._is_enabled = enabled["enabled"]
        self.display_name = self.plugin_meta.name
        self.plugin_version = self.plugin_meta.version
        self.plugin_description = self.plugin_meta.description
        self.plugin_author = self.plugin_meta.author
        self.plugin_info = PluginInfo(
            display_name=self.display_name,
            name=self.plugin_name,
            description=self.plugin_description,
            version=self.plugin_version,
            author=self.plugin_author,
            enabled=self._is_enabled,
            config_file=self.config_file_name or "",
            dependencies=list(self.dependencies),
            python_dependencies=list(self.python_dependencies),
        )

    @property
    def enabled(self) -> bool:
        """Whether the plugin is on (``enable_plugin``, then ``plugin.enabled`` of its config)."""
        return self._is_enabled

    def get_config(self, key: str, default: Any = None) -> Any:
        """One key of the configuration, by dotted path (``"components.enable_emoji"``)."""
        current: Any = self.config
        for part in key.split("."):
            if not isinstance(current, Mapping) or part not in current:
                return default
            current = current[part]
        return current

    def get_plugin_components(self) -> list[tuple[ComponentInfo, type]]:
        """The plugin's ``(info, class)`` pairs; every plugin defines it."""
        raise NotImplementedError(
            f"{type(self).__qualname__!r} must define get_plugin_components()."
        )

    @classmethod
    def get_component_info(cls, component_class: type, component_type: ComponentType) -> Any:
        """A component class's info, by its type (MoFox's helper)."""
        getter = _INFO_GETTERS.get(component_type)
        if getter is None or not hasattr(component_class, getter):
            logger.warning(
                "%s has no %s; it cannot be listed as a %s component",
                component_class.__name__, getter, component_type,
            )  # fmt: skip
            return None
        return getattr(component_class, getter)()

    _get_component_info_from_class = get_component_info

    async def on_plugin_loaded(self) -> None:
        """Called once after the plugin's components are registered (in a loop of its own:
        keep nothing tied to that loop, such as an HTTP session)."""

    def on_unload(self) -> None:
        """Never called: guildmind does not unload plugins."""
