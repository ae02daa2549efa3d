"""A plugin loaded through an entry point that names its module."""

from __future__ import annotations

from actions import ActionRegistry, BaseAction


class EpModuleAction(BaseAction):
    action_name = "ep_module_action"


def setup(registry: ActionRegistry) -> None:
    registry.register(EpModuleAction)
