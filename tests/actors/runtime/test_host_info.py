"""The host `info()` contract (`actors.remote.host.HostInfo`): what the runtime reads, checked."""

from __future__ import annotations

import pytest

from actors.remote.host import HostInfo, check_host_info

FULL = HostInfo(name="h", pid=1, node="n", metrics="127.0.0.1:1", guilds=0, loaded=0, rounds=0,
                rss=0)  # fmt: skip


def test_a_full_answer_passes() -> None:
    assert check_host_info(dict(FULL)) == FULL


def test_a_host_class_that_leaves_a_field_out_is_named_with_the_missing_fields() -> None:
    """The benchmarks' counting host once answered without `node`: the runtime failed with a
    bare KeyError deep in its placement check. Now the answer is checked where it arrives."""
    partial = {k: v for k, v in FULL.items() if k not in ("node", "loaded")}
    missing = r"host 'h' answered info\(\) without loaded, node; a host class must answer with"
    with pytest.raises(TypeError, match=missing + r" actors\.remote\.host\.host_info\(\)\."):
        check_host_info(partial)
