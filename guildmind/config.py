"""Loading guildmind's configuration: one TOML file decoded into the `config` structs.

No file at all is a valid configuration (every key has a default). An unknown key, a wrong type
or an out-of-range value is a `ConfigError` of one line naming the file and the key:
``guildmind.toml: gateway.batch_max: Expected `int` >= 1, got 0``.

Secrets never live in the file: it names the environment variables that hold them
(``source.discord.token_env``, ``llm.api_key_env``, ``state.password_env``). Three environment
variables override keys: ``RAY_ADDRESS`` (runtime.address), ``DISCORD_API_BASE`` and
``DISCORD_GATEWAY_URL`` (source.discord.api_base / gateway_url).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec
from msgspec import UNSET

from config import Config, DiscordSourceConfig, GuildEntry, MoodEntry, check_place
from engine import BUILTIN_MOODS, MoodProfile

__all__ = ["ConfigError", "load_config", "parse_config"]

ENV_OVERRIDES = {
    "RAY_ADDRESS": ("runtime", "address"),
    "DISCORD_API_BASE": ("source", "discord", "api_base"),
    "DISCORD_GATEWAY_URL": ("source", "discord", "gateway_url"),
}


class ConfigError(ValueError):
    """The configuration is invalid; the message is one line naming the file and the key."""


_AT = re.compile(r"^(?P<msg>.*) - at `\$(?P<path>[^`]*)`$", re.DOTALL)
_OWN_KEY = re.compile(r"^(?P<key>[A-Za-z_]\w*(?:\.\w+)+):? (?P<rest>.*)$", re.DOTALL)
_PART = re.compile(r"\.?([^.\[]+)|\[(\d+)\]")


def _parts(path: str) -> list[str | int]:
    return [int(i) if i else name for name, i in _PART.findall(path)]


def _value_at(raw: object, parts: list[str | int]) -> object:
    for p in parts:
        in_table = isinstance(raw, dict) and isinstance(p, str) and p in raw
        in_array = isinstance(raw, list) and isinstance(p, int) and p < len(raw)
        if not (in_table or in_array):
            return UNSET
        raw = raw[p]  # type: ignore[index]
    return raw


def _field_type(cls: type, name: str) -> msgspec.inspect.Type | None:
    info = msgspec.inspect.type_info(cls)
    return next((f.type for f in info.fields if f.name == name), None)  # type: ignore[attr-defined]


def _struct_at(cls: type, parts: list[str | int]) -> type | None:
    """The Struct type found by following field names from `cls` (for listing known keys)."""
    for p in parts:
        if isinstance(p, int) or p not in cls.__struct_fields__:
            return None
        ftype = _field_type(cls, p)
        types = getattr(ftype, "types", (ftype,))
        found = [t.cls for t in types if isinstance(t, msgspec.inspect.StructType)]
        if not found:
            return None
        cls = found[0]
    return cls


def _message(root: type, prefix: str, text: str, raw: object) -> str:
    """Turn msgspec's "... - at `$.a.b`" into "a.b: ...", naming the bad value."""
    m = _AT.match(text)
    msg, path = (m["msg"], m["path"]) if m else (text, "")
    parts = _parts(path)
    key = ".".join(x for x in (prefix, path.lstrip(".")) if x)
    own = _OWN_KEY.match(msg)
    last = key.rsplit(".", 1)[-1]
    if own and own["key"].split(".")[0] == last:  # a __post_init__ naming its own key
        return f"{key[: len(key) - len(last)]}{own['key']}: {own['rest']}"
    unknown = re.match(r"Object contains unknown field `(.*)`", msg)
    if unknown:
        cls = _struct_at(root, parts)
        known = f"; known keys: {', '.join(cls.__struct_fields__)}" if cls else ""
        return f"{key + '.' if key else ''}{unknown[1]}: unknown key{known}"
    missing = re.match(r"Object missing required field `(.*)`", msg)
    if missing:
        return f"{key}.{missing[1]}: required key is missing"
    value = _value_at(raw, parts)
    if key.endswith("quiet_hours") and msg.startswith("Expected"):
        want = "a table like {start = '23:00', end = '07:00'}, or false for none"
        return f"{key}: must be {want}; got {value!r}"
    if msg.startswith("Invalid enum value") and parts and isinstance(parts[-1], str):
        owner = _struct_at(root, parts[:-1])
        ftype = _field_type(owner, parts[-1]) if owner else None
        if isinstance(ftype, msgspec.inspect.LiteralType):
            choices = " or ".join(map(repr, ftype.values))
            return f"{key}: must be {choices}, got {value!r}"
    if value is not UNSET:
        if re.search(r", got `[^`]*`$", msg):
            msg = re.sub(r", got `[^`]*`$", f", got {value!r}", msg)
        elif msg.startswith("Expected"):
            msg = f"{msg}, got {value!r}"
    return f"{key}: {msg}" if key else msg


