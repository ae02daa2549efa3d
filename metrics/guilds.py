"""`GuildCollector`: loaded guilds and guilds by mood, read from the host's live state at scrape.

A guild host changes moods all the time; rather than keeping gauges in step everywhere, it hands
the catalogue a function returning mood -> loaded guilds, and this collector calls it when
Prometheus scrapes. Processes that host no guilds set no source and expose neither metric.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from metrics.labels import OTHER

logger = logging.getLogger(__name__)

LOADED = "guildmind_guilds_loaded"
BY_MOOD = "guildmind_guilds_by_mood"


class GuildCollector(Collector):
    """Exposes ``guildmind_guilds_loaded`` and ``guildmind_guilds_by_mood{mood}`` from a source.

    ``source`` (settable any time) returns mood -> number of loaded guilds; every mood in
    `moods` is exposed (zero when absent), any other mood is added to ``"other"``.
    """

    def __init__(self, moods: tuple[str, ...]) -> None:
        self.moods = moods
        self.source: Callable[[], Mapping[str, int]] | None = None

    def describe(self) -> Iterator[Metric]:
        """The two families, without samples (lets the registry check names cheaply)."""
        yield GaugeMetricFamily(LOADED, "Guilds loaded in this process.")
        yield GaugeMetricFamily(BY_MOOD, "Loaded guilds, by current mood.", labels=["mood"])

    def collect(self) -> Iterator[Metric]:
        """Call the source once and expose what it returned; a failing source exposes nothing."""
        source = self.source
        if source is None:
            return
        try:
            counts = dict(source())
        except Exception:
            # A scrape must not fail because of a racing or broken source; the gap is visible.
            logger.exception("The guild mood source failed; guild gauges skipped this scrape.")
            return
        by_mood = dict.fromkeys(self.moods, 0)
        for mood, n in counts.items():
            key = mood if mood in by_mood else OTHER
            by_mood[key] += n
        loaded = GaugeMetricFamily(LOADED, "Guilds loaded in this process.")
        loaded.add_metric([], sum(by_mood.values()))
        family = GaugeMetricFamily(BY_MOOD, "Loaded guilds, by current mood.", labels=["mood"])
        for mood, n in by_mood.items():
            family.add_metric([mood], n)
        yield loaded
        yield family
