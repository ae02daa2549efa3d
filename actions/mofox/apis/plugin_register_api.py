"""`register_plugin`: the decorator that marks a MoFox plugin class for guildmind's loader."""

from __future__ import annotations

import inspect
from typing import TypeVar

from actions.mofox.base.base_plugin import BasePlugin
from actions.mofox.config import check_schema

__all__ = ["register_plugin"]

P = TypeVar("P", bound=type[BasePlugin])

REGISTERED = "__mofox_plugin__"
"""The mark the decorator leaves in the class's own namespace (the loader looks for it)."""


def register_plugin(cls: P) -> P:
    """Mark `cls` as a plugin to load, after checking it.

    Raises
    ------
    TypeError, ValueError
        When `cls` is not a `BasePlugin` subclass, or its ``plugin_name``, ``config_file_name``,
        ``config_schema``, ``enable_plugin`` or ``get_plugin_components`` is wrong; the message
        names the class and the attribute.
    """
    if not (isinstance(cls, type) and issubclass(cls, BasePlugin)):
        raise TypeError(
            f"@register_plugin: {cls!r} is not a BasePlugin subclass; "
            "define 'class MyPlugin(BasePlugin)'."
        )
    owner = repr(cls.__qualname__)
    name = cls.plugin_name
    if not isinstance(name, str) or not name:
        raise ValueError(f"{owner}.plugin_name must be a non-empty string, got {name!r}.")
    if "." in name:
        raise ValueError(f"{owner}.plugin_name {name!r} contains '.'; use '_' instead.")
    if not isinstance(cls.config_file_name, str):
        raise TypeError(f"{owner}.config_file_name must be a string, got {cls.config_file_name!r}.")
    if not isinstance(cls.enable_plugin, bool):
        raise TypeError(f"{owner}.enable_plugin must be a bool, got {cls.enable_plugin!r}.")
    check_schema(owner, cls.config_schema)
    getter = cls.get_plugin_components
    if getter is BasePlugin.get_plugin_components:
        raise TypeError(f"{owner} must define get_plugin_components().")
    if inspect.iscoroutinefunction(getter):
        raise TypeError(f"{owner}.get_plugin_components must be a plain 'def', not 'async def'.")
    setattr(cls, REGISTERED, True)
    return cls
