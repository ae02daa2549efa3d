"""`PluginMetadata`: who a plugin is (MoFox's ``__plugin_meta__``, set in its package)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from actions.mofox.base.component_types import PythonDependency

__all__ = ["PluginMetadata"]


@dataclass
class PluginMetadata:
    """A plugin's name, description and usage, for people; guildmind logs the name only."""

    name: str
    description: str
    usage: str = ""
    type: str | None = None
    version: str = "1.0.0"
    author: str = ""
    license: str | None = None
    repository_url: str | None = None
    keywords: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    dependencies: list[str] = field(default_factory=list)
    python_dependencies: list[str | PythonDependency] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
