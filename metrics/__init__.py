"""guildmind's metrics: the catalogue, its exposition, and service discovery for Prometheus.

Import the public names from here: ``from metrics import GuildmindMetrics, new_registry``.
See ``metrics/README.md`` for the process model and the metric list.
"""

from __future__ import annotations

from metrics.catalog import GuildmindMetrics
from metrics.discovery import SD_PATH, DiscoveryServer
from metrics.exposition import MetricsServer, start_metrics_server
from metrics.guilds import GuildCollector
from metrics.registry import metric_names, new_registry
from metrics.targets import Target, TargetDirectory

__all__ = [
    "SD_PATH",
    "DiscoveryServer",
    "GuildCollector",
    "GuildmindMetrics",
    "MetricsServer",
    "Target",
    "TargetDirectory",
    "metric_names",
    "new_registry",
    "start_metrics_server",
]
