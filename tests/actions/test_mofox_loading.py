"""Loading MoFox-Bot plugins: registration, name clashes, components not run, configuration."""

from __future__ import annotations

import logging
import textwrap
from pathlib import Path

import pytest

from actions import BUILTIN_ACTIONS, ActionRegistry
from actions.mofox import BaseAction

FIXTURES = Path(__file__).parent / "mofox_plugins"
BUILTINS = [c.action_name for c in BUILTIN_ACTIONS]

PLUGIN = """
from typing import ClassVar

from actions.mofox import BaseAction, BasePlugin, ComponentInfo, ConfigField, register_plugin


class Hi(BaseAction):
    action_name = "hi"
    action_description = "Say hi."

    async def execute(self):
        await self.send_text(self.get_config("hi.text", "hi"))
        return True, "said hi"


@register_plugin
class HiPlugin(BasePlugin):
    plugin_name = "hi_plugin"
    config_file_name = "config.toml"
    config_schema: ClassVar = {
        "plugin": {"enabled": ConfigField(type=bool, default=True, description="on")},
        "hi": {
            "text": ConfigField(type=str, default="hi", description="what to say"),
            "times": ConfigField(type=int, default=1, description="how often"),
            "ratio": ConfigField(type=float, default=0.5, description="a share"),
            "tone": ConfigField(type=str, default="warm", description="", choices=["warm", "dry"]),
        },
    }
    EXTRA

    def get_plugin_components(self) -> list[tuple[ComponentInfo, type]]:
        COMPONENTS
        return [(Hi.get_action_info(), Hi)]
"""


def write_plugin(
    folder: Path,
    *,
    toml: str | None = None,
    extra: str = "",
    components: str = "",
    name: str = "hi_plugin",
) -> Path:
    """A MoFox plugin package `name` in `folder`, with a ``config.toml`` when `toml` is given."""
    pkg = folder / name
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    source = PLUGIN.replace("EXTRA", textwrap.indent(extra, "    ").strip() or "")
    source = source.replace("COMPONENTS", components.strip() or "pass")
    (pkg / "plugin.py").write_text(source)
    if toml is not None:
        (pkg / "config.toml").write_text(textwrap.dedent(toml))
    return pkg


def fixtures_registry() -> tuple[ActionRegistry, list]:
    registry = ActionRegistry(BUILTIN_ACTIONS)
    return registry, registry.load_folder(FIXTURES)


def test_mofox_plugins_load_beside_a_native_one_and_a_clash_is_namespaced(caplog) -> None:
    caplog.set_level(logging.INFO)
    registry, errors = fixtures_registry()
    assert errors == []
    assert registry.names == [
        *BUILTINS,
        "greet", "wave", "sticker", "greetings_plugin.reply",  # greetings_plugin
        "party",  # the native plugin
        "poke_user", "comfort", "set_reminder", "whisper",  # social_plugin
        "tts_action",  # voice_plugin
    ]  # fmt: skip
    assert registry.get("reply").__module__ == "actions.builtin"  # guildmind's stays
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert (
        "MoFox plugin 'greetings_plugin': action 'reply' is already registered (by guildmind's "
        "built-in); this one is registered as 'greetings_plugin.reply'" in warnings
    )


def test_components_that_are_not_actions_load_with_a_warning_and_are_not_run(caplog) -> None:
    registry, errors = fixtures_registry()
    assert errors == []
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    greetings = [w for w in warnings if w.startswith("MoFox plugin 'greetings_plugin'")]
    assert greetings[:4] == [
        "MoFox plugin 'greetings_plugin': event handler 'greetings_startup_handler' is loaded "
        "but not run (guildmind has no event bus)",
        "MoFox plugin 'greetings_plugin': plus command 'hello' is loaded but not run "
        "(guildmind's commands are its slash commands)",
        "MoFox plugin 'greetings_plugin': tool 'get_time' is loaded but not run "
        "(guildmind's LLM calls no tools)",
        "MoFox plugin 'greetings_plugin': prompt 'motto_prompt' is loaded but not run "
        "(guildmind writes its own prompts)",
    ]
    assert any("action 'whisper' is for private chats only" in w for w in warnings)
    assert all(n not in registry for n in ("hello", "get_time", "motto_prompt"))


