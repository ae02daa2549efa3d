"""A gateway's barriers: waiting until the events it was offered so far have been applied.

Each waits over a `GatewayCore` (`actors.routing.batching`), cutting what is buffered into
batches through `flush` (the gateway sends them) and polling until the batches below a mark have
landed or a deadline passed. Plain asyncio, no Ray: the `Gateway` actor calls them for a
partition move (`until_landed`), a member's erasure (`drained`) and a discord shard's saved
sequence number (`settled`). Deadlines are `time.monotonic()` seconds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from actors.routing.batching import GatewayCore

POLL_S = 0.005  # seconds between two looks at the batches in flight


async def until_landed(
    core: GatewayCore, flush: Callable[[], None], waiting: Callable[[], set[str]], deadline: float
) -> bool:
    """Until nothing `waiting()` names is buffered and every batch cut for those hosts before has
    landed; False when `deadline` passed first."""
    marks: dict[str, int] = {}
    while time.monotonic() < deadline:
        hosts = waiting()
        flush()
        for host in hosts:
            marks[host] = core.next_seq(host)  # everything before this seq must land
        if not hosts and all(core.landed(h, seq) for h, seq in marks.items()):
            return True
        await asyncio.sleep(POLL_S)
    return False


async def drained(
    core: GatewayCore, flush: Callable[[], None], hosts: list[str], deadline: float
) -> bool:
    """Until every event received so far for `hosts` has been applied there; False when
    `deadline` passed before every earlier batch landed."""
    while True:
        flush()
        # (what is left waits for a batch in flight to land; new events may join it)
        if not any(core.has(h) for h in hosts) or time.monotonic() > deadline:
            break
        await asyncio.sleep(POLL_S)
    marks = {h: core.next_seq(h) for h in hosts}
    while not all(core.landed(h, seq) for h, seq in marks.items()):
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(POLL_S)
    return True


async def settled(
    core: GatewayCore, flush: Callable[[], None], stopped: Callable[[], bool], timeout_s: float
) -> bool:
    """Until every event offered before this call was applied by its host (or dropped and
    counted); False when that took longer than `timeout_s` seconds, or events wait parked (a
    placement, a partition move). While `stopped()` (no batching loop any more), this cuts the
    batches itself through `flush`."""
    marks = core.marks()
    if marks is None:
        return False
    deadline = time.monotonic() + timeout_s
    seqs: dict[str, int] = {}
    while True:
        if stopped():  # the batching loop is gone: cut the batches here
            flush()
        for host, mark in list(marks.items()):
            if core.cut_past(host, mark):
                seqs[host] = core.next_seq(host)  # all of them are in batches below
                del marks[host]
        if not marks and all(core.landed(h, seq) for h, seq in seqs.items()):
            return True
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(POLL_S)
