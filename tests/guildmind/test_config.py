"""Configuration: defaults, the example file, one-line errors naming the key, merges, env."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from actions import LLMConfig
from config import (
    Config,
    DefaultsConfig,
    DiscordSourceConfig,
    GatewayConfig,
    IntentsConfig,
    MetricsConfig,
    MoodRotationConfig,
    PrivacyConfig,
    RuntimeConfig,
    SourceConfig,
    StateConfig,
    SyntheticSourceConfig,
)
from engine import GuildSettings, LearningConfig, MoodBook, QuietHours, RuleConfig
from guildmind.config import ConfigError, load_config, parse_config

EXAMPLE = Path(__file__).resolve().parents[2] / "guildmind.example.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "guildmind.toml"
    path.write_text(text, encoding="utf-8")
    return path


def fails(tmp_path: Path, text: str, match: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    assert re.search(match, message), message
    return message


def test_defaults() -> None:
    cfg = load_config(None, env={})
    assert cfg == Config()
    assert cfg.runtime.placement == "sharded" and cfg.runtime.partitions == 1024
    assert cfg.state.url == "sqlite:" and cfg.state.write_behind_s == 2.0
    assert cfg.llm is None and cfg.rules == RuleConfig()
    assert cfg.source.kind == "synthetic" and cfg.source.discord.token_env == "DISCORD_TOKEN"
    assert cfg.engine_settings_for(1) == GuildSettings(quiet_hours=None)
    assert cfg.mood_for(1) == "neutral"
    assert isinstance(cfg.mood_book(), MoodBook) and "bubbly" in cfg.mood_book()


def test_the_example_file_is_the_defaults() -> None:
    assert load_config(EXAMPLE, env={}) == load_config(None, env={})


def test_the_example_file_documents_every_key() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")

    def walk(cls: type, section: str) -> None:
        for name in cls.__struct_fields__:
            if name in ("moods", "guilds"):
                continue
            field_type = getattr(cls, "__annotations__", {}).get(name, "")
            sub = {
                "runtime": RuntimeConfig, "state": StateConfig, "gateway": GatewayConfig,
                "metrics": MetricsConfig, "mood_rotation": MoodRotationConfig,
                "privacy": PrivacyConfig,
                "source": SourceConfig, "synthetic": SyntheticSourceConfig,
                "discord": DiscordSourceConfig, "intents": IntentsConfig, "llm": LLMConfig,
                "rules": RuleConfig, "defaults": DefaultsConfig, "learning": LearningConfig,
            }.get(name)  # fmt: skip
            if sub is not None and cls is not DefaultsConfig and "bool" not in str(field_type):
                header = f"{section}.{name}" if section else name
                assert re.search(rf"^(# )?\[{re.escape(header)}\]$", text, re.M), header
                walk(sub, header)
            else:
                assert re.search(rf"^(# )?{name} = ", text, re.M), f"{section}.{name}"

    walk(Config, "")


def test_the_commented_examples_in_the_example_file_load() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    toml_line = re.compile(r"^# (\[[\w.]+\]|\w+ = .+)$", re.MULTILINE)
    uncommented = toml_line.sub(r"\1", text)
    assert uncommented.count("\n[") > text.count("\n[") + 3
    cfg = load_config_text(uncommented)
    assert cfg.llm == LLMConfig()
    assert cfg.moods["bubbly"].energy == 0.85 and cfg.moods["bubbly"].sociability == 0.95
    assert cfg.moods["dramatic"].impulsiveness == 0.9
    settings = cfg.engine_settings_for(123456789012345678)
    assert settings.channels == frozenset({234567890123456789})
    assert settings.timezone == "Europe/Paris" and settings.quiet_hours == QuietHours(
        "22:30", "08:00"
    )
    assert cfg.mood_for(123456789012345678) == "bubbly"


def load_config_text(text: str) -> Config:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        return load_config(write(Path(d), text), env={})


@pytest.mark.parametrize(
    ("text", "match"),
    [
        # wrong types
        ('[runtime]\nspeed = "fast"', r"runtime\.speed: Expected `float`, got 'fast'"),
        ('[gateway]\nbatch_max = "big"', r"gateway\.batch_max: Expected `int`, got 'big'$"),
        ("[state]\nurl = 5", r"state\.url: Expected `str`, got 5"),
        ('[metrics]\nport = "x"', r"metrics\.port: Expected `int`, got 'x'"),
        ('[mood_rotation]\ninclude_asleep = "no"', r"mood_rotation\.include_asleep: Expected"),
        ("[source.synthetic]\nguilds = 1.5", r"source\.synthetic\.guilds: Expected `int`, got 1.5"),
        ('[source.discord]\nshard_ids = "0"', r"source\.discord\.shard_ids: Expected `array`"),
        ('[source.discord.intents]\nmembers = "yes"', r"intents\.members: Expected `bool`"),
        ('[llm]\ntimeout_s = "slow"', r"llm\.timeout_s: Expected `float`, got 'slow'"),
        ('[rules]\nstartup_s = "soon"', r"rules\.startup_s: Expected `float`, got 'soon'"),
        ('[moods.shy]\nenergy = "low"', r"moods\.shy\.energy: Expected `float`, got 'low'"),
        ("[defaults]\nmood = 3", r"defaults\.mood: Expected `str`, got 3"),
        ('[defaults]\nquiet_hours = "night"', r"defaults\.quiet_hours: must be a table .*'night'"),
        ("[guilds.12]\npaused = 1", r"guilds\.12\.paused: Expected `bool`, got 1"),
        ('[guilds.12]\nchannels = [1, "x"]', r"guilds\.12\.channels\[1\]: Expected `int`, got 'x'"),
        ("runtime = 3", r"runtime: Expected `object`, got 3"),
        ("moods = 3", r"moods: must be a table, got 3"),
        # unknown keys
        ("foo = 1", r": foo: unknown key; known keys: runtime, state, gateway"),
        ("[runtime]\nsped = 2.0", r"runtime\.sped: unknown key; known keys: address, data_dir"),
        ("[state]\npassword = 'x'", r"state\.password: unknown key"),
        ("[gateway]\nbig = 0", r"gateway\.big: unknown key; known keys: batch_max, flush_ms"),
        ("[source.synthetic]\nn = 1", r"source\.synthetic\.n: unknown key"),
        ("[source.emulator]\nn = 1", r"source\.emulator: unknown key; known keys: kind, synth"),
        ("[source.discord.intents]\ntyping = true", r"intents\.typing: unknown key"),
        ("[llm]\nkey = 'sk-1'", r"llm\.key: unknown key; known keys: base_url"),
        ("[rules]\nstartup = 1", r"rules\.startup: unknown key; known keys: startup_s"),
        ("[moods.shy]\nshyness = 1", r"moods\.shy\.shyness: unknown key; known keys: energy"),
        ("[defaults]\nchannels = [1]", r"defaults\.channels: unknown key; known keys: mood"),
        ("[guilds.12]\nnick = 'x'", r"guilds\.12\.nick: unknown key; known keys: mood, channels"),
        ("[defaults]\nquiet_hours = {start='1:00', end='2:00', x=1}", r"quiet_hours\.x: unknown"),
        # out of range
        ("[runtime]\nspeed = 0", r"runtime\.speed: Expected `float` > 0.0, got 0"),
        ("[runtime]\npartitions = 0", r"runtime\.partitions: Expected `int` >= 1, got 0"),
        ("[runtime]\nhosts = -1", r"runtime\.hosts: Expected `int` >= 0, got -1"),
        ("[runtime]\nbot_name = ''", r"runtime\.bot_name: Expected `str` of length >= 1, got ''"),
        ('[runtime]\nplacement = "x"', r"runtime\.placement: must be 'dedicated' or 'sharded'"),
        ('[source]\nkind = "irc"', r"source\.kind: must be .*'discord'.*, got 'irc'"),
        ("[state]\nwrite_behind_s = 0", r"state\.write_behind_s: Expected `float` > 0\.0, got 0"),
        ('[state]\nurl = "postgres://db"', r"state\.url: 'postgres://db' is not a store URL"),
        ('[state]\npassword_env = "A-B"', r"state\.password_env: must be an environment var"),
        ("[gateway]\nbatch_max = 0", r"gateway\.batch_max: Expected `int` >= 1, got 0$"),
        ("[gateway]\nflush_ms = -1", r"gateway\.flush_ms: Expected `float` >= 0\.0, got -1"),
        ("[gateway]\nqueue_max = 10", r"gateway\.queue_max: must be >= gateway\.batch_max \(256\)"),
        ("[metrics]\nport = 70000", r"metrics\.port: Expected `int` <= 65535, got 70000"),
        ("[mood_rotation]\ninterval_s = -5", r"mood_rotation\.interval_s: Expected `float` >= 0"),
        ("[source.synthetic]\nrate = 0", r"source\.synthetic\.rate: Expected `float` > 0\.0"),
        (
            "[source.discord]\nshard_ids = [-1]",
            r"source\.discord\.shard_ids\[0\]: Expected `int` >=",
        ),
        ("[source.discord]\nshard_ids = [0]", r"source\.discord\.shard_count: must be set"),
        ("[source.discord]\nshard_ids = [2]\nshard_count = 2", r"shard_ids: must be < shard_co"),
        ('[source.discord]\napi_base = "discord.com"', r"source\.discord\.api_base: must be"),
        ('[source.discord]\ngateway_url = "http://x"', r"discord\.gateway_url: must be empty or"),
        ('[source.discord]\ntoken_env = ""', r"source\.discord\.token_env: must name an env"),
        ("[llm]\ntimeout_s = 0", r"llm\.timeout_s: must be > 0, got 0\.0"),
        ("[llm]\nmax_concurrency = 0", r"llm\.max_concurrency: must be in \[1, 1024\]"),
        ("[rules]\nstartup_s = -1", r"rules\.startup_s: must be a number >= 0\.0, got -1"),
        ("[rules]\njoin_momentum_factor = 1.5", r"rules\.join_momentum_factor: must be a number"),
        ("[rules]\nmomentum_messages = 0", r"rules\.momentum_messages: must be a number >= 1"),
        ("[moods.bubbly]\nenergy = 2", r"moods\.bubbly\.energy: Expected `float` <= 1\.0, got 2"),
        ("[moods.shy]\ncuriosity = -0.1", r"moods\.shy\.curiosity: Expected `float` >= 0\.0"),
        ("[moods.grumpy]\nenergy = 0.2", r"moods\.grumpy: a new mood needs .*'sociability'"),
        ('[moods."bad name"]\nenergy = 0.2', r"moods\.bad name: a mood name must be a plain id"),
        ('[defaults]\nmood = "grumpy"', r"defaults\.mood: unknown mood 'grumpy'; known moods: "),
        ('[defaults]\ntimezone = "Mars/Base"', r"defaults\.timezone: timezone 'Mars/Base' is not"),
        ("[defaults]\nquiet_hours = {start='25:00', end='1:00'}", r"quiet_hours\.start: must be"),
        ("[defaults]\nquiet_hours = {start='22:00'}", r"quiet_hours\.end: required key is missing"),
        ("[defaults]\nquiet_hours = true", r"defaults\.quiet_hours: must be a table like"),
        ('[guilds.12]\nmood = "grumpy"', r"guilds\.12\.mood: unknown mood 'grumpy'"),
        ('[guilds.12]\ntimezone = "Nowhere"', r"guilds\.12\.timezone: timezone 'Nowhere' is not"),
        ("[guilds.12]\nquiet_hours = {start='1:00', end='1:00'}", r"guilds\.12\.quiet_hours: qui"),
        ("[guilds.12]\nchannels = [-3]", r"guilds\.12\.channels\[0\]: Expected `int` >= 0, got -3"),
        ('[guilds.abc]\nmood = "shy"', r"guilds\.abc: a guild key must be its numeric id"),
        ("[guilds.99999999999999999999]\npaused = true", r"guilds\.9+: a guild key must be"),
    ],
)
def test_bad_values_are_one_line_errors_naming_the_key(
    tmp_path: Path, text: str, match: str
) -> None:
    fails(tmp_path, text, match)


def test_secrets_stay_out_of_the_file(tmp_path: Path) -> None:
    msg = fails(tmp_path, '[state]\nurl = "redis://:s3cret@h:6379/0"', r"holds a password")
    assert "s3cret" not in msg and "state.password_env" in msg


def test_file_problems(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"missing\.toml: cannot read the configuration file"):
        load_config(tmp_path / "missing.toml", env={})
    fails(tmp_path, "[runtime\n", r"is not valid TOML: .*line 1")
    path = tmp_path / "guildmind.toml"
    path.write_bytes(b"[runtime]\nbot_name = '\xff'\n")
    with pytest.raises(ConfigError, match="is not UTF-8 text"):
        load_config(path, env={})
    assert issubclass(ConfigError, ValueError)


def test_per_guild_settings_merge_with_defaults(tmp_path: Path) -> None:
    cfg = load_config(
        write(
            tmp_path,
            """
