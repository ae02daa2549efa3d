"""hello_world: the action-activation guide's examples, written against guildmind's API.

A plugin is a module with ``setup(registry)``; this one registers every example. Load it with
``ActionRegistry().load_folder("plugins")`` (see docs/actions.md). These are teaching examples:
don't enable them on a real server (``always_active`` would be offered every round).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .examples import EXAMPLES

if TYPE_CHECKING:
    from actions import ActionRegistry

__all__ = ["EXAMPLES", "setup"]


def setup(registry: ActionRegistry) -> None:
    """Register the example actions."""
    for cls in EXAMPLES:
        registry.register(cls)
