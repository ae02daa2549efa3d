"""Builds a guild host's parts from the configuration (no Ray: the actor and tests share it)."""

from __future__ import annotations

import logging
import random
import time
from pathlib import Path

from actions import (
    BUILTIN_ACTIONS,
    ActionModifier,
    ActionRegistry,
    BudgetPolicy,
    ContentWriter,
    LLMConfig,
    OpenAICompatibleClient,
    PostSource,
)
from actors.clock import Clock
from actors.loop.guild_loop import GuildLoop
from actors.loop.host_core import HostCore, Send
from actors.loop.rounds import RoundRunner
from actors.stores.base import StateStore, TokenCounter
from actors.stores.ledger import StoreLedger
from config import Config
from engine import AutonomousEngine
from metrics import GuildmindMetrics

log = logging.getLogger(__name__)

ACTIVATION_TIMEOUT_S = 2.0
"""How long each action's go_activate() may take in a round (an LLM judge included)."""


def action_registry(plugin_dirs: tuple[str, ...] = ()) -> ActionRegistry:
    """The built-in actions, the entry-point plugins and those in `plugin_dirs`.

    A folder may hold native plugins (``setup(registry)``) and MoFox-Bot ones (``@register_plugin``
    classes, `actions.mofox`) side by side. A broken plugin is reported (its path and why) and
    skipped; the others load.
    """
    registry = ActionRegistry(BUILTIN_ACTIONS)
    errors = registry.load_entry_points()
    for folder in plugin_dirs:
        if Path(folder).is_dir():
            errors += registry.load_folder(folder)
        else:
            log.error("plugin folder %s does not exist; no plugins loaded from it", folder)
    for error in errors:
        log.error("plugin %s not loaded: %s", error.path, error.reason)
    return registry


def make_engine(config: Config, *, started_at: float, seed: int | None) -> AutonomousEngine:
    return AutonomousEngine(
        rng=random.Random(seed),
        started_at=started_at,
        rules=config.rules,
        learning=config.learning,
        moods=config.mood_book(),
        default_mood=config.defaults.mood,
    )


def adopter(config: Config):
    """Sets a newly seen guild's configured settings and mood."""

    shared = config.engine_settings_for(-1)  # the defaults: one object for every plain guild

    def adopt(engine: AutonomousEngine, guild_id: int, at: float) -> None:
        own = guild_id in config.guilds
        engine.configure(guild_id, config.engine_settings_for(guild_id) if own else shared)
        engine.update_mood(guild_id, config.mood_for(guild_id), at=at)

    return adopt


def _rng(seed: int | None, part: str) -> random.Random:
    return random.Random(None if seed is None else f"{seed}:{part}")


def build_loop(config: Config, *, started_at: float, seed: int | None = None) -> GuildLoop:
    """The guild loop with its engine, as the configuration says (rules, moods, rotation)."""
    return GuildLoop(
        make_engine(config, started_at=started_at, seed=seed),
        adopt=adopter(config),
        rotation_s=config.mood_rotation.interval_s,
        include_asleep=config.mood_rotation.include_asleep,
        rng=_rng(seed, "moods"),
        left_grace_s=config.privacy.left_grace_s,
    )


def build_actions(config: Config, registry: ActionRegistry) -> tuple[ActionModifier, ContentWriter]:
    """The action system's modifier and content writer, with the configured LLM (or templates).

    The budgets nest, and `llm.action_budget_s` owns them: an action's `execute()` may run that
    long, and the modifier hands the writer a deadline inside it
    (`actions.modifier.DEADLINE_SHARE`), so an LLM that hangs, is slow or answers garbage ends in
    a template within the budget.
    """
    llm_config = config.llm or LLMConfig()
    llm = OpenAICompatibleClient(config.llm) if config.llm is not None else None
    modifier = ActionModifier(
        registry, timeout_s=ACTIVATION_TIMEOUT_S, execute_timeout_s=llm_config.action_budget_s
    )
    return modifier, ContentWriter(llm)


def build_budget(config: Config, store: StateStore | None = None) -> BudgetPolicy:
    """The daily token budgets the ``[llm]`` section sets (none without it). The global count
    is kept in `store` when it can (`StoreLedger`: every host sharing it shares one budget),
    else in this process."""
    if config.llm is None:
        return BudgetPolicy()
    c = config.llm
    ledger = StoreLedger(store) if isinstance(store, TokenCounter) else None
    return BudgetPolicy(
        c.guild_daily_tokens, c.global_daily_tokens, max_tokens=c.max_tokens, ledger=ledger
    )


def build_host_core(
    name: str,
    config: Config,
    *,
    store: StateStore,
    clock: Clock,
    started_at: float,
    send: Send,
    metrics: GuildmindMetrics,
    registry: ActionRegistry | None = None,
    seed: int | None = None,
) -> HostCore:
    """A `HostCore` wired as the configuration says (LLM or templates, plugins, rotation)."""
    registry = registry or action_registry(config.runtime.plugin_dirs)
    modifier, writer = build_actions(config, registry)
    loop = build_loop(config, started_at=started_at, seed=seed)
    loop.observer, loop.timer = metrics, time.perf_counter
    runner = RoundRunner(
        modifier=modifier,
        writer=writer,
        metrics=metrics,
        posts=PostSource(),
        rng=_rng(seed, "actions"),
        bot_name=config.runtime.bot_name,
        persona=config.runtime.persona,
        budget=build_budget(config, store),
    )
    return HostCore(
        name, loop=loop, runner=runner, store=store, clock=clock, send=send, metrics=metrics,
        write_behind_s=config.state.write_behind_s, replay_window=config.gateway.replay_window,
    )  # fmt: skip
