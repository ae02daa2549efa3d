"""`guildmind loadtest` on the session Ray: a short run and its report."""

from __future__ import annotations

import pytest

from guildmind.config import parse_config
from guildmind.loadtest import LoadSpec, load_config, percentile, run_load

pytestmark = pytest.mark.usefixtures("ray_session")

KEYS = {
    "guilds", "duration_s", "events_sent", "events_processed", "events_dropped", "events_per_s",
    "latency_ms", "decisions", "decisions_by_mood", "rss_bytes_total", "rss_bytes_per_guild",
    "hosts",
}  # fmt: skip


async def test_a_short_load_run_reports_what_happened(tmp_path) -> None:
    """A load run's report holds every figure, consistent with what the runtime counted."""
    spec = LoadSpec(guilds=300, rate=400.0, duration_s=4.0, hosts=2)
    report = await run_load(spec, load_config(spec, parse_config("", env={}), str(tmp_path)))
    assert set(report) >= KEYS
    assert report["events_sent"] > 1000 and report["events_dropped"] == 0
    # everything sent was processed, give or take the batches in flight at either end
    assert abs(report["events_processed"] - report["events_sent"]) < 0.1 * report["events_sent"]
    # the figures are what happened (how fast it may go is the benchmarks' business)
    assert report["events_sent"] < 2 * spec.rate * report["duration_s"]  # about what was asked
    per_s = report["events_processed"] / report["duration_s"]
    assert report["events_per_s"] == pytest.approx(per_s, abs=0.1)
    lat = report["latency_ms"]
    assert 0 < lat["p50"] <= lat["p99"] <= lat["p999"]
    assert sum(report["decisions"].values()) > 0  # replies at least, and autonomous actions
    assert sum(report["decisions_by_mood"].values()) == sum(report["decisions"].values())
    assert report["hosts"] == 2 and report["rss_bytes_total"] > 50 * 2**20


def test_weighted_percentiles() -> None:
    samples = [(0.010, 90), (0.100, 9), (1.0, 1)]
    assert percentile(samples, 0.5) == 0.010
    assert percentile(samples, 0.95) == 0.100
    assert percentile(samples, 0.999) == 1.0
    assert percentile([], 0.5) == 0.0


def test_a_ramp_is_drawn_against_the_offered_rate(tmp_path) -> None:
    from guildmind.loadtest import plot_ramp

    steps = [
        {"offered_per_s": r, "events_per_s": min(r, 3000.0), "shed_per_s": max(0.0, r - 3000),
         "p50_ms": 10.0 + r / 1000, "p99_ms": 40.0 + r / 100}
        for r in (1000.0, 2000.0, 3000.0, 6000.0, 15000.0)
    ]  # fmt: skip
    png = plot_ramp(steps, tmp_path / "ramp" / "load.png")
    data = png.read_bytes()
    assert png == tmp_path / "ramp" / "load.png" and data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 10_000  # two panels with their lines, not an empty canvas


@pytest.mark.parametrize("load", [0, -1, 1.5, True])
def test_a_load_factor_is_a_whole_number_of_offers(load) -> None:
    with pytest.raises(ValueError, match="load must be an int >= 1"):
        LoadSpec(guilds=10, rate=10.0, duration_s=1.0, load=load)
