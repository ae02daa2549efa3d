"""`ActionRegistry`: the actions a bot offers, and plugin loading.

The rule for plugins: **a plugin is a module that defines ``setup(registry)``**, which registers
its actions with ``registry.register(MyAction)``; a module without one that defines MoFox-Bot
``@register_plugin`` classes (itself or in its ``plugin`` submodule) is loaded through
`actions.mofox`. Plugins are found

- in folders (`load_folder`): every ``name.py`` file and every ``name/`` package (with an
  ``__init__.py``) whose name does not start with ``_`` or ``.``;
- through the ``guildmind.actions`` entry-point group (`load_entry_points`): the entry point names
  the plugin module (``pkg.plugin``) or its setup function (``pkg.plugin:setup``).

Loading is atomic per plugin: if its import or `setup` fails, or it registers a bad or duplicate
action, nothing of it is registered. Such a plugin is logged and returned as a `LoadError` (its
path and a one-line reason); the other plugins still load.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import sys
from collections.abc import Callable, Iterable, Iterator
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any

import msgspec

from actions.base import BaseAction

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "guildmind.actions"


class LoadError(msgspec.Struct, frozen=True):
    """A plugin that was skipped: where it is and why (one line)."""

    path: str
    reason: str


class PluginError(Exception):
    """A plugin could not be loaded (the cause is chained)."""


def _one_line(exc: BaseException) -> str:
    msg = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__


class ActionRegistry:
    """The registered action classes, by unique name, in registration order."""

    def __init__(self, actions: Iterable[type[BaseAction]] = ()) -> None:
        self._actions: dict[str, type[BaseAction]] = {}
        self._staging: dict[str, type[BaseAction]] | None = None
        for cls in actions:
            self.register(cls)

    # -- registration ---------------------------------------------------------------------------

    def register(self, cls: type[BaseAction]) -> type[BaseAction]:
        """Add an action class (usable as a decorator).

        Raises
        ------
        TypeError
            When `cls` is not a `BaseAction` subclass.
        ValueError
            When its `action_name` is missing or already registered.
        """
        if not (isinstance(cls, type) and issubclass(cls, BaseAction)):
            raise TypeError(
                f"{cls!r} is not a BaseAction subclass; only actions can be registered."
            )
        name = cls.action_name
        if not name or not isinstance(name, str):
            raise ValueError(f"{cls.__qualname__!r} has no action_name; set a unique action_name.")
        other = self._actions.get(name) or (self._staging or {}).get(name)
        if other is not None:
            raise ValueError(
                f"{cls.__qualname__!r} uses action_name {name!r}, already registered by "
                f"{other.__qualname__!r}; action names must be unique."
            )
        target = self._staging if self._staging is not None else self._actions
        target[name] = cls
        return cls

    def unregister(self, name: str) -> None:
        """Remove an action by name (KeyError if unknown)."""
        del self._actions[name]

    def get(self, name: str) -> type[BaseAction] | None:
        """The action class named `name`, or None."""
        return self._actions.get(name)

    def actions(self) -> list[type[BaseAction]]:
        """The registered classes, in registration order."""
        return list(self._actions.values())

    @property
    def names(self) -> list[str]:
        """The registered names, in registration order."""
        return list(self._actions)

    def __contains__(self, name: object) -> bool:
        """Whether `name` is taken: registered, or staged by the plugin being set up."""
        return name in self._actions or (self._staging is not None and name in self._staging)

    def __iter__(self) -> Iterator[type[BaseAction]]:
        return iter(list(self._actions.values()))

    def __len__(self) -> int:
        return len(self._actions)

    # -- plugins --------------------------------------------------------------------------------

    def setup_plugin(self, setup: Callable[[ActionRegistry], Any], where: str) -> None:
        """Run a plugin's `setup` atomically: all its registrations, or none.

        Raises
        ------
        PluginError
            When `setup` raises (the cause is chained); the registry is unchanged.
        """
        if not callable(setup):
            raise PluginError(f"{where}: setup is not callable")
        self._staging = {}
        try:
            setup(self)
            staged = self._staging
        except Exception as e:
            raise PluginError(f"{where}: setup() failed: {_one_line(e)}") from e
        finally:
            self._staging = None
        self._actions.update(staged)

    def load_module(self, module: ModuleType, where: str | None = None) -> None:
        """Load an imported plugin module: its ``setup(registry)``, or else the MoFox-Bot
        plugin classes it defines (`actions.mofox`)."""
        where = where or getattr(module, "__file__", None) or module.__name__
        setup = getattr(module, "setup", None)
        if setup is None:
            # Imported here: a native plugin never loads the compatibility package.
            from actions.mofox.loader import plugin_setup

            try:
                setup = plugin_setup(module)
            except Exception as e:
                raise PluginError(f"{where}: import failed: {_one_line(e)}") from e
        if setup is None:
            raise PluginError(
                f"{where}: no setup(registry) function; define one that registers "
                "the plugin's actions"
            )
        self.setup_plugin(setup, where)

    def load_folder(self, path: str | Path) -> list[LoadError]:
        """Load every plugin in the folder `path`; returns the ones that failed."""
        folder = Path(path)
        if not folder.is_dir():
            err = LoadError(str(folder), "not a folder")
            logger.warning("plugin folder %s skipped: not a folder", folder)
            return [err]
        errors: list[LoadError] = []
        tag = hashlib.blake2b(str(folder.resolve()).encode(), digest_size=4).hexdigest()
        for entry in sorted(folder.iterdir()):
            if entry.name.startswith(("_", ".")):
                continue
            if entry.is_dir() and (entry / "__init__.py").is_file():
                file, search = entry / "__init__.py", [str(entry)]
            elif entry.is_file() and entry.suffix == ".py":
                file, search = entry, None
            else:
                continue
            err = self._load_file(f"guildmind_plugin_{tag}_{entry.stem}", file, search, entry)
            if err is not None:
                errors.append(err)
        return errors

    def _load_file(
        self, modname: str, file: Path, search: list[str] | None, where: Path
    ) -> LoadError | None:
        try:
            spec = importlib.util.spec_from_file_location(
                modname, file, submodule_search_locations=search
            )
            if spec is None or spec.loader is None:
                raise PluginError(f"{where}: cannot be imported")
            module = importlib.util.module_from_spec(spec)
            sys.modules[modname] = module
            try:
                spec.loader.exec_module(module)
            except Exception as e:
                raise PluginError(f"{where}: import failed: {_one_line(e)}") from e
            self.load_module(module, str(where))
        except PluginError as e:
            for name in [m for m in sys.modules if m == modname or m.startswith(modname + ".")]:
                del sys.modules[name]
            return self._report(str(where), str(e).removeprefix(f"{where}: "))
        logger.info("plugin %s loaded", where)
        return None

    def load_entry_points(self, group: str = ENTRY_POINT_GROUP) -> list[LoadError]:
        """Load the plugins of an entry-point group; returns the ones that failed."""
        errors: list[LoadError] = []
        for ep in metadata.entry_points(group=group):
            where = f"entry point {ep.name!r} ({ep.value})"
            try:
                try:
                    obj = ep.load()
                except Exception as e:
                    raise PluginError(f"import failed: {_one_line(e)}") from e
                if isinstance(obj, ModuleType):
                    self.load_module(obj, where)
                else:
                    self.setup_plugin(obj, where)
            except PluginError as e:
                errors.append(self._report(where, str(e).removeprefix(f"{where}: ")))
        return errors

    @staticmethod
    def _report(where: str, reason: str) -> LoadError:
        logger.warning("plugin %s skipped: %s", where, reason)
        return LoadError(where, reason)
