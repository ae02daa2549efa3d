"""guildmind's configuration: one TOML file decoded into typed, frozen, validated structs.

Every key has a default (``guildmind.example.toml`` lists them all), so no file at all is a valid
configuration. An unknown key, a wrong type or an out-of-range value is a `ConfigError` of one line
naming the file and the key: ``guildmind.toml: gateway.batch_max: Expected `int` >= 1, got 0``.

Secrets never live here: the file names the environment variables that hold them
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
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from actions import LLMConfig
from actors.store import mask_url
from engine import BUILTIN_MOODS, GuildSettings, MoodBook, MoodProfile, QuietHours, RuleConfig

__all__ = ["Config", "ConfigError", "GuildEntry", "load_config", "parse_config"]

_S: dict[str, Any] = {"frozen": True, "kw_only": True, "forbid_unknown_fields": True}
DEFAULT_PERSONA = (
    "Miku is a cheerful virtual singer who hangs out in this server like any other member. She "
    "chats casually in short messages, loves music and games, uses an emoji now and then, and "
    "never pretends to know things she does not."
)
ENV_OVERRIDES = {
    "RAY_ADDRESS": ("runtime", "address"),
    "DISCORD_API_BASE": ("source", "discord", "api_base"),
    "DISCORD_GATEWAY_URL": ("source", "discord", "gateway_url"),
}


class ConfigError(ValueError):
    """The configuration is invalid; the message is one line naming the file and the key."""


def _env_name(key: str, value: str) -> None:
    if value and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
        raise ValueError(f"{key}: must be an environment variable name, got {value!r}")


def _url(key: str, value: str, schemes: tuple[str, ...]) -> None:
    if value and not value.startswith(schemes):
        want = " or ".join(s + "//" for s in schemes)
        raise ValueError(f"{key}: must be empty or start with {want}, got {value!r}")


class RuntimeConfig(msgspec.Struct, **_S):
    """Where and how the runtime runs."""

    address: str = ""  # Ray address; "" = start a light local Ray (env RAY_ADDRESS wins)
    data_dir: str = "data"
    speed: Annotated[float, Meta(gt=0, le=1_000_000)] = 1.0
    placement: Literal["sharded", "dedicated"] = "sharded"
    partitions: Annotated[int, Meta(ge=1, le=1 << 20)] = 1024
    hosts: Annotated[int, Meta(ge=0, le=100_000)] = 0  # 0 = the cluster's CPUs
    bot_name: Annotated[str, Meta(min_length=1, max_length=80)] = "Miku"
    persona: Annotated[str, Meta(min_length=1, max_length=4000)] = DEFAULT_PERSONA
    plugin_dirs: tuple[str, ...] = ()  # folders of action plugins (plus the entry-point group)
    # Nodes without guildmind installed: Ray's runtime_env sends our packages to every worker
    # (and pip-installs `ship_pip` there, which needs a package index). See docs/deploy.md.
    ship_code: bool = False
    ship_pip: tuple[str, ...] = ()


class StateConfig(msgspec.Struct, **_S):
    """The state store and its write-behind."""

    url: str = "sqlite:"
    write_behind_s: Annotated[float, Meta(gt=0, le=3600)] = 2.0
    password_env: str = ""  # env variable holding the Redis password, if it needs one

    def __post_init__(self) -> None:
        scheme = self.url.partition(":")[0]
        if self.url != "memory:" and scheme not in ("sqlite", "redis", "rediss"):
            raise ValueError(
                f"state.url: {mask_url(self.url)!r} is not a store URL; use 'sqlite:', "
                "'sqlite:PATH', 'memory:' or 'redis://HOST:PORT/DB'"
            )
        if mask_url(self.url) != self.url:
            raise ValueError(
                f"state.url: {mask_url(self.url)!r} holds a password; secrets stay out of the "
                "file: name an environment variable holding it in state.password_env"
            )
        _env_name("state.password_env", self.password_env)


class GatewayConfig(msgspec.Struct, **_S):
    """Batching and backpressure between gateways and guild hosts."""

    batch_max: Annotated[int, Meta(ge=1, le=65_536)] = 256
    flush_ms: Annotated[float, Meta(ge=0, le=10_000)] = 5.0
    max_in_flight: Annotated[int, Meta(ge=1, le=1024)] = 4  # batches in flight per host
    queue_max: Annotated[int, Meta(ge=1, le=100_000_000)] = 50_000  # then shed, presence first

    def __post_init__(self) -> None:
        if self.queue_max < self.batch_max:
            raise ValueError(
                f"gateway.queue_max: must be >= gateway.batch_max ({self.batch_max}), "
                f"got {self.queue_max!r}"
            )


class MetricsConfig(msgspec.Struct, **_S):
    """The runtime's service-discovery and driver metrics endpoint."""

    host: Annotated[str, Meta(min_length=1)] = "127.0.0.1"
    port: Annotated[int, Meta(ge=0, le=65_535)] = 9464  # 0 = any free port


class MoodRotationConfig(msgspec.Struct, **_S):
    """How often each guild's mood changes on its own."""

    interval_s: Annotated[float, Meta(ge=0)] = 3600.0  # 0 = never rotate
    include_asleep: bool = False


class SyntheticSourceConfig(msgspec.Struct, **_S):
    """Synthetic guilds generated in-process (load tests, demos)."""

    guilds: Annotated[int, Meta(ge=1, le=10_000_000)] = 100
    rate: Annotated[float, Meta(gt=0, le=10_000_000)] = 200.0  # events per second, all guilds
    seed: int = 0


class IntentsConfig(msgspec.Struct, **_S):
    """Discord gateway intents (members, presences and message_content are privileged)."""

    guilds: bool = True
    guild_messages: bool = True
    message_content: bool = True
    members: bool = True
    presences: bool = True


