"""guildmind's configuration types: typed, frozen, validated structs (no file is read here).

Every key has a default (``guildmind.example.toml`` lists them all). Each struct validates itself
(`msgspec.Meta` bounds, `__post_init__`) and raises `ValueError` naming the key; loading TOML into
them, and turning those errors into one-line `ConfigError`s, is the app's (`guildmind.config`).

Secrets never live here: the file names the environment variables that hold them
(``source.discord.token_env``, ``llm.api_key_env``, ``state.password_env``). Three environment
variables override keys: ``RAY_ADDRESS`` (runtime.address), ``DISCORD_API_BASE`` and
``DISCORD_GATEWAY_URL`` (source.discord.api_base / gateway_url).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from engine import (
    MAX_PROMPT_LINES,
    GuildSettings,
    LearningConfig,
    MoodBook,
    MoodProfile,
    QuietHours,
    RuleConfig,
)

from .llm import LLMConfig
from .urls import mask_url

_S: dict[str, Any] = {"frozen": True, "kw_only": True, "forbid_unknown_fields": True}
DEFAULT_PERSONA = (
    "Miku is a cheerful virtual singer who hangs out in this server like any other member. She "
    "chats casually in short messages, loves music and games, uses an emoji now and then, and "
    "never pretends to know things she does not."
)


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
    # gateway actors, each running a contiguous range of the bot's shards; 0 = one per node that
    # runs work (1 on a single machine). Never more than there are shards.
    gateways: Annotated[int, Meta(ge=0, le=4096)] = 0
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
        if scheme == "sqlite" and self.url.startswith("sqlite://"):
            raise ValueError(
                f"state.url: {mask_url(self.url)!r}: write 'sqlite:/absolute/path.db' or "
                "'sqlite:relative.db' (relative to runtime.data_dir), without '//'"
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
    # admission: a host's buffer whose oldest event has waited this long refuses new messages
    # that do not mention the bot (presence after half of it, joins after twice; mentions never):
    # see actors.routing.admission.SHED_AFTER
    max_wait_ms: Annotated[float, Meta(gt=0, le=600_000)] = 250.0
    # Message ids each host remembers (the newest), to apply a message Discord replays after a
    # gateway's cold resume only once (see actors.loop.replays); 0 = remember none.
    replay_window: Annotated[int, Meta(ge=0, le=10_000_000)] = 65_536

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


class PrivacyConfig(msgspec.Struct, **_S):
    """How long guildmind keeps what it knows about a guild it left."""

    # a guild the bot was removed from (not an outage) is deleted from the store this long after;
    # invited back within it, it resumes with its mood, counters and settings
    left_grace_s: Annotated[float, Meta(ge=0, le=366 * 86400)] = 7 * 86400.0


class MoodRotationConfig(msgspec.Struct, **_S):
    """How often each guild's mood changes on its own."""

    interval_s: Annotated[float, Meta(ge=0)] = 3600.0  # 0 = never rotate
    include_asleep: bool = False


class SyntheticSourceConfig(msgspec.Struct, **_S):
    """Synthetic guilds generated in-process (load tests, demos)."""

    guilds: Annotated[int, Meta(ge=1, le=10_000_000)] = 100
    rate: Annotated[float, Meta(gt=0, le=10_000_000)] = 200.0  # events per second, all guilds
    seed: int = 0
    # the synthetic guilds' shards (Discord's formula), split over the gateways; 0 = one per gateway
    shards: Annotated[int, Meta(ge=0, le=100_000)] = 0


class IntentsConfig(msgspec.Struct, **_S):
    """Discord gateway intents (members, presences and message_content are privileged)."""

    guilds: bool = True
    guild_messages: bool = True
    message_content: bool = True
    members: bool = True
    presences: bool = True

    def __post_init__(self) -> None:
        # Without the members intent discord.py keeps no members, so it discards every presence
        # update (it cannot tell whose it is, nor whether a bot's): presences would silently
        # give nothing. Member joins need the members intent too.
        if self.presences and not self.members:
            raise ValueError(
                "intents.members: must be true when presences is (without the members intent "
                "discord.py discards every presence update); set members = true under "
                "[source.discord.intents] and turn on Server Members Intent in the Discord "
                "Developer Portal → your application → Bot → Privileged Gateway Intents, or set "
                "presences = false"
            )


_NAME = Annotated[str, Meta(min_length=1, max_length=80)]


