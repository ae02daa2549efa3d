"""A MoFox plugin's configuration: the defaults of its ``config_schema``, its ``config.toml``.

MoFox keeps a plugin's settings in a ``config.toml`` beside it (or under ``config/plugins/``),
described by the plugin class's ``config_schema``: sections of `ConfigField` values. Guildmind
reads the file from the plugin's folder, never writes it, and takes what it does not set from the
schema's defaults. Unlike MoFox, which drops unknown keys and rewrites the file, a bad file is an
error that names the key: the plugin does not load, and the others do.

A plugin whose schema is empty gets the file as it is (MoFox plugins with an empty schema read
their file themselves).
"""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from actions.mofox.base.config_types import ConfigField

__all__ = ["PluginConfigError", "check_schema", "load_config", "schema_defaults"]

_TYPES = (bool, int, float, str, list, dict)


class PluginConfigError(ValueError):
    """A plugin's ``config_schema`` or ``config.toml`` is wrong (the message names the key)."""


def _type_name(t: object) -> str:
    return t.__name__ if isinstance(t, type) else repr(t)


def _fits(value: Any, expected: type) -> bool:
    if expected is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if expected is list:
        return isinstance(value, list | tuple)
    return isinstance(value, expected)


def check_schema(owner: str, schema: object) -> None:
    """Check a ``config_schema`` when its plugin class is registered.

    Raises
    ------
    TypeError
        When a section is not a table of `ConfigField` values, or a field's type or default is
        wrong; the message names ``owner``, the key and what was expected.
    """
    if not isinstance(schema, Mapping):
        raise TypeError(
            f"{owner}.config_schema must be a dict of sections, got {type(schema).__name__!r}."
        )
    for section, fields in schema.items():
        if isinstance(fields, str):  # a section's description, as MoFox allows
            continue
        _check_fields(owner, str(section), fields)


def _check_fields(owner: str, path: str, fields: object) -> None:
    if not isinstance(fields, Mapping):
        raise TypeError(
            f"{owner}.config_schema[{path!r}] must be a dict of ConfigField, "
            f"got {type(fields).__name__!r}."
        )
    for name, f in fields.items():
        key = f"{path}.{name}"
        if isinstance(f, Mapping):
            _check_fields(owner, key, f)
            continue
        if not isinstance(f, ConfigField):
            raise TypeError(
                f"{owner}.config_schema key {key!r} must be a ConfigField, "
                f"got {type(f).__name__!r}."
            )
        if f.type not in _TYPES:
            raise TypeError(
                f"{owner}.config_schema key {key!r} has type {_type_name(f.type)}; "
                f"expected one of {', '.join(t.__name__ for t in _TYPES)}."
            )
        if f.default is not None and not _fits(f.default, f.type):
            raise TypeError(
                f"{owner}.config_schema key {key!r}: the default {f.default!r} is not of type "
                f"{f.type.__name__}."
            )


def schema_defaults(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The configuration the schema's defaults make (a fresh copy: plugins may change it)."""
    out: dict[str, Any] = {}
    for section, fields in schema.items():
        if isinstance(fields, Mapping):
            out[section] = _defaults(fields)
    return out


def _defaults(fields: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, f in fields.items():
        out[name] = _defaults(f) if isinstance(f, Mapping) else copy.deepcopy(f.default)
    return out


def load_config(plugin: str, schema: Mapping[str, Any], file: Path | None) -> dict[str, Any]:
    """The plugin's configuration: `schema`'s defaults, overridden by `file` when it exists.

    Raises
    ------
    PluginConfigError
        When the file is not valid TOML, sets a key the schema does not have, a value of the
        wrong type or outside the field's ``choices``, or leaves out a ``required`` key that has
        no default. One line, naming the file and the key.
    """
    where = str(file) if file is not None else f"plugin {plugin!r}"
    user: dict[str, Any] = {}
    if file is not None and file.is_file():
        try:
            user = tomllib.loads(file.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise PluginConfigError(f"{where}: not valid TOML: {e}") from e
    sections = {k: v for k, v in schema.items() if isinstance(v, Mapping)}
    if not sections:
        return user
    config = schema_defaults(schema)
    _merge(where, "", sections, user, config)
    return config


def _merge(
    where: str, prefix: str, fields: Mapping[str, Any], user: Mapping[str, Any], out: dict
) -> None:
    for name, value in user.items():
        key = f"{prefix}{name}"
        f = fields.get(name)
        if f is None:
            known = ", ".join(repr(f"{prefix}{k}") for k in fields) or "none"
            raise PluginConfigError(
                f"{where}: unknown key {key!r}; the plugin's config_schema has {known}."
            )
        if isinstance(f, Mapping):
            if not isinstance(value, Mapping):
                raise PluginConfigError(
                    f"{where}: {key!r} must be a table, got {type(value).__name__} {value!r}."
                )
            _merge(where, f"{key}.", f, value, out[name])
            continue
        if not _fits(value, f.type):
            raise PluginConfigError(
                f"{where}: {key!r} must be of type {f.type.__name__}, got "
                f"{type(value).__name__} {value!r}."
            )
        if f.choices and value not in f.choices:
            raise PluginConfigError(
                f"{where}: {key!r} is {value!r}; expected one of {list(f.choices)!r}."
            )
        out[name] = float(value) if f.type is float else value
    for name, f in fields.items():
        if isinstance(f, ConfigField) and f.required and f.default is None and name not in user:
            raise PluginConfigError(
                f"{where}: {prefix + name!r} is required and has no default; set it."
            )
