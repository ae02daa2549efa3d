"""guildmind's metrics: the catalogue, its exposition, and service discovery for Prometheus.

Import the public names from here: ``from metrics import GuildmindMetrics, new_registry``.
See ``metrics/README.md`` for the process model and the metric list.
"""

from __future__ import annotations

from metrics.catalog import GuildmindMetrics
from metrics.guilds import GuildCollector
from metrics.registry import metric_names, new_registry

__all__ = [
    "GuildCollector",
    "GuildmindMetrics",
    "metric_names",
    "new_registry",
]
