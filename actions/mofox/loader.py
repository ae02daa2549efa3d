"""Loading a MoFox plugin into an `ActionRegistry`.

`ActionRegistry.load_module` asks here when a plugin module has no ``setup(registry)``: a module
(or, for a package, its ``plugin`` submodule, where MoFox keeps the plugin class) that defines
``@register_plugin`` classes is a MoFox plugin, and `plugin_setup` returns the setup that loads
them. Loading a MoFox plugin, inside the registry's atomic `setup_plugin`:

1. instantiate the class with its folder (its configuration is read and checked then);
2. skip it when it is disabled (``enable_plugin = False`` or ``plugin.enabled = false``);
3. register each enabled action of ``get_plugin_components()`` under its name, or under
   ``<plugin_name>.<name>`` when the name is taken (a warning says so);
4. log a warning for each other component (event handler, command, tool, prompt, ...): loaded,
   never run;
5. run ``on_plugin_loaded()`` once.

Any error (the configuration, a bad component, the hook) fails the whole plugin and nothing of it
is registered; the registry reports it as one line.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import inspect
import logging
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from actions.base import BaseAction as GuildmindAction
from actions.mofox.apis.plugin_register_api import REGISTERED
from actions.mofox.base.base_plugin import BasePlugin
from actions.mofox.base.component_types import ActionInfo, ChatType, ComponentInfo, ComponentType
from actions.mofox.base.plugin_metadata import PluginMetadata

if TYPE_CHECKING:
    from actions.registry import ActionRegistry

__all__ = ["HOOK_TIMEOUT_S", "load_plugin", "plugin_classes", "plugin_setup"]

logger = logging.getLogger(__name__)

HOOK_TIMEOUT_S = 10.0
"""How long a plugin's ``on_plugin_loaded()`` may run before its plugin fails to load."""

_NOT_RUN = {
    ComponentType.COMMAND: "guildmind's commands are its slash commands",
    ComponentType.PLUS_COMMAND: "guildmind's commands are its slash commands",
    ComponentType.TOOL: "guildmind's LLM calls no tools",
    ComponentType.EVENT_HANDLER: "guildmind has no event bus",
    ComponentType.PROMPT: "guildmind writes its own prompts",
    ComponentType.CHATTER: "the engine decides when the bot speaks",
    ComponentType.INTEREST_CALCULATOR: "the engine decides when the bot speaks",
    ComponentType.SCHEDULER: "guildmind has no plugin scheduler",
}


def _defined_in(module: ModuleType) -> list[type[BasePlugin]]:
    name = module.__name__
    return [
        v
        for v in vars(module).values()
        if isinstance(v, type)
        and vars(v).get(REGISTERED)
        and (v.__module__ == name or v.__module__.startswith(name + "."))
    ]


def plugin_classes(module: ModuleType) -> list[type[BasePlugin]]:
    """The ``@register_plugin`` classes of a plugin module, or of its ``plugin`` submodule
    (imported here when the module is a package that has one)."""
    found = _defined_in(module)
    if found or not hasattr(module, "__path__"):
        return found
    sub = f"{module.__name__}.plugin"
    if importlib.util.find_spec(sub) is None:
        return []
    return _defined_in(importlib.import_module(sub))


def plugin_setup(module: ModuleType) -> Callable[[ActionRegistry], None] | None:
    """The setup that loads the MoFox plugins of `module`, or None when it defines none.

    Importing the ``plugin`` submodule may raise (the registry reports it as an import failure).
    """
    classes = plugin_classes(module)
    if not classes:
        return None
    meta = getattr(module, "__plugin_meta__", None)

    def setup(registry: ActionRegistry) -> None:
        for cls in classes:
            load_plugin(registry, cls, metadata=meta if isinstance(meta, PluginMetadata) else None)

    return setup


def _plugin_dir(cls: type) -> str:
    module = sys.modules.get(cls.__module__)
    file = getattr(module, "__file__", None)
    return str(Path(file).parent) if file else ""


