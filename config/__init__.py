"""guildmind's configuration types: a leaf every layer may import (it imports only `engine`).

    from config import Config
    Config().runtime.partitions            # 1024

The structs validate themselves (`ValueError` naming the key); `guildmind.config.load_config()`
reads a TOML file into them with one-line errors. Each actor takes the part it needs.
"""

from config.llm import LLMConfig
from config.types import (
    DEFAULT_PERSONA,
    Config,
    DefaultsConfig,
    DiscordSourceConfig,
    GatewayConfig,
    GuildEntry,
    IntentsConfig,
    MetricsConfig,
    MoodEntry,
    MoodRotationConfig,
    PrivacyConfig,
    RuntimeConfig,
    SourceConfig,
    StateConfig,
    SyntheticSourceConfig,
    check_place,
)
from config.urls import mask_url

__all__ = [
    "DEFAULT_PERSONA",
    "Config",
    "DefaultsConfig",
    "DiscordSourceConfig",
    "GatewayConfig",
    "GuildEntry",
    "IntentsConfig",
    "LLMConfig",
    "MetricsConfig",
    "MoodEntry",
    "MoodRotationConfig",
    "PrivacyConfig",
    "RuntimeConfig",
    "SourceConfig",
    "StateConfig",
    "SyntheticSourceConfig",
    "check_place",
    "mask_url",
]
