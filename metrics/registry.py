"""The registry factory, the histogram buckets, and small helpers for building the catalogue."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.registry import Collector

# Buckets, in seconds (sizes in events). The engine decides in microseconds; an event waits
# milliseconds (batching, the host's queue) before its guild decides; activation and rounds take
# milliseconds to seconds (a judged activation waits for the LLM); LLM calls take seconds.
DECIDE_BUCKETS = (1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 1e-3, 5e-3)
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
ACTIVATION_BUCKETS = (1e-5, 1e-4, 1e-3, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0)
ROUND_BUCKETS = (0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
LLM_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0)
SAVE_BUCKETS = (1e-4, 5e-4, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)


def new_registry(*, process_metrics: bool = True) -> CollectorRegistry:
    """A fresh registry; with `process_metrics`, the process's memory/CPU/GC and Python info."""
    from prometheus_client import GCCollector, PlatformCollector, ProcessCollector

    registry = CollectorRegistry(auto_describe=True)
    if process_metrics:
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)
    return registry


def factory(r: CollectorRegistry) -> tuple[Any, Any, Any]:
    """Counter, gauge and histogram constructors bound to registry `r`: (name, doc, *labels)."""

    def counter(name: str, doc: str, *labels: str) -> Counter:
        return Counter(name, doc, labels, registry=r)

    def gauge(name: str, doc: str, *labels: str) -> Gauge:
        return Gauge(name, doc, labels, registry=r)

    def histogram(name: str, doc: str, buckets: tuple[float, ...], *labels: str) -> Histogram:
        return Histogram(name, doc, labels, registry=r, buckets=buckets)

    return counter, gauge, histogram


def children(metric: Any, *label_sets: tuple[str, ...]) -> dict[Any, Any]:
    """Pre-initialised children of `metric` for every combination of the label sets."""
    keys: list[tuple[str, ...]] = [()]
    for values in label_sets:
        keys = [(*k, v) for k in keys for v in values]
    out = {k: metric.labels(*k) for k in keys}
    if len(label_sets) == 1:
        out = {k[0]: c for k, c in out.items()}
    return out


def metric_names(registry: Collector) -> set[str]:
    """Every sample name `registry` exposes (``guildmind_events_total``, ``..._bucket``, …)."""
    return {s.name for fam in registry.collect() for s in fam.samples}
