"""The v1 baseline: a timer, a 10 % chance, a random pick."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from engine import V1Policy


def test_v1_acts_about_one_tick_in_ten_and_picks_at_random() -> None:
    policy = V1Policy(random.Random(1))
    decisions = [policy.decide(1, at=900.0 * i) for i in range(20_000)]
    acted = Counter(d.action for d in decisions if d.action)
    assert 0.09 < sum(acted.values()) / len(decisions) < 0.11
    assert set(acted) == {"break_silence", "engage_user", "share_tweet"}
    assert min(acted.values()) > 0.28 * sum(acted.values())
    assert policy.next_wake(100.0) == 1000.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"interval_s": 0}, "interval_s"), ({"chance": 1.5}, "chance"), ({"actions": ()}, "actions")],
)
def test_v1_validates(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        V1Policy(random.Random(), **kwargs)
