"""`ActionModifier`: which actions are available this round, decided by their `go_activate()`.

Every candidate's `go_activate()` runs concurrently under one deadline (all start together, so each
has the same per-action timeout and N slow actions cost one timeout, not N). An exception, a
timeout or a non-bool answer makes only that action inactive: one log line with its name, and a
count. LLM-judged actions share one batched judge call per round (see `actions.judge`).

The modifier never touches Prometheus: it returns outcomes and durations in the `ActivationReport`
and the `ExecutionResult`, which the shell records; the judge reports its requests and verdicts to
the round's `ctx.observer`. Its plain tallies (`counters`, `exec_counters`, `judge_stats`) repeat
those facts for tests and are exported by nobody.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Coroutine, Generator, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from actions.base import BaseAction
from actions.judge import JudgeCache, JudgeStats, _JudgeRound

if TYPE_CHECKING:
    from actions.context import ActionContext
    from actions.registry import ActionRegistry

logger = logging.getLogger(__name__)

OUTCOMES = ("activated", "inactive", "timeout", "error")
"""The bounded set of activation outcomes (a metrics label)."""

EXEC_OUTCOMES = ("success", "failure", "timeout", "error")
"""The bounded set of execution outcomes (a metrics label)."""

DEADLINE_SHARE = 0.9
"""The share of an action's execute budget by which its words must be ready (``ctx.deadline``).
The rest is the margin in which a template replaces a late LLM answer and the cut request unwinds,
so a slow or dead LLM ends in a template, never in an execute() timeout with nothing sent."""


@dataclass
class ActivationReport:
    """What one activation round found.

    Attributes
    ----------
    activated:
        Names of the activated actions, in registration order.
    inactive:
        Every other name -> why: ``"false"``, ``"timeout"`` or ``"error: <Type>: <message>"``.
    outcomes:
        Every name -> one of `OUTCOMES`.
    durations_s:
        Every name -> seconds its `go_activate()` ran (the timeout when it timed out).
    actions:
        The activated action instances, by name, ready for `ActionModifier.execute()`.
    """

    activated: list[str] = field(default_factory=list)
    inactive: dict[str, str] = field(default_factory=dict)
    outcomes: dict[str, str] = field(default_factory=dict)
    durations_s: dict[str, float] = field(default_factory=dict)
    actions: dict[str, BaseAction] = field(default_factory=dict)


@dataclass(frozen=True)
class ExecutionResult:
    """The result of `ActionModifier.execute()`: ``outcome`` is one of `EXEC_OUTCOMES`."""

    action: str
    ok: bool
    reason: str
    outcome: str
    duration_s: float


def _describe(exc: BaseException) -> str:
    msg = " ".join(str(exc).split())
    if len(msg) > 160:
        msg = msg[:157] + "..."
    return f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__


class ActionModifier:
    """Runs the `go_activate()` of a set of actions for one context at a time.

    Parameters
    ----------
    actions:
        Action classes (or an `ActionRegistry`), in registration order; names must be unique.
    timeout_s:
        Per-action activation timeout.
    execute_timeout_s:
        The execute budget: how long one action's `execute()` may run (`execute()`). Its words
        must be ready by ``ctx.deadline``, `DEADLINE_SHARE` of it (the content writer's LLM
        requests end there).
    judge_window_s:
        How long a judge ask waits for the other actions of its round before the call goes out
        anyway (normally it goes out as soon as every running action waits on the judge).
    judge_cache_ttl_s:
        How long (in context time, ``ctx.now``) a judge verdict is reused for the same action and
        transcript.

    Raises
    ------
    TypeError, ValueError
        For a non-action class, a missing or duplicate `action_name`, or a bad setting.
    """

    def __init__(
        self,
        actions: Iterable[type[BaseAction]] | ActionRegistry,
        timeout_s: float = 2.0,
        *,
        execute_timeout_s: float = 30.0,
        judge_window_s: float = 0.05,
        judge_cache_ttl_s: float = 30.0,
        judge_cache_size: int = 1024,
    ) -> None:
        if not timeout_s > 0:
            raise ValueError(f"timeout_s must be > 0, got {timeout_s!r}.")
        if not execute_timeout_s > 0:
            raise ValueError(f"execute_timeout_s must be > 0, got {execute_timeout_s!r}.")
        if judge_window_s < 0:
            raise ValueError(f"judge_window_s must be >= 0, got {judge_window_s!r}.")
        classes = list(actions.actions() if hasattr(actions, "actions") else actions)
        seen: set[str] = set()
        for cls in classes:
            if not (isinstance(cls, type) and issubclass(cls, BaseAction)):
                raise TypeError(f"{cls!r} is not a BaseAction subclass.")
            if not cls.action_name:
                raise ValueError(f"{cls.__qualname__!r} has no action_name; set one.")
            if cls.action_name in seen:
                raise ValueError(
                    f"{cls.__qualname__!r} reuses action_name {cls.action_name!r}; "
                    "names are unique."
                )
            seen.add(cls.action_name)
        self.classes: tuple[type[BaseAction], ...] = tuple(classes)
        self.timeout_s = timeout_s
        self.execute_timeout_s = execute_timeout_s
        self.judge_window_s = judge_window_s
        self.judge_cache = JudgeCache(judge_cache_ttl_s, judge_cache_size)
        self.judge_stats = JudgeStats()
        self.counters: Counter[tuple[str, str]] = Counter()
        """(action name, activation outcome) -> count (the runtime exports the reports instead)."""
        self.exec_counters: Counter[tuple[str, str]] = Counter()
        """(action name, execution outcome) -> count."""

    @property
    def names(self) -> list[str]:
        """The action names, in registration order."""
        return [c.action_name for c in self.classes]

    async def activate(
        self, ctx: ActionContext, candidates: Iterable[str] | None = None
    ) -> ActivationReport:
        """Run every candidate's `go_activate()` concurrently; never raises for an action's fault.

        ``candidates`` restricts the round to some names (default: all).
        """
        wanted = None if candidates is None else set(candidates)
        classes = [c for c in self.classes if wanted is None or c.action_name in wanted]
        report = ActivationReport()
        if not classes:
            return report
        jr = _JudgeRound(ctx, self.judge_cache, self.judge_stats, self.judge_window_s)
        llm = ctx.llm
        loop = asyncio.get_running_loop()
        # Every action counts as running for the judge barrier before the first one starts.
        jr.running = len(classes)
        raw: dict[str, float] = {}
        done: dict[str, tuple[BaseAction, object, BaseException | None]] = {}
        tasks: dict[str, tuple[BaseAction, asyncio.Task[object]]] = {}
        for cls in classes:
            name = cls.action_name
            t0 = time.perf_counter()
            try:
                inst = cls(ctx)
                inst._judge_round = jr
                coro = inst.go_activate(llm)  # type: ignore[arg-type]
            except Exception as e:
                jr.task_done()
                self._record(report, name, "error", f"error: {_describe(e)}", 0.0)
                logger.warning("action %r failed to start: %s", name, _describe(e))
                continue
            # Eager start: most actions answer without ever suspending, and need no task.
            try:
                first = coro.send(None)
            except StopIteration as stop:
                done[name] = (inst, stop.value, None)
            except (Exception, asyncio.CancelledError) as e:
                done[name] = (inst, None, e)
            else:
                task = loop.create_task(_continue(coro, first, t0, name, raw, jr))
                tasks[name] = (inst, task)
                continue
            raw[name] = time.perf_counter() - t0
            jr.task_done()
        try:
            if tasks:
                _, pending = await asyncio.wait(
                    [t for _, t in tasks.values()], timeout=self.timeout_s
                )
                for t in pending:
                    t.add_done_callback(_swallow)
                    t.cancel()
        finally:
            jr.close()
        for name, (inst, task) in tasks.items():
            if not task.done() or task.cancelled():
                logger.warning(
                    "action %r: go_activate() timed out after %.3fs", name, self.timeout_s
                )
                self._record(report, name, "timeout", "timeout", self.timeout_s)
                continue
            exc = task.exception()
            done[name] = (inst, None if exc is not None else task.result(), exc)
        for name, (inst, result, exc) in done.items():
            dur = raw.get(name, self.timeout_s)
            if exc is not None:
                logger.warning("action %r: go_activate() raised %s", name, _describe(exc))
                self._record(report, name, "error", f"error: {_describe(exc)}", dur)
            elif result is True:
                self._record(report, name, "activated", None, dur)
                report.actions[name] = inst
            elif result is False:
                self._record(report, name, "inactive", "false", dur)
            else:
                why = f"error: go_activate() returned {type(result).__name__}, expected bool"
                logger.warning("action %r: %s", name, why[7:])
                self._record(report, name, "error", why, dur)
        # Registration order, whatever order the actions finished in.
        report.activated = [c.action_name for c in classes if c.action_name in report.actions]
        return report

    def _record(
        self, report: ActivationReport, name: str, outcome: str, why: str | None, duration: float
    ) -> None:
        report.outcomes[name] = outcome
        report.durations_s[name] = duration
        if why is not None:
            report.inactive[name] = why
        self.counters[(name, outcome)] += 1

    async def execute(self, action: BaseAction, timeout_s: float | None = None) -> ExecutionResult:
        """Run `action.execute()` within the execute budget (`timeout_s`, default
        `execute_timeout_s`); never raises for the action's fault.

        While it runs, ``ctx.deadline`` is `DEADLINE_SHARE` of the budget from now (or an earlier
        deadline already set): the writer's LLM requests end there and leave time for a template.
        """
        name = action.action_name
        limit = timeout_s if timeout_s is not None else self.execute_timeout_s
        ctx = action.ctx
        outer = ctx.deadline
        words_by = asyncio.get_running_loop().time() + limit * DEADLINE_SHARE
        ctx.deadline = words_by if outer is None else min(outer, words_by)
        t0 = time.perf_counter()
        # execute() runs in a task of its own, waited for (not cancelled from inside) until the
        # budget ends. Should the loop stall past both the words deadline and the budget, the
        # deadline's timer fires first and the action's task runs first: a template already
        # queued counts. An action that ignores its cancellation cannot hold the round either.
        task = asyncio.get_running_loop().create_task(action.execute())
        try:
            done, _ = await asyncio.wait({task}, timeout=limit)
        except asyncio.CancelledError:  # the round itself was cancelled
            task.add_done_callback(_swallow)
            task.cancel()
            raise
        finally:
            ctx.deadline = outer
        if not done:
            task.add_done_callback(_swallow)
            task.cancel()
            ok, reason, outcome = False, f"execute() timed out after {limit:.3f}s", "timeout"
            logger.warning("action %r: %s", name, reason)
        else:
            try:
                ok, reason = task.result()
                ok = bool(ok)
                outcome = "success" if ok else "failure"
                reason = str(reason)
            except (Exception, asyncio.CancelledError) as e:
                ok, reason, outcome = False, f"error: {_describe(e)}", "error"
                logger.warning("action %r: execute() raised %s", name, _describe(e))
        self.exec_counters[(name, outcome)] += 1
        return ExecutionResult(name, ok, reason, outcome, time.perf_counter() - t0)


class _Resume:
    """Awaitable that continues a coroutine which already ran up to its first suspension."""

    __slots__ = ("coro", "first")

    def __init__(self, coro: Coroutine[Any, Any, object], first: object) -> None:
        self.coro = coro
        self.first = first

    def __await__(self) -> Generator[Any, Any, object]:
        coro, to_yield = self.coro, self.first
        while True:
            try:
                sent = yield to_yield
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as e:  # cancellation included: hand it to the action
                try:
                    to_yield = coro.throw(e)
                except StopIteration as stop:
                    return stop.value
            else:
                try:
                    to_yield = coro.send(sent)
                except StopIteration as stop:
                    return stop.value


async def _continue(
    coro: Coroutine[Any, Any, object],
    first: object,
    t0: float,
    name: str,
    durations: dict[str, float],
    jr: _JudgeRound,
) -> object:
    try:
        return await _Resume(coro, first)
    finally:
        durations[name] = time.perf_counter() - t0
        jr.task_done()


def _swallow(task: asyncio.Task[object]) -> None:
    # A cancelled action that raised while unwinding must not log "exception never retrieved".
    if not task.cancelled():
        task.exception()