[defaults]
mood = "shy"
timezone = "America/New_York"
quiet_hours = { start = "22:00", end = "06:00" }
[guilds.111]
channels = [5, 6]
[guilds.222]
mood = "bubbly"
timezone = "Asia/Tokyo"
quiet_hours = false
paused = true
[guilds.333]
quiet_hours = { start = "01:00", end = "03:00" }
""",
        ),
        env={},
    )
    night = QuietHours("22:00", "06:00")
    assert cfg.engine_settings_for(111) == GuildSettings(
        channels=frozenset({5, 6}), timezone="America/New_York", quiet_hours=night
    )
    assert cfg.engine_settings_for(222) == GuildSettings(
        timezone="Asia/Tokyo", quiet_hours=None, paused=True
    )
    assert cfg.engine_settings_for(333).quiet_hours == QuietHours("01:00", "03:00")
    assert cfg.engine_settings_for(444) == GuildSettings(
        timezone="America/New_York", quiet_hours=night
    )
    assert [cfg.mood_for(g) for g in (111, 222, 444)] == ["shy", "bubbly", "shy"]
    assert sorted(cfg.guilds) == [111, 222, 333]


def test_no_quiet_hours_by_default_when_turned_off(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, "[defaults]\nquiet_hours = false\n"), env={})
    assert cfg.engine_settings_for(1).quiet_hours is None


def test_moods_override_and_extend_the_builtins(tmp_path: Path) -> None:
    cfg = load_config(
        write(
            tmp_path,
            """
