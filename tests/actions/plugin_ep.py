"""A plugin loaded through an entry point that names its setup function."""

from __future__ import annotations

from actions import ActionRegistry, BaseAction

NOT_CALLABLE = 42


class EpAction(BaseAction):
    action_name = "ep_action"


def setup(registry: ActionRegistry) -> None:
    registry.register(EpAction)