def test_registered_actions_carry_their_plugin_and_its_configuration() -> None:
    registry, _ = fixtures_registry()
    greet = registry.get("greet")
    assert greet is not None and issubclass(greet, BaseAction)
    assert greet.mofox_plugin_name == "greetings_plugin"
    # config.toml over the schema's defaults
    assert greet.mofox_plugin_config["greeting"] == {
        "message": "Hello from config.toml!",
        "signature": "",
        "style": "warm",
    }
    assert greet.mofox_plugin_config["components"]["enable_sticker"] is True
    # no config.toml: the defaults
    comfort = registry.get("comfort")
    assert comfort is not None and comfort.mofox_plugin_config["comfort"] == {
        "words": "Sending a hug."
    }
    # the plugin's own class is not changed: the registered one is a subclass
    reply = registry.get("greetings_plugin.reply")
    assert reply is not None and reply.__bases__[0].action_name == "reply"


def test_the_sticker_action_is_registered_only_when_its_config_says_so(tmp_path: Path) -> None:
    # the fixture's config.toml turns it on; here the schema's default (off) applies
    folder = tmp_path / "plugins"
    pkg = folder / "greetings_plugin"
    pkg.mkdir(parents=True)
    for name in ("__init__.py", "plugin.py"):
        (pkg / name).write_text((FIXTURES / "greetings_plugin" / name).read_text())
    registry = ActionRegistry()
    assert registry.load_folder(folder) == []
    assert registry.names == ["greet", "wave", "reply"]  # no clash without the built-ins


@pytest.mark.parametrize(
    ("toml", "reason"),
    [
        (
            "[hi]\ntext = 3\n",
            "'hi.text' must be of type str, got int 3.",
        ),
        (
            "[hi]\ntone = 'loud'\n",
            "'hi.tone' is 'loud'; expected one of ['warm', 'dry'].",
        ),
        (
            "[hi]\ntypo = 1\n",
            "unknown key 'hi.typo'; the plugin's config_schema has 'hi.text', 'hi.times', "
            "'hi.ratio', 'hi.tone'.",
        ),
        (
            "[greeting]\ntext = 'x'\n",
            "unknown key 'greeting'; the plugin's config_schema has 'plugin', 'hi'.",
        ),
        ("[hi]\ntimes = true\n", "'hi.times' must be of type int, got bool True."),
        ("[hi]\ntext = \n", "not valid TOML: Invalid value (at line 2, column 8)"),
    ],
)
def test_a_bad_config_toml_is_one_line_naming_the_key_and_nothing_registers(
    tmp_path: Path, toml: str, reason: str
) -> None:
    pkg = write_plugin(tmp_path, toml=toml)
    registry = ActionRegistry(BUILTIN_ACTIONS)
    [error] = registry.load_folder(tmp_path)
    assert Path(error.path) == pkg
    assert error.reason == f"setup() failed: PluginConfigError: {pkg / 'config.toml'}: {reason}"
    assert "\n" not in error.reason
    assert registry.names == BUILTINS


def test_config_values_are_taken_from_the_file_and_ints_read_as_floats(tmp_path: Path) -> None:
    write_plugin(tmp_path, toml="[hi]\ntext = 'hello'\nratio = 1\n")
    registry = ActionRegistry()
    assert registry.load_folder(tmp_path) == []
    config = registry.get("hi").mofox_plugin_config  # type: ignore[union-attr]
    assert config["hi"] == {"text": "hello", "times": 1, "ratio": 1.0, "tone": "warm"}
    assert isinstance(config["hi"]["ratio"], float)


def test_a_disabled_plugin_registers_nothing_and_is_no_error(tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.INFO)
    write_plugin(tmp_path / "file_off", toml="[plugin]\nenabled = false\n")
    class_off = write_plugin(tmp_path / "class_off", extra="enable_plugin = False")
    source = (class_off / "plugin.py").read_text()
    section = '"plugin": {"enabled": ConfigField(type=bool, default=True, description="on")},'
    assert section in source
    (class_off / "plugin.py").write_text(source.replace(section, ""))
    # as in MoFox, the configuration's plugin.enabled (the file's, else the schema's default)
    # decides over the class's enable_plugin
    write_plugin(tmp_path / "config_on", extra="enable_plugin = False")
    names = {}
    for folder in ("file_off", "class_off", "config_on"):
        registry = ActionRegistry()
        assert registry.load_folder(tmp_path / folder) == []
        names[folder] = registry.names
    assert names == {"file_off": [], "class_off": [], "config_on": ["hi"]}
    assert "MoFox plugin 'hi_plugin' is disabled" in caplog.text


