"""Every benchmark in tests/bench, run in its smoke mode: the same code at tiny sizes.

The benchmarks are run by hand for the README's Performance figures; this makes sure none of them
breaks unnoticed in between (bench_runtime.py did: its counting host fell behind the host `info()`
contract). Each runs in this process, the Ray ones on the session Ray, and is checked to have
completed with sane figures: present, positive, ratios computed from them, the ceiling printed.
Never how fast: speed is what the benchmarks measure, not something a test can assert on a
shared, noisy machine.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).parent


def positive(*values: float) -> bool:
    return all(isinstance(v, int | float) and math.isfinite(v) and v > 0 for v in values)


def smoke(name: str, capsys: pytest.CaptureFixture[str]) -> tuple[dict, str]:
    """Run `name`'s `main(["--smoke"])`; its figures and what it printed."""
    module: ModuleType = importlib.import_module(name)  # tests/bench is on sys.path (rootdir)
    figures = module.main(["--smoke"])
    return figures, capsys.readouterr().out


def check_engine(f: dict, out: str) -> None:
    assert positive(f["engine_events_per_s"], f["ceiling_events_per_s"], f["idle_guild_bytes"])
    assert f["events"] == 20_000 and f["acted"] > 0
    assert f["ratio"] == f["engine_events_per_s"] / f["ceiling_events_per_s"]
    assert "ceiling :" in out and "ratio   :" in out


def check_actions(f: dict, out: str) -> None:
    assert positive(f["modifier_rounds_per_s"], f["direct_rounds_per_s"], f["ratio"])
    assert f["ratio"] == pytest.approx(f["direct_rounds_per_s"] / f["modifier_rounds_per_s"])
    assert math.isfinite(f["overhead_us_per_action"])  # a difference of two timings: any sign
    assert "direct go_activate() loop:" in out


def check_runtime(f: dict, out: str) -> None:
    assert positive(f["synthetic_events_per_s"])
    for part in ("sharded", "ceiling", "dedicated"):
        report = f[part]
        assert report["events_processed"] > 0 and positive(report["events_per_s"]), part
        assert report["events_dropped"] == 0, part
        assert 0 < report["latency_ms"]["p50"] <= report["latency_ms"]["p99"], part
    for part in ("sharded", "ceiling"):  # one ramp step each; whether it counted as sustained
        (step,) = f[part]["ramp"]["steps"]  # depends on the machine's load, not on the code
        assert f[part]["ramp"]["sustained_events_per_s"] in (0.0, step["events_per_s"])
    assert f["dedicated"]["hosts"] == 1  # the one guild's own
    assert positive(f["dedicated_rss_bytes_per_guild"])
    ceiling = f["ceiling"]["ramp"]["sustained_events_per_s"]
    assert f["ratio"] == f["sharded"]["ramp"]["sustained_events_per_s"] / max(ceiling, 1)
    assert "ceiling  :" in out and "ratio    :" in out


def check_scaleout(f: dict, out: str) -> None:
    (run,) = f["runs"]
    assert run["partitions"] == 1024 // 3 and run["guilds_moved"] > 0
    assert 0 < run["took_s"]["held"] <= run["took_s"]["routed"]
    assert run["lost_or_twice"] == 0 and run["dropped"] == {}  # what the benchmark also claims
    assert positive(f["move_s"], f["held_s"], f["ceiling_s"])
    assert f["ratio"] == f["ceiling_s"] / f["move_s"]
    assert "ceiling  :" in out


def check_discord_ingest(f: dict, out: str) -> None:
    assert set(f["rates"]) == {"bare", "fast", "slow"}
    for rates in f["rates"].values():
        assert len(rates) == 1 and positive(*rates)
    assert f["median_events_per_s"] == f["medians"]["bare"]
    assert f["fast_ratio"] == f["rates"]["fast"][0] / f["rates"]["bare"][0]
    assert positive(f["slow_ratio"])
    assert "bare discord.py on_message counter" in out and "ratio fast/bare" in out


def check_discord_runtime(f: dict, out: str) -> None:
    assert len(f["bare"]) == len(f["runtime"]) == 1
    assert positive(*f["bare"], *f["runtime"], f["ratio"])
    assert f["ratio"] == f["runtime_median"] / f["bare_median"]
    assert "ratio runtime/bare" in out


