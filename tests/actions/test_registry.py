"""Plugin discovery: folders and entry points; broken plugins are reported and skipped."""

from __future__ import annotations

import sys
import textwrap
from importlib.metadata import EntryPoint
from pathlib import Path
from types import SimpleNamespace

import pytest

from actions import ActionRegistry, BaseAction, LoadError, PluginError
from actions import registry as registry_module

GOOD = """
from actions import BaseAction

class A(BaseAction):
    action_name = "a"

def setup(registry):
    registry.register(A)
"""


def write(folder: Path, name: str, text: str) -> None:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    write(tmp_path, "a_good.py", GOOD)
    write(tmp_path, "b_broken_import.py", "import does_not_exist_anywhere\n")
    write(tmp_path, "c_syntax.py", "def (:\n")
    write(tmp_path, "d_no_setup.py", "X = 1\n")
    write(
        tmp_path,
        "e_no_name.py",
        """
        from actions import BaseAction
        class Nameless(BaseAction):
            pass
        def setup(registry):
            registry.register(Nameless)
    """,
    )
    write(
        tmp_path,
        "f_duplicate.py",
        """
        from actions import BaseAction
        class AlsoA(BaseAction):
            action_name = "a"
        def setup(registry):
            registry.register(AlsoA)
    """,
    )
    write(
        tmp_path,
        "g_partial.py",
        """
        from actions import BaseAction
        class B(BaseAction):
            action_name = "b"
        def setup(registry):
            registry.register(B)
            raise RuntimeError("setup half done")
    """,
    )
    write(
        tmp_path,
        "h_pkg/__init__.py",
        """
        from .acts import C
        def setup(registry):
            registry.register(C)
    """,
    )
    write(
        tmp_path,
        "h_pkg/acts.py",
        """
        from actions import BaseAction
        class C(BaseAction):
            action_name = "c"
    """,
    )
    write(tmp_path, "_private.py", "raise SystemExit('must not be imported')\n")
    write(tmp_path, "notes.txt", "not a plugin\n")
    return tmp_path


def test_load_folder_reports_and_skips_broken(
    folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    registry = ActionRegistry()
    errors = registry.load_folder(folder)
    assert registry.names == ["a", "c"]
    reasons = {Path(e.path).name: e.reason for e in errors}
    assert reasons == {
        "b_broken_import.py": "import failed: ModuleNotFoundError: "
        "No module named 'does_not_exist_anywhere'",
        "c_syntax.py": reasons["c_syntax.py"],
        "d_no_setup.py": "no setup(registry) function; define one that registers the plugin's "
        "actions",
        "e_no_name.py": reasons["e_no_name.py"],
        "f_duplicate.py": reasons["f_duplicate.py"],
        "g_partial.py": "setup() failed: RuntimeError: setup half done",
    }
    assert reasons["c_syntax.py"].startswith("import failed: SyntaxError")
    assert "Nameless' has no action_name" in reasons["e_no_name.py"]
    assert "uses action_name 'a', already registered by 'A'" in reasons["f_duplicate.py"]
    assert all("\n" not in e.reason for e in errors)
    assert f"plugin {folder / 'g_partial.py'} skipped" in caplog.text
    assert not [m for m in sys.modules if m.endswith("_b_broken_import")]


def test_failed_setup_leaves_registry_unchanged() -> None:
    class Keep(BaseAction):
        action_name = "keep"

    class New(BaseAction):
        action_name = "new"

    registry = ActionRegistry([Keep])

    def setup(reg: ActionRegistry) -> None:
        reg.register(New)
        raise ValueError("nope")

    with pytest.raises(PluginError, match="setup\\(\\) failed: ValueError: nope") as info:
        registry.setup_plugin(setup, "inline")
    assert isinstance(info.value.__cause__, ValueError)
    assert registry.names == ["keep"] and "new" not in registry
    registry.setup_plugin(lambda reg: reg.register(New), "inline")
    assert registry.names == ["keep", "new"]


def test_register_validation() -> None:
    registry = ActionRegistry()
    with pytest.raises(TypeError, match="is not a BaseAction subclass"):
        registry.register(int)  # type: ignore[arg-type]

    @registry.register
    class X(BaseAction):
        action_name = "x"

    assert registry.get("x") is X and len(registry) == 1 and list(registry) == [X]
    registry.unregister("x")
    assert registry.get("x") is None


def test_missing_folder() -> None:
    assert ActionRegistry().load_folder("/nonexistent/plugins") == [
        LoadError("/nonexistent/plugins", "not a folder")
    ]


def test_entry_points(monkeypatch: pytest.MonkeyPatch) -> None:
    group = registry_module.ENTRY_POINT_GROUP
    eps = [
        EntryPoint("good", "tests.actions.plugin_ep:setup", group),
        EntryPoint("module", "tests.actions.plugin_ep_module", group),
        EntryPoint("missing", "no_such_module_qq:setup", group),
        EntryPoint("notcallable", "tests.actions.plugin_ep:NOT_CALLABLE", group),
    ]
    monkeypatch.setattr(
        registry_module,
        "metadata",
        SimpleNamespace(
            entry_points=lambda group: eps if group == registry_module.ENTRY_POINT_GROUP else []
        ),
    )
    registry = ActionRegistry()
    errors = registry.load_entry_points()
    assert registry.names == ["ep_action", "ep_module_action"]
    assert [e.path for e in errors] == [
        "entry point 'missing' (no_such_module_qq:setup)",
        "entry point 'notcallable' (tests.actions.plugin_ep:NOT_CALLABLE)",
    ]
    assert errors[0].reason.startswith("import failed: ModuleNotFoundError")
    assert errors[1].reason == "setup is not callable"