def load_plugin(
    registry: ActionRegistry,
    cls: type[BasePlugin],
    *,
    plugin_dir: str | None = None,
    metadata: PluginMetadata | None = None,
) -> BasePlugin | None:
    """Instantiate one plugin class and register its actions in `registry`.

    Call it inside `ActionRegistry.setup_plugin` (as the registry does) so that a failure
    registers nothing. Returns the plugin, or None when it is disabled.
    """
    where = plugin_dir if plugin_dir is not None else _plugin_dir(cls)
    params = inspect.signature(cls).parameters
    accepts_kw = any(p.kind is p.VAR_KEYWORD for p in params.values())
    kwargs: dict[str, Any] = {"plugin_dir": where}
    if metadata is not None and ("metadata" in params or accepts_kw):
        kwargs["metadata"] = metadata
    plugin = cls(**kwargs)
    name = plugin.plugin_name
    if not plugin.enabled:
        logger.info("MoFox plugin %r is disabled; none of its components is registered", name)
        return None
    _check_dependencies(plugin)
    components = plugin.get_plugin_components()
    if not isinstance(components, list | tuple):
        raise TypeError(
            f"plugin {name!r}: get_plugin_components() must return a list of "
            f"(info, class) pairs, got {type(components).__name__!r}."
        )
    taken: list[ComponentInfo] = []
    for item in components:
        if not (isinstance(item, tuple) and len(item) == 2):
            raise TypeError(
                f"plugin {name!r}: get_plugin_components() must list (info, class) pairs, "
                f"got {item!r}."
            )
        info, component = item
        if not isinstance(info, ComponentInfo):
            raise TypeError(
                f"plugin {name!r}: {info!r} is not a ComponentInfo; use Class.get_action_info() "
                "or the info class of the component's kind."
            )
        info.plugin_name = name
        if isinstance(info, ActionInfo) or info.component_type is ComponentType.ACTION:
            if not info.enabled:
                logger.info("MoFox plugin %r: action %r is disabled", name, info.name)
                continue
            _register_action(registry, plugin, info, component)
            taken.append(info)
        else:
            why = _NOT_RUN.get(info.component_type, "guildmind runs actions only")
            logger.warning(
                "MoFox plugin %r: %s %r is loaded but not run (%s)",
                name, info.component_type.value.replace("_", " "), info.name, why,
            )  # fmt: skip
    plugin.plugin_info.components = taken
    _run_hook(plugin)
    return plugin


def _register_action(
    registry: ActionRegistry, plugin: BasePlugin, info: ComponentInfo, component: object
) -> None:
    pname = plugin.plugin_name
    if not (isinstance(component, type) and issubclass(component, GuildmindAction)):
        raise TypeError(
            f"plugin {pname!r}: action {info.name!r} is listed with {component!r}, "
            "which is not a BaseAction subclass."
        )
    name = info.name or component.action_name
    if not name or "." in name:
        raise ValueError(
            f"plugin {pname!r}: action name {name!r} must be set and have no '.' (use '_' instead)."
        )
    final = name
    if final in registry:
        final = f"{pname}.{name}"
        logger.warning(
            "MoFox plugin %r: action %r is already registered (by %s); this one is registered "
            "as %r", pname, name, _owner(registry, name), final,
        )  # fmt: skip
    namespace: dict[str, Any] = {
        "action_name": final,
        "mofox_plugin_name": pname,
        "mofox_plugin_config": plugin.config,
        "__module__": component.__module__,
        "__qualname__": component.__qualname__,
        "__doc__": component.__doc__,
    }
    if info.description and info.description != component.action_description:
        namespace["action_description"] = info.description
    registry.register(type(component.__name__, (component,), namespace))
    _warn_unreachable(pname, final, component)


def _owner(registry: ActionRegistry, name: str) -> str:
    cls = registry.get(name)
    if cls is None:
        return "this plugin"
    plugin = getattr(cls, "mofox_plugin_name", "")
    if plugin:
        return f"MoFox plugin {plugin!r}"
    module = cls.__module__
    return "guildmind's built-in" if module.startswith("actions.") else f"module {module!r}"


def _warn_unreachable(pname: str, name: str, component: type) -> None:
    if getattr(component, "chat_type_allow", ChatType.ALL) is ChatType.PRIVATE:
        logger.warning(
            "MoFox plugin %r: action %r is for private chats only; guildmind speaks in guild "
            "channels, so it is never offered", pname, name,
        )  # fmt: skip
    if getattr(component, "is_two_step_action", False):
        logger.warning(
            "MoFox plugin %r: action %r is a two-step action; guildmind's planner picks no "
            "sub-action, so only its execute() runs", pname, name,
        )  # fmt: skip


def _check_dependencies(plugin: BasePlugin) -> None:
    for dep in plugin.python_dependencies:
        package = dep if isinstance(dep, str) else dep.package_name
        optional = False if isinstance(dep, str) else dep.optional
        if optional:
            continue
        top = package.split(">")[0].split("=")[0].split("<")[0].strip()
        if importlib.util.find_spec(top) is None:
            install = top if isinstance(dep, str) else dep.get_pip_requirement()
            raise ModuleNotFoundError(
                f"plugin {plugin.plugin_name!r} needs the Python package {top!r}; install it "
                f"({install!r}): guildmind installs nothing."
            )
    if plugin.dependencies:
        logger.info(
            "MoFox plugin %r names plugins it depends on (%s); guildmind does not check them",
            plugin.plugin_name, ", ".join(map(str, plugin.dependencies)),
        )  # fmt: skip


def _run_hook(plugin: BasePlugin) -> None:
    if type(plugin).on_plugin_loaded is BasePlugin.on_plugin_loaded:
        return
    result = plugin.on_plugin_loaded()
    if not inspect.isawaitable(result):
        return

    async def bounded() -> None:
        await asyncio.wait_for(result, HOOK_TIMEOUT_S)

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(bounded())
        return
    # Loading runs inside an event loop (a host starting up): the hook gets a loop of its own, in
    # a thread, so it never blocks on the loop that is waiting for it.
    with ThreadPoolExecutor(1, thread_name_prefix="mofox-hook") as pool:
        pool.submit(asyncio.run, bounded()).result()
