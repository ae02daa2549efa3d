"""Every guildmind metric, defined in one place, with one-call recording methods for the actors.

Build one `GuildmindMetrics` per process on its own registry (`new_registry()`), serve it with
`metrics.exposition`, and record with plain method calls::

    m = GuildmindMetrics(new_registry(), actions=registry.names(), moods=cfg.mood_book().names())
    m.events("message", 120)                                  # a gateway normalised 120 messages
    m.decision("join_conversation", "bubbly", "message", decide_s=4e-6, latency_s=0.012)
    m.activations(report)                                     # an ActivationReport, whole
    m.llm_request("judge", "success", 0.4, prompt_tokens=310, completion_tokens=6)
    m.action_execution("join_conversation", "fallback")      # templates wrote it: LLM failed
    m.round("sent", seconds=0.8)

Which process a sample came from is a *target* label (``role``, ``process``, ``instance``) that
Prometheus attaches from service discovery, not a metric label: the only ``host`` label is on
``guildmind_host_restarts_total``, which the driver records for its hosts. Label values outside
their bounded set (see `metrics.labels`) are recorded as ``"other"``. Every known label value is
pre-initialised to zero, so ``rate()`` and ``increase()`` see the first event.

The recording methods are cheap (a dict lookup and a locked add; a histogram observation is a
bisect more): a few hundred nanoseconds to ~1 µs each. On paths that run per event, count a
batch with one call (``m.events(type, n)``) rather than one call per event.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from prometheus_client import CollectorRegistry

from metrics.guilds import GuildCollector
from metrics.labels import (
    ACTIVATION_RESULTS,
    DEFAULT_ACTIONS,
    DEFAULT_MOODS,
    DROP_REASONS,
    EVENT_TYPES,
    EXECUTION_OUTCOMES,
    JUDGE_SOURCES,
    LLM_BUDGET_SCOPES,
    LLM_OUTCOMES,
    LLM_PURPOSES,
    LLM_TOKEN_KINDS,
    LLM_TOKEN_SOURCES,
    NONE_ACTION,
    OTHER,
    REFUSED_FEATURES,
    ROUND_OUTCOMES,
    SAVE_OUTCOMES,
    SEND_FAILURE_REASONS,
    SESSION_OUTCOMES,
    TRIGGERS,
    label_set,
)
from metrics.registry import (
    ACTIVATION_BUCKETS,
    BATCH_BUCKETS,
    DECIDE_BUCKETS,
    LATENCY_BUCKETS,
    LLM_BUCKETS,
    ROUND_BUCKETS,
    SAVE_BUCKETS,
    children,
    factory,
)


class GuildmindMetrics:
    """guildmind's metric catalogue on one registry, and the one-call recording methods.

    Parameters
    ----------
    registry:
        Where the metrics live (one per process; tests use a fresh one each).
    actions:
        The loaded action names (bounded by the action registry).
    moods:
        The configured mood names.
    hosts:
        The guild host names known at start (``host_restarts_total`` is pre-initialised for them).
    version:
        guildmind's version, for ``guildmind_build_info``.
    """

    def __init__(
        self,
        registry: CollectorRegistry,
        *,
        actions: Iterable[str] = DEFAULT_ACTIONS,
        moods: Iterable[str] = DEFAULT_MOODS,
        hosts: Iterable[str] = (),
        version: str = "unknown",
    ) -> None:
        r = registry
        self.registry = registry
        self.action_names = label_set(actions)
        self.mood_names = label_set(moods)
        decided = label_set(self.action_names, NONE_ACTION)
        types, triggers = label_set(EVENT_TYPES), label_set(TRIGGERS)

        c, g, h = factory(r)
        self.build_info = g("guildmind_build_info", "guildmind's version.", "version")
        self.build_info.labels(version or "unknown").set(1)
        self.events_total = c("guildmind_events_total", "Inbound events received.", "type")
        self.events_dropped_total = c(
            "guildmind_events_dropped_total",
            "Inbound events dropped before their guild saw them.",
            "type",
            "reason",
        )
        self.decisions_total = c(
            "guildmind_decisions_total",
            'Engine decisions (action "none": stay quiet).',
            "action",
            "mood",
            "trigger",
        )
        self.decide_seconds = h(
            "guildmind_decide_seconds", "Time the engine took to decide.", DECIDE_BUCKETS
        )
        self.event_to_decision_seconds = h(
            "guildmind_event_to_decision_seconds",
            "Time from an event's arrival at the gateway to its guild's decision.",
            LATENCY_BUCKETS,
        )
        self.rounds_total = c("guildmind_rounds_total", "Action rounds.", "outcome")
        self.round_seconds = h(
            "guildmind_round_seconds", "Duration of an action round.", ROUND_BUCKETS
        )
        self.activations_total = c(
            "guildmind_activations_total", "go_activate() results.", "action", "result"
        )
        self.activation_seconds = h(
            "guildmind_activation_seconds", "Duration of go_activate().", ACTIVATION_BUCKETS,
            "action",
        )  # fmt: skip
        self.judge_verdicts_total = c(
            "guildmind_judge_verdicts_total",
            "LLM-judge verdicts (llm: asked this round; cache: reused).",
            "source",
        )
        self.action_executions_total = c(
            "guildmind_action_executions_total",
            "Executions of the chosen action, by outcome (fallback: templates wrote the words "
            "because the LLM failed).",
            "action",
            "outcome",
        )
        self.plugin_refusals_total = c(
            "guildmind_plugin_refusals_total",
            "What a plugin action asked for that Discord has no equivalent for (nothing sent).",
            "action",
            "feature",
        )
        self.llm_requests_total = c(
            "guildmind_llm_requests_total", "LLM requests, by outcome.", "purpose", "outcome"
        )
        self.llm_request_seconds = h(
            "guildmind_llm_request_seconds",
            "Duration of one LLM request (its retries included).",
            LLM_BUCKETS,
            "purpose",
        )
        self.llm_retries_total = c(
            "guildmind_llm_retries_total", "LLM requests sent again after a failure.", "purpose"
        )
        self.llm_tokens_total = c(
            "guildmind_llm_tokens_total",
            "LLM tokens (source: the server's usage, or an estimate where it reported none).",
            "purpose",
            "kind",
            "source",
        )
        self.llm_budget_exhausted_total = c(
            "guildmind_llm_budget_exhausted_total",
            "LLM requests not sent because a daily token budget was spent (templates wrote, the "
            "judge said no, the rules planned).",
            "purpose",
            "scope",
        )
        self.llm_budget_limit_tokens = g(
            "guildmind_llm_budget_limit_tokens",
            "The daily token budget configured (0: none).",
            "scope",
        )
        self.messages_sent_total = c(
            "guildmind_messages_sent_total", "Messages the bot sent.", "action"
        )
        self.send_failures_total = c(
            "guildmind_send_failures_total", "Messages that could not be sent.", "reason"
        )
        self.batch_size_events = h(
            "guildmind_batch_size_events", "Events per gateway-to-host batch.", BATCH_BUCKETS
        )
        self.batches_in_flight = g(
            "guildmind_batches_in_flight", "Gateway-to-host batches sent and not yet applied."
        )
        self.gateway_sessions_total = c(
            "guildmind_gateway_sessions_total",
            "Stored gateway shard sessions at a gateway's start, by outcome (cold resume).",
            "outcome",
        )
        self.state_saves_total = c("guildmind_state_saves_total", "Guild state saves.", "outcome")
        self.state_save_seconds = h(
            "guildmind_state_save_seconds", "Duration of one state-store write.", SAVE_BUCKETS
        )
        self.host_restarts_total = c(
            "guildmind_host_restarts_total", "Guild host restarts seen by the runtime.", "host"
        )
        self.partitions_moved_total = c(
            "guildmind_partitions_moved_total", "Partitions moved to new hosts (scale-out)."
        )
        self.guilds = GuildCollector(self.mood_names)
        r.register(self.guilds)

        self._events = children(self.events_total, types)
        self._dropped = children(self.events_dropped_total, types, label_set(DROP_REASONS))
        self._decisions = children(self.decisions_total, decided, self.mood_names, triggers)
        self._rounds = children(self.rounds_total, label_set(ROUND_OUTCOMES))
        self._activations = children(self.activations_total, self.action_names, ACTIVATION_RESULTS)
        self._activation_s = children(self.activation_seconds, self.action_names)
        self._judge = children(self.judge_verdicts_total, JUDGE_SOURCES)
        self._executions = children(
            self.action_executions_total, self.action_names, EXECUTION_OUTCOMES
        )
        self._refusals = children(
            self.plugin_refusals_total, self.action_names, label_set(REFUSED_FEATURES)
        )
        purposes = label_set(LLM_PURPOSES)
        self._llm = children(self.llm_requests_total, purposes, label_set(LLM_OUTCOMES))
        self._llm_s = children(self.llm_request_seconds, purposes)
        self._llm_retries = children(self.llm_retries_total, purposes)
        self._llm_tokens = children(
            self.llm_tokens_total, purposes, LLM_TOKEN_KINDS, LLM_TOKEN_SOURCES
        )
        self._budget = children(
            self.llm_budget_exhausted_total, purposes, label_set(LLM_BUDGET_SCOPES)
        )
        self._budget_limit = children(self.llm_budget_limit_tokens, LLM_BUDGET_SCOPES)
        self._sent = children(self.messages_sent_total, self.action_names)
        self._send_failures = children(self.send_failures_total, label_set(SEND_FAILURE_REASONS))
        self._saves = children(self.state_saves_total, SAVE_OUTCOMES)
        self._sessions = children(self.gateway_sessions_total, SESSION_OUTCOMES)
        self._hosts: dict[str, Any] = {}
        for host in hosts:
            self.host_seen(host)
        self._decided, self._triggers, self._types = decided, triggers, types

    # -- gateway -------------------------------------------------------------------------------
    def events(self, type: str, n: int = 1) -> None:
        """`n` inbound events of `type` were received (count them before any shedding)."""
        (self._events.get(type) or self._events[OTHER]).inc(n)

    def dropped(self, type: str, reason: str, n: int = 1) -> None:
        """`n` events of `type` were dropped for `reason` (one of `labels.DROP_REASONS`)."""
        child = self._dropped.get((type, reason))
        if child is None:
            t = type if type in self._types else OTHER
            child = self._dropped.get((t, reason)) or self._dropped[(t, OTHER)]
        child.inc(n)

    def gateway_session(self, outcome: str) -> None:
        """A stored shard session at a start: one of `labels.SESSION_OUTCOMES`."""
        self._sessions[outcome].inc()

    def batch_sent(self, size: int) -> None:
        """A batch of `size` events went to a host; it is in flight until `batch_done()`."""
        self.batch_size_events.observe(size)
        self.batches_in_flight.inc()

    def batch_done(self) -> None:
        """A batch sent with `batch_sent()` was applied (or failed for good)."""
        self.batches_in_flight.dec()

    def message_sent(self, action: str) -> None:
        """The bot sent a message for `action`."""
        (self._sent.get(action) or self._sent[OTHER]).inc()

    def send_failure(self, reason: str) -> None:
        """A message could not be sent (one of `labels.SEND_FAILURE_REASONS`)."""
        (self._send_failures.get(reason) or self._send_failures[OTHER]).inc()

    # -- guild host ----------------------------------------------------------------------------
    def decision(
        self,
        action: str | None,
        mood: str,
        trigger: str,
        *,
        decide_s: float | None = None,
        latency_s: float | None = None,
        n: int = 1,
    ) -> None:
        """The engine decided `action` (None: stay quiet), `n` times; optionally how long it took
        to decide and how long since the triggering event arrived at the gateway."""
        key = (action or NONE_ACTION, mood, trigger)
        child = self._decisions.get(key)
        if child is None:
            a, m, t = key
            child = self._decisions[
                (
                    a if a in self._decided else OTHER,
                    m if m in self.mood_names else OTHER,
                    t if t in self._triggers else OTHER,
                )
            ]
        child.inc(n)
        if decide_s is not None:
            self.decide_seconds.observe(decide_s)
        if latency_s is not None:
            self.event_to_decision_seconds.observe(latency_s)

    def round(self, outcome: str, *, seconds: float | None = None) -> None:
        """An action round ended with `outcome` (one of `labels.ROUND_OUTCOMES`)."""
        (self._rounds.get(outcome) or self._rounds[OTHER]).inc()
        if seconds is not None:
            self.round_seconds.observe(seconds)

    def activation(self, action: str, result: str, seconds: float) -> None:
        """One action's go_activate() ended with `result` after `seconds`."""
        if action not in self.action_names:
            action = OTHER
        self._activations[(action, result if result in ACTIVATION_RESULTS else "error")].inc()
        self._activation_s[action].observe(seconds)

    def activations(self, report: Any) -> None:
        """Record a whole `actions.ActivationReport` (its ``outcomes`` and ``durations_s``)."""
        durations: Mapping[str, float] = report.durations_s
        for action, result in report.outcomes.items():
            self.activation(action, result, durations.get(action, 0.0))

    def judge_verdicts(self, *, llm: int = 0, cache: int = 0) -> None:
        """LLM-judge verdicts obtained: `llm` from a call this round, `cache` reused."""
        if llm:
            self._judge["llm"].inc(llm)
        if cache:
            self._judge["cache"].inc(cache)

    def action_execution(self, action: str, outcome: str) -> None:
        """The chosen `action`'s execute() ended with `outcome` (`labels.EXECUTION_OUTCOMES`)."""
        if action not in self.action_names:
            action = OTHER
        self._executions[(action, outcome if outcome in EXECUTION_OUTCOMES else "error")].inc()

    def plugin_refusal(self, action: str, feature: str) -> None:
        """A plugin `action` asked for `feature` (`labels.REFUSED_FEATURES`), which Discord has
        no equivalent for; nothing was sent for it."""
        if action not in self.action_names:
            action = OTHER
        (self._refusals.get((action, feature)) or self._refusals[(action, OTHER)]).inc()

    def llm_request(
        self,
        purpose: str,
        outcome: str,
        seconds: float,
        *,
        retries: int = 0,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        tokens_estimated: bool = False,
    ) -> None:
        """One LLM request for `purpose` ended with `outcome` after `seconds`, sent again
        `retries` times, with its tokens (the server's, or estimates if `tokens_estimated`).

        The signature of ``actions.observer.ActionObserver.llm_request``."""
        p = purpose if purpose in self._llm_s else OTHER
        (self._llm.get((p, outcome)) or self._llm[(p, OTHER)]).inc()
        self._llm_s[p].observe(seconds)
        if retries > 0:
            self._llm_retries[p].inc(retries)
        source = "estimate" if tokens_estimated else "server"
        if prompt_tokens > 0:
            self._llm_tokens[(p, "prompt", source)].inc(prompt_tokens)
        if completion_tokens > 0:
            self._llm_tokens[(p, "completion", source)].inc(completion_tokens)

    def budget_exhausted(self, purpose: str, scope: str) -> None:
        """An LLM request for `purpose` was not sent: the `scope` daily token budget was spent.

        The signature of ``actions.observer.ActionObserver.budget_exhausted``."""
        p = purpose if purpose in self._llm_s else OTHER
        (self._budget.get((p, scope)) or self._budget[(p, OTHER)]).inc()

    def budget_limits(self, *, per_guild: int, global_: int) -> None:
        """The daily token budgets configured (0: none), for dashboards to compare with."""
        self._budget_limit["per_guild"].set(per_guild)
        self._budget_limit["global"].set(global_)

    def state_saves(self, *, saved: int, failed: int = 0, seconds: float | None = None) -> None:
        """One store write: `saved` guilds written, `failed` not, taking `seconds`."""
        if saved:
            self._saves["success"].inc(saved)
        if failed:
            self._saves["failure"].inc(failed)
        if seconds is not None:
            self.state_save_seconds.observe(seconds)

    def flush_result(self, result: Any) -> None:
        """Record a `WriteBehind` ``FlushResult`` (``saved``, ``failed``, ``seconds``)."""
        self.state_saves(saved=result.saved, failed=result.failed, seconds=result.seconds)

    def set_guild_source(self, source: Callable[[], Mapping[str, int]] | None) -> None:
        """Read ``guildmind_guilds_loaded`` / ``guildmind_guilds_by_mood`` from `source` (mood ->
        loaded guilds) at scrape time. It runs on the scrape thread: keep it cheap, and return
        a copy (e.g. ``lambda: dict(self.mood_counts)``)."""
        self.guilds.source = source

    # -- driver --------------------------------------------------------------------------------
    def host_seen(self, host: str) -> None:
        """Pre-initialise ``guildmind_host_restarts_total`` for `host` (when it first starts)."""
        if host not in self._hosts:
            self._hosts[host] = self.host_restarts_total.labels(host)

    def host_restart(self, host: str) -> None:
        """`host` restarted (a new process took over its name)."""
        self.host_seen(host)
        self._hosts[host].inc()

    def partitions_moved(self, n: int) -> None:
        """A rebalance moved `n` partitions (with their guilds) to other hosts."""
        self.partitions_moved_total.inc(n)