def check_overload(f: dict, out: str) -> None:
    assert positive(f["sustained"]["events_per_s"])
    assert [row["factor"] for row in f["overload"]] == [2, 5]
    for row in f["overload"]:
        assert positive(row["offered_per_s"], row["events_per_s"], row["p99_ms"])
        assert row["applied_ratio"] == row["events_per_s"] / f["sustained"]["events_per_s"]
        assert positive(*row["rss_gateway_bytes"], *row["rss_hosts_bytes"])
        shed = {k.split(":")[0]: n for k, n in row["dropped_by_type_reason"].items()
                if k.endswith(":overload")}  # fmt: skip
        assert row["shed_by_type"] == shed
    assert Path(f["plot"]).read_bytes()[:4] == b"\x89PNG"
    assert "sustained :" in out and "2× offered" in out and "5× offered" in out


def check_guilds(f: dict, out: str) -> None:
    small, large = f["runs"]
    assert small["guilds"] < large["guilds"]
    for r in f["runs"]:
        assert r["events_processed"] > 0 and positive(r["events_per_s"], r["latency_ms"]["p99"])
        assert r["guilds_held"] > 0 and r["rss_bytes_per_guild_held"] >= 0
    assert f["p99_ratio"][small["guilds"]] == 1.0
    assert "B per guild held" in out


def check_cold_resume(f: dict, out: str) -> None:
    assert positive(*f["kill_to_applied_s"], *f["kill_to_connected_s"], f["ratio"])
    assert f["ratio"] == f["median_kill_to_connected_s"] / f["median_kill_to_applied_s"]
    # what the benchmark also claims: none lost or applied twice, no identify; the control loses
    assert f["lost"] == f["doubled"] == f["identifies"] == [0] and f["resumes"] == [1]
    assert f["control_identifies"] == [1] and f["control_lost"][0] > 0
    assert "control (off)" in out


def check_gateways(f: dict, out: str) -> None:
    local, cluster = f["local"], f["cluster"]
    assert positive(local["1"], local["2"], local["1c"], local["2c"], cluster["2"])
    assert [r["gateways"] for r in f["runs"]["local"]["2"]] == [2]
    assert [r["gateways"] for r in f["runs"]["cluster"]["2"]] == [2]  # one per node
    assert f["ratio_local_2_over_1"] == local["2"] / local["1"]
    assert f["ratio_runtime_over_ceiling"]["2"] == local["2"] / local["2c"]
    assert "ceiling (counting hosts)" in out and "ratio    : 2 gateways / 1 here" in out


def check_discord_memory(f: dict, out: str) -> None:
    assert set(f) == {"chunked", "online only"}
    for part in f.values():
        (row,) = part["rows"]
        assert row["members"] == 300 and row["guilds"] == 2
        assert positive(part["fixed_bytes"], row["kept_bytes"], row["bytes_per_member"])
        assert part["bytes_per_member"] == row["bytes_per_member"]
    # a chunked guild keeps every member, the other only those online (a tenth): more per member
    assert f["chunked"]["bytes_per_member"] > f["online only"]["bytes_per_member"]
    assert "B per member" in out


CHECKS: dict[str, tuple[Callable[[dict, str], None], bool]] = {  # name → (check, needs Ray)
    "bench_engine": (check_engine, False),
    "bench_actions": (check_actions, False),
    "bench_runtime": (check_runtime, True),
    "bench_scaleout": (check_scaleout, True),
    "bench_gateways": (check_gateways, True),
    "bench_discord_ingest": (check_discord_ingest, False),
    "bench_discord_runtime": (check_discord_runtime, True),
    "bench_overload": (check_overload, True),
    "bench_guilds": (check_guilds, True),
    "bench_cold_resume": (check_cold_resume, True),
    "bench_discord_memory": (check_discord_memory, False),
}


def test_every_benchmark_has_a_smoke_check() -> None:
    assert {p.stem for p in BENCH.glob("bench_*.py")} == set(CHECKS)


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_the_benchmark_runs_in_smoke_mode(
    name: str, request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> None:
    check, needs_ray = CHECKS[name]
    if needs_ray:
        request.getfixturevalue("ray_session")
    figures, out = smoke(name, capsys)
    check(figures, out)