def test_a_plugin_fails_whole_when_a_component_is_wrong(tmp_path: Path) -> None:
    cases = {
        "not_a_pair": "return [Hi]",
        "not_an_info": "return [('hi', Hi)]",
        "not_an_action": "return [(Hi.get_action_info(), int)]",
        "raises": "raise RuntimeError('components broke')",
    }
    for name, body in cases.items():
        write_plugin(tmp_path / name, components=body)
    reasons = {}
    for name in cases:
        registry = ActionRegistry(BUILTIN_ACTIONS)
        [error] = registry.load_folder(tmp_path / name)
        reasons[name] = error.reason
        assert registry.names == BUILTINS
    assert "must list (info, class) pairs" in reasons["not_a_pair"]
    assert "'hi' is not a ComponentInfo" in reasons["not_an_info"]
    assert "which is not a BaseAction subclass" in reasons["not_an_action"]
    assert reasons["raises"] == "setup() failed: RuntimeError: components broke"


def test_infos_name_and_enable_the_action(tmp_path: Path) -> None:
    write_plugin(
        tmp_path,
        components="""
        info = Hi.get_action_info()
        info.name = "hello"
        off = Hi.get_action_info()
        off.name, off.enabled = "silent", False
        return [(info, Hi), (off, Hi)]
        """,
    )
    registry = ActionRegistry()
    assert registry.load_folder(tmp_path) == []
    assert registry.names == ["hello"]


def test_two_plugins_with_the_same_action_name_both_load(tmp_path: Path) -> None:
    write_plugin(tmp_path, name="first")
    second = write_plugin(tmp_path, name="second")
    source = (second / "plugin.py").read_text().replace('"hi_plugin"', '"other_plugin"')
    (second / "plugin.py").write_text(source)
    registry = ActionRegistry()
    assert registry.load_folder(tmp_path) == []
    assert registry.names == ["hi", "other_plugin.hi"]


def test_a_missing_python_dependency_is_named(tmp_path: Path) -> None:
    write_plugin(tmp_path, extra="python_dependencies: ClassVar = ['no_such_package_here']")
    [error] = ActionRegistry().load_folder(tmp_path)
    assert error.reason == (
        "setup() failed: ModuleNotFoundError: plugin 'hi_plugin' needs the Python package "
        "'no_such_package_here'; install it ('no_such_package_here'): guildmind installs nothing."
    )


HOOK = """
async def on_plugin_loaded(self):
    import asyncio
    from pathlib import Path

    await asyncio.sleep(0)
    with open(Path(self.plugin_dir) / "loaded.txt", "a") as f:
        f.write(self.get_config("hi.text") + "\\n")
    if self.get_config("hi.times") > 1:
        raise RuntimeError("hook broke")
"""


def _hook_runs(folder: Path) -> tuple[list, list[str]]:
    errors = ActionRegistry().load_folder(folder)
    log = folder / "hi_plugin" / "loaded.txt"
    return errors, log.read_text().splitlines() if log.exists() else []


def test_on_plugin_loaded_runs_once_outside_an_event_loop(tmp_path: Path) -> None:
    write_plugin(tmp_path, extra=HOOK, toml="[hi]\ntext = 'ready'\n")
    assert _hook_runs(tmp_path) == ([], ["ready"])


async def test_on_plugin_loaded_runs_once_inside_an_event_loop(tmp_path: Path) -> None:
    write_plugin(tmp_path / "ok", extra=HOOK, toml="[hi]\ntext = 'ready'\n")
    write_plugin(tmp_path / "bad", extra=HOOK, toml="[hi]\ntimes = 2\n")
    assert _hook_runs(tmp_path / "ok") == ([], ["ready"])
    registry = ActionRegistry()
    [error] = registry.load_folder(tmp_path / "bad")
    assert error.reason == "setup() failed: RuntimeError: hook broke"
    assert registry.names == []


def test_a_single_file_mofox_plugin_loads_too(tmp_path: Path) -> None:
    (tmp_path / "solo.py").write_text(PLUGIN.replace("EXTRA", "").replace("COMPONENTS", "pass"))
    registry = ActionRegistry()
    assert registry.load_folder(tmp_path) == []
    assert registry.names == ["hi"]


def test_a_module_with_neither_setup_nor_a_plugin_class_is_still_an_error(tmp_path: Path) -> None:
    pkg = tmp_path / "empty_plugin"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "plugin.py").write_text("from actions.mofox import BasePlugin\n")
    [error] = ActionRegistry().load_folder(tmp_path)
    assert error.reason.startswith("no setup(registry) function")


def test_a_plugin_module_that_fails_to_import_is_reported(tmp_path: Path) -> None:
    pkg = tmp_path / "broken_plugin"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "plugin.py").write_text("from src.plugin_system import BasePlugin\n")
    [error] = ActionRegistry().load_folder(tmp_path)
    assert error.reason == "import failed: ModuleNotFoundError: No module named 'src'"