class DiscordSourceConfig(msgspec.Struct, **_S):
    """The real Discord gateway (or anything speaking its protocol)."""

    token_env: str = "DISCORD_TOKEN"
    api_base: str = ""  # "" = discord.com (env DISCORD_API_BASE wins)
    gateway_url: str = ""  # "" = as Discord says (env DISCORD_GATEWAY_URL wins)
    shard_ids: tuple[Annotated[int, Meta(ge=0)], ...] = ()  # () = all
    shard_count: Annotated[int, Meta(ge=0, le=100_000)] = 0  # 0 = Discord's recommendation
    intents: IntentsConfig = IntentsConfig()
    # What people call the bot in chat, besides @-mentions and replies: a message in the bot's
    # channels that says one of these (a whole word; a substring in scripts without spaces,
    # e.g. Japanese) addresses it. () = runtime.bot_name.
    names: tuple[_NAME, ...] = ()
    # Plain messages go from the gateway's frame straight to guildmind's events, without
    # discord.py's models (`actors/sources/discord/fast.py`); false: every event through them.
    fast_ingest: bool = True
    # Cold resume: each shard's session (id, sequence, resume URL) is kept in the state store,
    # written every session_save_s once what it covers reached the hosts, and on stop; a
    # restarted gateway RESUMEs it (Discord replays what it missed) unless it is older than
    # session_max_age_s. false: identify anew on every start (what discord.py alone does).
    cold_resume: bool = True
    session_save_s: Annotated[float, Meta(gt=0, le=3600)] = 1.0
    session_max_age_s: Annotated[float, Meta(gt=0, le=86_400)] = 900.0
    # Discord's limits, shared by every gateway of the bot (one limiter actor for the runtime).
    # IDENTIFY: one per bucket (shard_id % max_concurrency) per 5 s; the extra 0.5 s covers the
    # way from the limiter to Discord. https://discord.com/developers/docs/events/gateway
    identify_every_s: Annotated[float, Meta(ge=0, le=600)] = 5.5
    # REST: 50 requests/s per bot token across all routes (the global limit), here less a margin
    # for the same reason. https://discord.com/developers/docs/topics/rate-limits#global-rate-limit
    rest_per_s: Annotated[float, Meta(gt=0, le=50)] = 45.0
    # Invalid requests (401, 403, 429 but "shared"-scope ones): 10,000 per 10 min earn a ban of
    # the IP; past `invalid_max` in `invalid_window_s`, the gateways stop calling REST until the
    # count has leaked below it. https://discord.com/developers/docs/topics/rate-limits
    invalid_max: Annotated[int, Meta(ge=1, le=10_000)] = 9_000
    invalid_window_s: Annotated[float, Meta(gt=0, le=3600)] = 600.0

    def __post_init__(self) -> None:
        _env_name("discord.token_env", self.token_env)
        for name in self.names:
            if not any(c.isalnum() for c in name):
                raise ValueError(
                    f"discord.names: a name needs a letter or a digit, got {name!r} (e.g. "
                    "names = ['Miku', 'ミク'])"
                )
        if len(self.names) > 32:
            raise ValueError(f"discord.names: at most 32 names, got {len(self.names)}")
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


def check_place(key: str, timezone: str | UnsetType, quiet: QuietHours | bool | UnsetType) -> None:
    """ValueError naming `key` for a time zone that does not exist or `quiet_hours = true`."""
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


_LINES = Annotated[int, Meta(ge=1, le=MAX_PROMPT_LINES)]
_AGE = Annotated[float, Meta(ge=60, le=7 * 86400)]


class DefaultsConfig(msgspec.Struct, **_S):
    """What every guild starts with."""

    mood: str = "neutral"
    timezone: str = "UTC"
    quiet_hours: QuietHours | bool = False  # false = none; guilds set theirs in their zone
    # what an LLM prompt may carry (admins change theirs with /guildmind prompt): the recent
    # transcript (these many lines at most, none older) or only the decision's reason and
    # signals; authors as "user 1", "user 2" unless names are allowed
    prompt_transcript: bool = True
    prompt_lines: _LINES = MAX_PROMPT_LINES
    prompt_max_age_s: _AGE = 1800.0
    prompt_names: bool = False

    def __post_init__(self) -> None:
        check_place("defaults", self.timezone, self.quiet_hours)


class GuildEntry(msgspec.Struct, **_S):
    """One guild's own settings; keys left out inherit [defaults]."""

    mood: str | UnsetType = UNSET
    channels: tuple[Annotated[int, Meta(ge=0)], ...] | UnsetType = UNSET  # autonomous channels
    timezone: str | UnsetType = UNSET
    quiet_hours: QuietHours | bool | UnsetType = UNSET
    paused: bool | UnsetType = UNSET
    prompt_transcript: bool | UnsetType = UNSET
    prompt_lines: _LINES | UnsetType = UNSET
    prompt_max_age_s: _AGE | UnsetType = UNSET
    prompt_names: bool | UnsetType = UNSET


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
    privacy: PrivacyConfig = PrivacyConfig()
    source: SourceConfig = SourceConfig()
    llm: LLMConfig | None = None  # None: template content only
    rules: RuleConfig = RuleConfig()
    learning: LearningConfig = LearningConfig()  # rhythm, chattiness, affinity (issue 16)
    moods: dict[str, MoodProfile] = {}  # the configured moods only (overrides and additions)
    defaults: DefaultsConfig = DefaultsConfig()
    guilds: dict[int, GuildEntry] = {}

    def for_gateway(self) -> Config:
        """The part a gateway process needs: where events come from ([source], [gateway]),
        [runtime], [state], [metrics] and the moods (their names label its metrics). The guilds'
        settings, the rules, the LLM, what the bot learns and the privacy deadlines are the
        hosts' business and stay out, at their defaults."""
        return msgspec.structs.replace(
            self, llm=None, rules=RuleConfig(), learning=LearningConfig(),
            defaults=DefaultsConfig(), guilds={}, privacy=PrivacyConfig(),
            mood_rotation=MoodRotationConfig(),
        )  # fmt: skip

    def for_host(self) -> Config:
        """The part a host process (and the directory, which starts hosts) needs: everything but
        where events come from. [source] (the Discord token's variable, intents, the bot's
        names) and [gateway] stay with the gateways, at their defaults."""
        return msgspec.structs.replace(self, source=SourceConfig(), gateway=GatewayConfig())

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
        prompt = {f: getattr(d, f) for f in _PROMPT}
        if entry is not None:
            prompt |= {f: v for f in _PROMPT if not isinstance(v := getattr(entry, f), UnsetType)}
        return GuildSettings(
            channels=frozenset(channels),
            timezone=timezone,
            quiet_hours=quiet if isinstance(quiet, QuietHours) else None,
            paused=paused,
            **prompt,
        )


_PROMPT = ("prompt_transcript", "prompt_lines", "prompt_max_age_s", "prompt_names")