def _convert(raw: object, cls: type, file: str, prefix: str = "") -> Any:
    try:
        return msgspec.convert(raw, cls)
    except msgspec.ValidationError as e:
        raise ConfigError(f"{file}: {_message(cls, prefix, str(e), raw)}") from None


def _table(raw: dict[str, Any], key: str, file: str) -> dict[str, Any]:
    value = raw.pop(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{file}: {key}: must be a table, got {value!r}")
    return value


def _moods(table: dict[str, Any], file: str) -> dict[str, MoodProfile]:
    moods: dict[str, MoodProfile] = {}
    for name, traits in table.items():
        key = f"moods.{name}"
        if not name.isidentifier():
            raise ConfigError(f"{file}: {key}: a mood name must be a plain identifier")
        entry: MoodEntry = _convert(traits, MoodEntry, file, key)
        given = {f: getattr(entry, f) for f in MoodEntry.__struct_fields__}
        given = {f: v for f, v in given.items() if v is not UNSET}
        base = BUILTIN_MOODS.get(name)
        if base is None:
            lacking = [t for t in ("energy", "sociability", "impulsiveness") if t not in given]
            if lacking:
                raise ConfigError(
                    f"{file}: {key}: a new mood needs energy, sociability and impulsiveness; "
                    f"missing {', '.join(map(repr, lacking))}"
                )
            moods[name] = MoodProfile(**given)
        else:
            moods[name] = msgspec.structs.replace(base, **given)
    return moods


def _guilds(table: dict[str, Any], file: str) -> dict[int, GuildEntry]:
    guilds: dict[int, GuildEntry] = {}
    for gid, raw in table.items():
        if not (gid.isascii() and gid.isdigit() and int(gid) < 1 << 63):
            raise ConfigError(
                f"{file}: guilds.{gid}: a guild key must be its numeric id (a snowflake such as "
                f"'123456789012345678'), got {gid!r}"
            )
        key = f"guilds.{gid}"
        entry: GuildEntry = _convert(raw, GuildEntry, file, key)
        try:
            check_place(key, entry.timezone, entry.quiet_hours)
        except ValueError as e:
            raise ConfigError(f"{file}: {e}") from None
        guilds[int(gid)] = entry
    return guilds


def _apply_env(cfg: Config, env: Mapping[str, str]) -> Config:
    runtime, discord = cfg.runtime, cfg.source.discord
    if env.get("RAY_ADDRESS"):
        runtime = msgspec.structs.replace(runtime, address=env["RAY_ADDRESS"])
    changes = {}
    for name, field in (("DISCORD_API_BASE", "api_base"), ("DISCORD_GATEWAY_URL", "gateway_url")):
        if env.get(name):
            changes[field] = env[name]
    if changes:
        fields = {f: getattr(discord, f) for f in discord.__struct_fields__} | changes
        try:
            discord = DiscordSourceConfig(**fields)  # the constructor validates again
        except ValueError as e:
            names = ", ".join(n for n, f in ENV_OVERRIDES.items() if f[-1] in changes)
            raise ConfigError(f"environment ({names}): {e}") from None
    source = msgspec.structs.replace(cfg.source, discord=discord)
    return msgspec.structs.replace(cfg, runtime=runtime, source=source)


def load_config(path: str | Path | None = None, *, env: Mapping[str, str] | None = None) -> Config:
    """Read, decode and validate a configuration file; None gives every default.

    `env` (default `os.environ`) supplies RAY_ADDRESS, DISCORD_API_BASE and DISCORD_GATEWAY_URL,
    which win over the file. Raises `ConfigError` (one line naming the file and the key).
    """
    if path is None:
        return parse_config("", file="<defaults>", env=env)
    file = str(path)
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except OSError as e:
        raise ConfigError(f"{file}: cannot read the configuration file: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"{file}: is not UTF-8 text: {e.reason} at byte {e.start}") from None
    return parse_config(text, file=file, env=env)


def parse_config(
    text: str, *, file: str = "<string>", env: Mapping[str, str] | None = None
) -> Config:
    """`load_config()` for TOML text already in hand (`file` names it in errors)."""
    env = os.environ if env is None else env
    try:
        raw: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{file}: is not valid TOML: {e}") from None
    moods = _moods(_table(raw, "moods", file), file)
    guilds = _guilds(_table(raw, "guilds", file), file)
    cfg: Config = _convert(raw, Config, file)
    cfg = msgspec.structs.replace(cfg, moods=moods, guilds=guilds)
    book = cfg.mood_book()
    named = [("defaults.mood", cfg.defaults.mood)]
    named += [(f"guilds.{g}.mood", e.mood) for g, e in guilds.items() if isinstance(e.mood, str)]
    for key, mood in named:
        if mood not in book:
            known = ", ".join(sorted(book.names()))
            raise ConfigError(f"{file}: {key}: unknown mood {mood!r}; known moods: {known}")
    return _apply_env(cfg, env)