class DiscordSourceConfig(msgspec.Struct, **_S):
    """The real Discord gateway (or anything speaking its protocol)."""

    token_env: str = "DISCORD_TOKEN"
    api_base: str = ""  # "" = discord.com (env DISCORD_API_BASE wins)
    gateway_url: str = ""  # "" = as Discord says (env DISCORD_GATEWAY_URL wins)
    shard_ids: tuple[Annotated[int, Meta(ge=0)], ...] = ()  # () = all
    shard_count: Annotated[int, Meta(ge=0, le=100_000)] = 0  # 0 = Discord's recommendation
    intents: IntentsConfig = IntentsConfig()

    def __post_init__(self) -> None:
        _env_name("discord.token_env", self.token_env)
        if not self.token_env:
            raise ValueError("discord.token_env: must name an environment variable, got ''")
        _url("discord.api_base", self.api_base, ("http:", "https:"))
        _url("discord.gateway_url", self.gateway_url, ("ws:", "wss:"))
        if self.shard_ids and not self.shard_count:
            raise ValueError(
                f"discord.shard_count: must be set (> 0) when shard_ids is, got shard_ids="
                f"{list(self.shard_ids)!r}"
            )
        bad = [i for i in self.shard_ids if i >= self.shard_count]
        if self.shard_ids and bad:
            raise ValueError(
                f"discord.shard_ids: must be < shard_count ({self.shard_count}), got {bad!r}"
            )
        if len(set(self.shard_ids)) != len(self.shard_ids):
            raise ValueError(f"discord.shard_ids: has duplicates: {list(self.shard_ids)!r}")


class SourceConfig(msgspec.Struct, **_S):
    """Where events come from."""

    kind: Literal["synthetic", "emulator", "discord"] = "synthetic"
    synthetic: SyntheticSourceConfig = SyntheticSourceConfig()
    discord: DiscordSourceConfig = DiscordSourceConfig()


def _check_place(key: str, timezone: str | UnsetType, quiet: QuietHours | bool | UnsetType) -> None:
    if isinstance(timezone, str):
        try:
            GuildSettings(timezone=timezone)
        except ValueError as e:
            raise ValueError(f"{key}.timezone: {e}") from None
    if quiet is True:
        raise ValueError(
            f"{key}.quiet_hours: must be a table like {{start = '23:00', end = '07:00'}}, or "
            "false for none; got true"
        )


class DefaultsConfig(msgspec.Struct, **_S):
    """What every guild starts with."""

    mood: str = "neutral"
    timezone: str = "UTC"
    quiet_hours: QuietHours | bool = False  # false = none; guilds set theirs in their zone

    def __post_init__(self) -> None:
        _check_place("defaults", self.timezone, self.quiet_hours)


class GuildEntry(msgspec.Struct, **_S):
    """One guild's own settings; keys left out inherit [defaults]."""

    mood: str | UnsetType = UNSET
    channels: tuple[Annotated[int, Meta(ge=0)], ...] | UnsetType = UNSET  # autonomous channels
    timezone: str | UnsetType = UNSET
    quiet_hours: QuietHours | bool | UnsetType = UNSET
    paused: bool | UnsetType = UNSET


_UNIT = Annotated[float, Meta(ge=0, le=1)]


class MoodEntry(msgspec.Struct, **_S):
    """Overrides of a built-in mood's traits, or the traits of a new mood."""

    energy: _UNIT | UnsetType = UNSET
    sociability: _UNIT | UnsetType = UNSET
    impulsiveness: _UNIT | UnsetType = UNSET
    curiosity: _UNIT | UnsetType = UNSET


class Config(msgspec.Struct, **_S):
    """The whole configuration. Build it with `load_config()`."""

    runtime: RuntimeConfig = RuntimeConfig()
    state: StateConfig = StateConfig()
    gateway: GatewayConfig = GatewayConfig()
    metrics: MetricsConfig = MetricsConfig()
    mood_rotation: MoodRotationConfig = MoodRotationConfig()
    source: SourceConfig = SourceConfig()
    llm: LLMConfig | None = None  # None: template content only
    rules: RuleConfig = RuleConfig()
    moods: dict[str, MoodProfile] = {}  # the configured moods only (overrides and additions)
    defaults: DefaultsConfig = DefaultsConfig()
    guilds: dict[int, GuildEntry] = {}

    def mood_book(self) -> MoodBook:
        """The built-in moods, overridden and extended by [moods]."""
        return MoodBook(self.moods)

    def mood_for(self, guild_id: int) -> str:
        """The mood a guild starts with."""
        entry = self.guilds.get(guild_id)
        if entry is not None and isinstance(entry.mood, str):
            return entry.mood
        return self.defaults.mood

    def engine_settings_for(self, guild_id: int) -> GuildSettings:
        """The guild's `engine.GuildSettings`: [defaults] merged with its [guilds.ID] entry."""
        d = self.defaults
        channels: tuple[int, ...] = ()
        timezone, quiet, paused = d.timezone, d.quiet_hours, False
        entry = self.guilds.get(guild_id)
        if entry is not None:
            channels = entry.channels if isinstance(entry.channels, tuple) else ()
            timezone = entry.timezone if isinstance(entry.timezone, str) else timezone
            quiet = quiet if isinstance(entry.quiet_hours, UnsetType) else entry.quiet_hours
            paused = entry.paused if isinstance(entry.paused, bool) else False
        return GuildSettings(
            channels=frozenset(channels),
            timezone=timezone,
            quiet_hours=quiet if isinstance(quiet, QuietHours) else None,
            paused=paused,
        )


# loading --------------------------------------------------------------------------------------
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
            _check_place(key, entry.timezone, entry.quiet_hours)
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
