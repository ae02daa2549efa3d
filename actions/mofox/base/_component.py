"""What the components guildmind loads but does not run have in common."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def info_name(owner: type, name: str, kind: str) -> str:
    """The component's name, checked as MoFox checks it (no ``.``)."""
    if not name:
        raise ValueError(f"{owner.__qualname__!r} has no name; set the {kind}'s name attribute.")
    if "." in name:
        raise ValueError(f"{owner.__qualname__!r} name {name!r} contains '.'; use '_' instead.")
    return name


class NotRun:
    """A MoFox component kind guildmind loads (so its plugin loads) and never runs.

    Loading a plugin logs a warning for each such component it lists.
    """

    plugin_config: Mapping[str, Any] = {}

    def get_config(self, key: str, default: Any = None) -> Any:
        current: Any = self.plugin_config
        for part in key.split("."):
            if not isinstance(current, Mapping) or part not in current:
                return default
            current = current[part]
        return current
