"""Admission: which events a gateway refuses at its door when a host is behind (overload that
degrades gracefully), and the measure of each host's capacity that decides it.

Each event's arrival time is kept, and a batch says when its oldest event reached this gateway
(`Batch.sent_at`): latency counts from arrival, never from a schedule. Each host's capacity is
measured (events answered per second while it had work waiting, over `MEASURE_S`). While a host is
offered more than that (a host that merely paused, for a partition move or a starved core, is
not), its buffer refuses new events of a kind at the door once it holds more than that kind's
share of `max_wait_ms` of its work, or its oldest event has waited that long (`SHED_AFTER`:
presence after half, other messages after all of it, member joins after twice; a mention of the
bot never), each counted by type (`overload`). The host keeps applying at its capacity (its buffer
never runs dry, the batches in flight are never fewer), and what is admitted waits about
`max_wait_ms` plus the batches in flight ahead of it. `queue_max` bounds the events buffered in
all (memory): past it, a mention or a join evicts buffered presence updates, then plain messages
(`EVICTS`, `evict`); only what is left is refused, a mention last of all.

The rules and the measure only; `actors.routing.batching.GatewayCore` applies them.
"""

from __future__ import annotations

from actors.routing.buffer import HostBuffer
from engine import Event, MessageEvent, PresenceEvent

MEASURE_S = 0.5  # seconds over which a host's capacity is measured (admission)


# When a host is behind, what its buffer refuses at the door: an event of this kind is shed once
# the host's oldest buffered event has waited this multiple of `max_wait_ms`. Lowest value first:
# presence updates (the next one says it again), then messages that do not mention the bot, then
# member joins (a welcome is due once). A mention of the bot is absent: never shed for age.
SHED_AFTER: dict[str, float] = {"presence": 0.5, "message": 1.0, "member_join": 2.0, "other": 0.5}
# past `queue_max`, what an event may evict to make room (lowest value first); see `evict`
EVICTS: dict[str, tuple[str, ...]] = {
    "mention": ("presence", "message"),
    "member_join": ("presence", "message"),
    "message": ("presence",),
}


def measure(buf: HostBuffer, now: float, *, batch_max: int, max_wait_s: float) -> None:
    """Close `buf`'s measuring window (wall `now`, seconds): the events its host answered per
    second.

    Over a window its host had work waiting all through, that is its capacity (a running
    mean); otherwise a lower bound of it. The buffer may then hold `max_wait_s` of it (at least
    `batch_max` events)."""
    if buf.window:
        rate = buf.done_events / (now - buf.window)
        if buf.saturated and buf.done_events:  # down slowly: a stall is not a new capacity
            buf.rate = rate if rate > buf.rate else 0.8 * buf.rate + 0.2 * rate
        else:
            buf.rate = max(buf.rate, rate)
        if buf.rate:
            buf.limit = max(float(batch_max), buf.rate * max_wait_s)
        # overloaded: offered more than it can apply. A host that only paused (a partition
        # move, a collection, a starved core) is not: its buffer waits, nothing is shed
        buf.overloaded = bool(buf.rate) and buf.arrived / (now - buf.window) > 1.05 * buf.rate
    buf.window, buf.done_events, buf.saturated, buf.arrived = now, 0, True, 0


def evict(buf: HostBuffer, victim: str, want: int) -> int:
    """Remove up to `want` of `buf`'s oldest events of kind `victim` ("presence", or "message":
    one that does not mention the bot) with their transcript lines; how many were removed."""
    events, at, queued_at = buf.events, buf.at, buf.queued_at
    kept_events: list[Event] = []
    kept_at: list[float] = []
    kept_queued: list[float] = []
    gone: set[tuple[int, float, int]] = set()
    shed = 0
    for i, event in enumerate(events):
        if shed < want and (
            type(event) is PresenceEvent
            if victim == "presence"
            else type(event) is MessageEvent and not event.mentions_bot
        ):
            shed += 1
            if victim == "message":
                gone.add((event.guild_id, event.at, event.author_id))  # type: ignore[union-attr]
            continue
        kept_events.append(event)
        kept_at.append(at[i])
        kept_queued.append(queued_at[i])
    if shed:
        buf.gone += shed
        buf.events, buf.at, buf.queued_at = kept_events, kept_at, kept_queued
        if victim == "presence":
            buf.presence -= shed
        if gone and buf.lines:
            buf.lines = [ln for ln in buf.lines if (ln.guild_id, ln.at, ln.author_id) not in gone]
    return shed
