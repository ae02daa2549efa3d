"""`ConfigField`: one key of a MoFox plugin's ``config_schema`` (MoFox's ``config_types``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ConfigField"]


@dataclass
class ConfigField:
    """A configuration key: its type, default and description.

    Guildmind checks the schema when the plugin class is registered (the default has the type),
    and ``config.toml`` against it when the plugin loads: a wrong type, a value outside
    ``choices``, an unknown key or a missing ``required`` one is a one-line error naming the key.
    ``example`` is documentation only.
    """

    type: type
    default: Any
    description: str
    example: str | None = None
    required: bool = False
    choices: list[Any] | None = field(default_factory=list)