[moods.shy]
energy = 0.1
[moods.grumpy]
energy = 0.3
sociability = 0.1
impulsiveness = 0.2
[defaults]
mood = "grumpy"
""",
        ),
        env={},
    )
    book = cfg.mood_book()
    assert book.profile("shy").energy == 0.1 and book.profile("shy").sociability == 0.2
    assert book.profile("grumpy").curiosity == 0.5
    assert book.profile("bubbly").energy == 0.9  # untouched built-in
    assert cfg.mood_for(9) == "grumpy"


def test_rules_and_llm_sections(tmp_path: Path) -> None:
    cfg = load_config(
        write(
            tmp_path,
            """
[rules]
startup_s = 10
fomo_messages = 30
[llm]
base_url = "http://localhost:11434/v1"
model = "qwen"
api_key_env = "LOCAL_KEY"
""",
        ),
        env={},
    )
    assert cfg.rules == RuleConfig(startup_s=10.0, fomo_messages=30)
    assert cfg.llm == LLMConfig(
        base_url="http://localhost:11434/v1", model="qwen", api_key_env="LOCAL_KEY"
    )


def test_environment_overrides(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[runtime]\naddress = "ray://file:10001"\n'
        '[source.discord]\napi_base = "https://file.example/api"\n',
    )
    env = {
        "RAY_ADDRESS": "ray://env:10001",
        "DISCORD_API_BASE": "http://127.0.0.1:8080/api",
        "DISCORD_GATEWAY_URL": "ws://127.0.0.1:8080/gateway",
    }
    cfg = load_config(path, env=env)
    assert cfg.runtime.address == "ray://env:10001"
    assert cfg.source.discord.api_base == "http://127.0.0.1:8080/api"
    assert cfg.source.discord.gateway_url == "ws://127.0.0.1:8080/gateway"
    plain = load_config(path, env={"RAY_ADDRESS": ""})  # empty: the file wins
    assert plain.runtime.address == "ray://file:10001"
    assert plain.source.discord.api_base == "https://file.example/api"
    assert load_config(None, env=env).runtime.address == "ray://env:10001"
    with pytest.raises(ConfigError, match=r"^environment \(DISCORD_GATEWAY_URL\): discord\.gat"):
        load_config(None, env={"DISCORD_GATEWAY_URL": "nope"})


def test_os_environ_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAY_ADDRESS", "auto")
    assert load_config(None).runtime.address == "auto"
    monkeypatch.delenv("RAY_ADDRESS")
    assert load_config(None).runtime.address == ""


def test_config_holds_no_secret_values() -> None:
    cfg = load_config(EXAMPLE, env={"DISCORD_TOKEN": "tok-s3cret", "OPENAI_API_KEY": "sk-s3cret"})
    assert "s3cret" not in repr(cfg)


def test_prompt_settings_default_per_guild_and_the_grace_of_a_guild_left() -> None:
    cfg = parse_config(
        """
