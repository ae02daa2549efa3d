"""The gateway's barrier for cold resume (`GatewayCore.marks` / `cut_past`), without Ray.

A shard's sequence number is stored only once every event offered up to it left its host's
buffer in a batch (or was shed) and those batches landed; the marks must not be passed early
(a batch still to cut, in-flight limits) nor wait forever after events were shed.
"""

from __future__ import annotations

from actors.routing.batching import PARKED, GatewayCore
from engine import MessageEvent, PresenceEvent
from metrics import GuildmindMetrics, new_registry

T0 = 1_700_000_000.0


def gateway(route=lambda g: "host-0", **kw) -> GatewayCore:
    m = GuildmindMetrics(new_registry(process_metrics=False))
    return GatewayCore("gw", route=route, metrics=m, flush_ms=0, **kw)


def test_a_mark_is_passed_only_once_every_event_before_it_is_in_a_batch_that_landed() -> None:
    gw = gateway(batch_max=2, max_in_flight=1)
    assert gw.marks() == {}  # nothing offered: nothing to wait for
    for i in range(5):
        gw.offer(MessageEvent(1000 + i, 7, 9, T0))
    marks = gw.marks()
    assert marks == {"host-0": 5}
    gw.offer(MessageEvent(2000, 7, 9, T0))  # after the barrier: not waited for
    seen = []
    while not gw.cut_past("host-0", marks["host-0"]):
        (batch,) = [b for _, b in gw.due_batches(T0 + 1)]  # one in flight at a time
        seen.append(batch.seq)
        assert not gw.landed("host-0", gw.next_seq("host-0"))  # in flight: not yet
        gw.done("host-0", batch.seq)
    assert seen == [0, 1, 2] and gw.landed("host-0", gw.next_seq("host-0"))


def test_shed_events_count_as_gone_so_a_barrier_under_overload_is_passed() -> None:
    gw = gateway(batch_max=100, queue_max=100, max_wait_ms=1e9)
    for i in range(60):
        gw.offer(PresenceEvent(1000 + i, 9, T0, True, None))
    for i in range(40):
        gw.offer(MessageEvent(1000 + i, 7, 9, T0))
    marks = gw.marks()
    assert marks == {"host-0": 100}
    gw.offer(MessageEvent(5000, 7, 9, T0))  # the queue is full: presence updates are shed
    assert sum(gw.dropped.values()) > 0
    for _, batch in gw.due_batches(T0 + 1, all_now=True):
        gw.done("host-0", batch.seq)
    assert gw.cut_past("host-0", marks["host-0"])


def test_no_barrier_while_events_wait_parked() -> None:
    gw = gateway(route=lambda g: PARKED + "pending")
    gw.offer(MessageEvent(1000, 7, 9, T0))
    assert gw.marks() is None  # a placement or a partition move: the store keeps the older one
