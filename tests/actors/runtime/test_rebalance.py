"""The scale-out plan: balanced, minimal, deterministic."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.routing.rebalance import apply_moves, plan_moves


def test_adding_a_third_host_moves_a_third_of_the_partitions() -> None:
    table = [f"h{p % 2}" for p in range(1024)]
    moves = plan_moves(table, ["h0", "h1", "h2"])
    after = Counter(apply_moves(table, moves))
    assert sorted(after.values()) == [341, 341, 342]
    assert len(moves) == 341  # only what the new host needs, nothing shuffled between old ones
    assert {new for _, new in moves.values()} == {"h2"}


@given(st.integers(1, 300), st.integers(1, 9), st.integers(1, 9))
def test_any_plan_is_balanced_and_moves_only_what_it_must(parts, before, after) -> None:
    table = [f"h{p % before}" for p in range(parts)]
    hosts = [f"h{i}" for i in range(after)]
    moves = plan_moves(table, hosts)
    new = apply_moves(table, moves)
    counts = Counter(new)
    assert set(counts) <= set(hosts)
    assert max(counts.values()) - min(counts.get(h, 0) for h in hosts) <= 1
    for partition, (old, target) in moves.items():
        assert table[partition] == old != target == new[partition]
    assert plan_moves(new, hosts) == {}  # balanced: nothing more to do


def test_no_hosts_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least one host"):
        plan_moves(["a"], [])