[defaults]
prompt_lines = 6
[guilds.123456789012345678]
prompt_names = true
prompt_transcript = false
""",
        env={},
    )
    plain, own = cfg.engine_settings_for(1), cfg.engine_settings_for(123456789012345678)
    assert (plain.prompt_transcript, plain.prompt_lines, plain.prompt_names) == (True, 6, False)
    assert plain.prompt_max_age_s == 1800.0
    assert (own.prompt_transcript, own.prompt_lines, own.prompt_names) == (False, 6, True)
    assert cfg.privacy.left_grace_s == 7 * 86400
    with pytest.raises(ConfigError, match=r"defaults.prompt_lines: Expected `int` <= 12, got 40"):
        parse_config("[defaults]\nprompt_lines = 40\n", env={})


def test_each_actor_gets_the_part_of_the_configuration_it_needs() -> None:
    text = """
[runtime]
partitions = 16
bot_name = "Miku"
[state]
url = "sqlite:/tmp/x.db"
[source]
kind = "discord"
[source.discord]
token_env = "MIKU_TOKEN"
names = ["Miku", "ミク"]
[gateway]
flush_ms = 7
[llm]
base_url = "http://127.0.0.1:8000/v1"
[defaults]
mood = "bubbly"
[guilds.123456789012345678]
mood = "shy"
[moods.grumpy]
energy = 0.3
sociability = 0.2
impulsiveness = 0.1
curiosity = 0.5
"""
    full = parse_config(text, env={})
    gateway, host = full.for_gateway(), full.for_host()
    # the gateway: where events come from, and nothing about the guilds, the LLM or the rules
    assert gateway.source == full.source and gateway.gateway == full.gateway
    assert (gateway.runtime, gateway.state, gateway.metrics) == (
        full.runtime, full.state, full.metrics)  # fmt: skip
    assert gateway.mood_book().names() == full.mood_book().names()  # its metrics' labels
    assert gateway.llm is None and gateway.guilds == {} and gateway.defaults == DefaultsConfig()
    assert gateway.rules == RuleConfig() and gateway.learning == LearningConfig()
    # the host: everything but the source (the token's variable, the names) and the gateway
    assert host.source == SourceConfig() and host.gateway == GatewayConfig()
    assert "MIKU_TOKEN" not in repr(host) and "ミク" not in repr(host)
    for part in ("runtime", "state", "metrics", "llm", "defaults", "guilds", "moods", "rules"):
        assert getattr(host, part) == getattr(full, part), part
    assert host.mood_for(123456789012345678) == "shy"
    # positive control: the whole configuration holds what the parts leave out
    assert full.llm is not None and full.guilds and "MIKU_TOKEN" in repr(full)


@pytest.mark.parametrize("url", ["sqlite:///tmp/x.db", "sqlite://x.db"])
def test_a_sqlite_url_with_slashes_says_how_to_write_it_not_that_it_holds_a_password(
    tmp_path: Path, url: str
) -> None:
    message = fails(tmp_path, f'[state]\nurl = "{url}"\n', "without '//'")
    assert "password" not in message
