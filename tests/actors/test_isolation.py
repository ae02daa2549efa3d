"""One bad event or guild never costs the others (issue 15, item 7), without Ray.

The faults, found by a storm of mangled gateway payloads: one message whose text could not be
encoded (a lone surrogate), or with an id above 2**64, made the gateway drop the whole batch it was
in, every guild's events with it, and spend the batch's number without sending it; a batch the
host could not decode was refused whole; the drops were counted as "message host_unavailable"
whatever they were. Now the gateway admits only snowflake ids and valid text, leaves out of a
batch only what cannot be encoded (same number, no gap), and the host decodes event by event when
it must, counting each refusal by its own type and reason.
"""

from __future__ import annotations

import asyncio

import msgspec
import pytest

from actors.clock import ManualClock
from actors.loop.assembly import build_host_core
from actors.routing.batching import GatewayCore
from actors.routing.wire import Batch, Line, clean_text, decode_batch, encode_batch
from actors.stores.base import MemoryStore, StoreError
from actors.stores.writebehind import WriteBehind
from engine import MAX_ID, MemberJoinEvent, MessageEvent, PresenceEvent
from guildmind.config import parse_config
from metrics import GuildmindMetrics, new_registry

T0 = 1_700_000_000.0
A, B, C = 7001, 7002, 7003  # three guilds
BAD_IDS = [0, -1, MAX_ID + 1, 2**64 - 1, 2**64 + 1]
ENCODE = msgspec.msgpack.Encoder().encode


def metrics() -> GuildmindMetrics:
    return GuildmindMetrics(new_registry(process_metrics=False))


def dropped(m: GuildmindMetrics, type: str, reason: str) -> float:
    labels = {"type": type, "reason": reason}
    return m.registry.get_sample_value("guildmind_events_dropped_total", labels) or 0.0


def gateway(m: GuildmindMetrics | None = None) -> GatewayCore:
    return GatewayCore("gw", route=lambda g: "host-0", metrics=m or metrics(), flush_ms=0)


def line(guild: int, message_id: int, *, author: str = "ann", content: str = "hi") -> Line:
    return Line(guild, 77, message_id, 9, author, content, T0, False)


# the door -----------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", BAD_IDS)
def test_the_door_refuses_every_id_that_is_not_a_snowflake_counted_by_type(bad: int) -> None:
    m = metrics()
    core = gateway(m)
    refused = [
        (MessageEvent(bad, 77, 9, T0), None),
        (MessageEvent(A, bad, 9, T0), None),
        (MessageEvent(A, 77, bad, T0), None),
        (MessageEvent(A, 77, 9, T0), Line(A, 77, bad, 9, "ann", "hi", T0)),  # its message id
        (PresenceEvent(bad, 9, T0), None),
        (PresenceEvent(A, bad, T0, True, "Tetris"), None),
        (MemberJoinEvent(bad, 9, T0), None),
        (MemberJoinEvent(A, bad, T0), None),
    ]
    assert not any(core.offer(event, ln) for event, ln in refused)
    assert core.queued == 0
    assert dropped(m, "message", "invalid_id") == 4
    assert dropped(m, "presence", "invalid_id") == 2
    assert dropped(m, "member_join", "invalid_id") == 2
    # the neighbours: the smallest and the largest snowflakes go through
    assert core.offer(MessageEvent(1, 1, 1, T0), line(1, 1))
    assert core.offer(MessageEvent(MAX_ID, MAX_ID, MAX_ID, T0), line(MAX_ID, MAX_ID))
    (_, batch), = core.due_batches(T0, all_now=True)  # fmt: skip
    assert len(decode_batch(core.encode(batch))[0].events) == 2


def test_the_door_refuses_what_is_no_event_and_text_that_is_no_string() -> None:
    m = metrics()
    core = gateway(m)
    assert not core.offer(PresenceEvent(A, 9, T0, True, 42))  # type: ignore[arg-type]
    assert not core.offer(MessageEvent(A, 77, 9, T0), Line(A, 77, 5, 9, "ann", b"hi", T0))  # type: ignore[arg-type]
    assert not core.offer("MESSAGE_CREATE")  # type: ignore[arg-type]
    # fields of the wrong type, as discord.py keeps a mangled payload's ("bot": "x")
    assert not core.offer(MessageEvent(A, 77, 9, T0, "x"))  # type: ignore[arg-type]
    assert not core.offer(MessageEvent(A, 77, 9, T0, False, 1))  # type: ignore[arg-type]
    assert not core.offer(MessageEvent(A, 77, 9, "now"))  # type: ignore[arg-type]
    assert not core.offer(PresenceEvent(A, 9, T0, "online"))  # type: ignore[arg-type]
    assert not core.offer(MemberJoinEvent(A, 9, None))  # type: ignore[arg-type]
    assert dropped(m, "presence", "malformed") == 2
    assert dropped(m, "message", "malformed") == 4
    assert dropped(m, "member_join", "malformed") == 1
    assert dropped(m, "other", "malformed") == 1
    assert core.queued == 0
    assert core.offer(MessageEvent(A, 77, 9, 1_700_000_000))  # an int time is a time


@pytest.mark.parametrize(
    ("text", "repaired"),
    [
        ("\ud800", "\ufffd"),  # a lone high surrogate
        ("\udfff", "\ufffd"),  # a lone low one
        ("a\ud800b\udc00", "a\ufffdb\ufffd"),  # two, apart
        ("\udc00\ud800", "\ufffd\ufffd"),  # a pair the wrong way round
        ("\ud83d\ude00", "😀"),  # a pair split over two code points: its character again
        ("héllo ミク 😀", "héllo ミク 😀"),  # valid text is left as it is
        ("", ""),
    ],
)
def test_text_that_is_not_valid_unicode_is_repaired_at_the_door(text: str, repaired: str) -> None:
    assert clean_text(text) == repaired
    m = metrics()
    core = gateway(m)
    assert core.offer(MessageEvent(A, 77, 9, T0), line(A, 5, author=text, content=text))
    assert core.offer(PresenceEvent(A, 9, T0, True, "Tetris" + text))
    (_, batch), = core.due_batches(T0, all_now=True)  # fmt: skip
    decoded, bad = decode_batch(core.encode(batch))
    assert bad == [] and len(decoded.events) == 2
    assert (decoded.lines[0].author, decoded.lines[0].content) == (repaired, repaired)
    assert decoded.events[1].activity == "Tetris" + repaired
    assert not m.registry.get_sample_value("guildmind_events_dropped_total", {"type": "message",
                                           "reason": "unencodable"})  # fmt: skip


def test_valid_text_is_not_copied() -> None:
    text = "héllo ミク 😀"
    assert clean_text(text) is text
    core = gateway()
    ln = line(A, 5, content=text)
    core.offer(MessageEvent(A, 77, 9, T0), ln)
    (_, batch), = core.due_batches(T0, all_now=True)  # fmt: skip
    assert batch.lines[0] is ln


# encoding: a batch loses only what cannot be encoded, and keeps its number ----------------------


def test_a_batch_that_cannot_be_encoded_loses_only_its_bad_events_and_keeps_its_number() -> None:
    m = metrics()
    core = gateway(m)
    good = [
        MessageEvent(A, 77, 9, T0),
        PresenceEvent(B, 9, T0),
        MessageEvent(C, 77, 9, T0, False, True),
    ]
    # what no source should hand over, past the door (as `counted=True` re-offers are)
    bad = [MessageEvent(A, 77, 2**64 + 1, T0), PresenceEvent(B, 9, T0, True, "x\ud800")]
    for event in (good[0], bad[0], good[1], bad[1], good[2]):
        core.offer(event, counted=True)
    core.offer(MessageEvent(C, 77, 9, T0, False, True), line(C, 6, content="\ud800"), counted=True)
    (_, first), = core.due_batches(T0, all_now=True)  # fmt: skip
    decoded, undecodable = decode_batch(core.encode(first))
    assert undecodable == []
    assert decoded.seq == first.seq == 0 and decoded.floor == first.floor
    assert decoded.events == [*good, MessageEvent(C, 77, 9, T0, False, True)]
    assert decoded.lines == []  # the line that could not be encoded went; its event did not
    assert dropped(m, "message", "unencodable") == 1
    assert dropped(m, "presence", "unencodable") == 1
    # the next batch on the link is number 1: no number was spent without a batch
    core.done("host-0", 0)
    core.offer(MessageEvent(A, 77, 9, T0 + 1))
    (_, second), = core.due_batches(T0, all_now=True)  # fmt: skip
    assert second.seq == 1


def test_a_batch_none_of_whose_events_can_be_encoded_still_goes_empty() -> None:
    batch = Batch(
        "gw", 4, 3, T0, [MessageEvent(A, 77, 2**64 + 1, T0)], [line(A, 1, content="\ud800")]
    )
    data, left_out = encode_batch(batch, ENCODE)
    assert left_out == batch.events
    sent, _ = decode_batch(data)
    assert (sent.gateway, sent.seq, sent.floor, sent.events, sent.lines) == ("gw", 4, 3, [], [])


def test_a_good_batch_is_encoded_once() -> None:
    calls = []

    def encode(obj):
        calls.append(type(obj).__name__)
        return ENCODE(obj)

    batch = Batch("gw", 0, 0, T0, [MessageEvent(A, 77, 9, T0)], [line(A, 1)])
    assert encode_batch(batch, encode) == (ENCODE(batch), [])
    assert calls == ["Batch"]


def test_a_lost_batch_is_counted_by_the_types_of_its_events() -> None:
    m = metrics()
    core = gateway(m)
    core.drop([MessageEvent(A, 77, 9, T0), PresenceEvent(A, 9, T0), PresenceEvent(B, 9, T0)],
              "host_unavailable")  # fmt: skip
    assert dropped(m, "message", "host_unavailable") == 1
    assert dropped(m, "presence", "host_unavailable") == 2


# decoding: the host skips only what it cannot decode ------------------------------------------


class _Loose(msgspec.Struct, array_like=True):  # a batch as a gateway that skipped the door sends
    gateway: str
    seq: int
    floor: int
    sent_at: float
    events: list
    lines: list = []
    epoch: int = 0


def loose(seq: int, events: list, lines: list = ()) -> bytes:
    return ENCODE(_Loose("gw", seq, 0, T0, list(events), list(lines)))


def event(tag: str, *fields) -> list:
    return [tag, *fields]


@pytest.mark.parametrize("bad_id", [0, -1, MAX_ID + 1, 2**64 - 1])
def test_a_batch_with_an_event_the_host_cannot_decode_applies_all_the_others(bad_id: int) -> None:
    events = [
        event("message", A, 77, 9, T0, False, False),
        event("message", bad_id, 77, 9, T0, False, False),  # a guild no store could keep
        event("presence", B, bad_id, T0, True, None),
        event("member_join", C, 9, T0),
        event("message", A, 77, 9, "not a time", False, False),  # a wrong type
        event("no_such_event", A, 9, T0),
        "not even a list",
    ]
    lines = [[A, 77, 5, 9, "ann", "hi", T0, False], [A, 77, bad_id, 9, "ann", "x", T0, False]]
    batch, bad = decode_batch(loose(3, events, lines))
    assert (batch.gateway, batch.seq) == ("gw", 3)
    assert batch.events == [MessageEvent(A, 77, 9, T0), MemberJoinEvent(C, 9, T0)]
    assert [ln.message_id for ln in batch.lines] == [5]
    assert bad == ["message", "presence", "message", "other", "other"]


def test_a_batch_whose_own_fields_cannot_be_read_is_refused() -> None:
    with pytest.raises(msgspec.DecodeError):
        decode_batch(b"\x01garbage")
    with pytest.raises(msgspec.ValidationError):
        decode_batch(ENCODE(["gw", "not a number", 0, T0, []]))


class Host:
    def __init__(self) -> None:
        toml = "[defaults]\nquiet_hours = false\n"
        self.store = MemoryStore()
        self.metrics = metrics()
        self.core = build_host_core(
            "host-0", parse_config(toml, env={}), store=self.store, clock=ManualClock(T0),
            started_at=T0, send=self._send, metrics=self.metrics, seed=1,
        )  # fmt: skip

    async def _send(self, gateway, messages) -> None:
        pass


async def test_the_host_applies_the_good_events_of_a_batch_and_counts_the_bad_by_type() -> None:
    host = Host()
    events = [
        event("message", A, 77, 9, T0 + 1, False, False),
        event("message", 2**63 + 5, 77, 9, T0 + 1, False, False),
        event("presence", B, 0, T0 + 1, True, None),
        event("member_join", C, 9, T0 + 1),
    ]
    reply = await host.core.apply_encoded(loose(0, events))
    assert (reply.applied, reply.malformed, reply.duplicate) == (2, 2, False)
    assert sorted(host.core.engine.guild_ids()) == [A, C]
    assert dropped(host.metrics, "message", "malformed") == 1
    assert dropped(host.metrics, "presence", "malformed") == 1
    # the link goes on at once: the next number applies, nothing waits
    reply = await host.core.apply_encoded(
        loose(1, [event("message", B, 77, 9, T0 + 2, False, False)])
    )
    assert reply.applied == 1 and host.core.sequencer.waiting() == 0
    # a repeat is neither applied nor counted again
    assert (await host.core.apply_encoded(loose(0, events))).duplicate
    assert dropped(host.metrics, "message", "malformed") == 1
    # and every guild the host holds can be saved
    await host.core.flush(force=True)
    assert sorted(host.store.guild_ids()) == [A, B, C]
    assert host.core.write_behind.pending == 0


# saving: a guild the store refuses never blocks the others saved with it ----------------------


class CountingStore(MemoryStore):
    """A memory store that counts its saves and fails (as a store does) from call `fail_from`."""

    def __init__(self, fail_from: int | None = None) -> None:
        super().__init__()
        self.calls, self.fail_from = 0, fail_from

    def save(self, items) -> None:
        self.calls += 1
        if self.fail_from is not None and self.calls >= self.fail_from:
            raise StoreError("memory: the store is down")
        super().save(items)


def snapshot(gid: int) -> bytes:
    return b"state of %d" % gid


@pytest.mark.parametrize("bad", [0, -1, MAX_ID + 1, 2**64 + 1])
def test_a_guild_the_store_refuses_never_blocks_the_others_saved_with_it(bad: int) -> None:
    """The fault: one guild with an id the store refuses failed every write-behind save that
    included it, for good, for every guild saved with it."""
    wb, store = WriteBehind(1.0), CountingStore()
    for gid in (A, bad, B, C):
        wb.mark_dirty(gid)
    result = wb.flush(store, snapshot)
    assert sorted(store.guild_ids()) == [A, B, C]
    assert (result.saved, result.failed, result.error) == (3, 1, None)
    assert wb.pending == 0  # refused for good: not retried at every flush
    # the others go on being saved as usual; the bad one is refused again, logged once
    wb.mark_dirty(A)
    wb.mark_dirty(bad)
    assert wb.flush(store, snapshot)[:2] == (1, 1)
    assert wb.refused == {bad}


def test_when_the_store_itself_fails_every_guild_stays_dirty_at_the_cost_of_one_more_call() -> None:
    wb, store = WriteBehind(1.0), CountingStore(fail_from=1)
    for gid in (A, B, C):
        wb.mark_dirty(gid)
    result = wb.flush(store, snapshot)
    assert (result.saved, result.failed) == (0, 3) and "down" in result.error
    assert store.calls == 2  # the batch, then the first guild alone: the store is down
    assert wb.pending == 3 and wb.refused == set()


def test_a_store_that_fails_half_way_keeps_what_it_wrote_and_the_rest_dirty() -> None:
    wb, store = WriteBehind(1.0), CountingStore(fail_from=3)  # the batch, one alone, then down
    for gid in (A, 0, B, C):  # the 0 makes the batch fail
        wb.mark_dirty(gid)
    result = wb.flush(store, snapshot)
    assert result.error is not None and "down" in result.error
    written = set(store.guild_ids())
    assert result.saved == len(written) <= 1
    dirty = {gid for gid in (A, 0, B, C) if wb.is_dirty(gid)}
    assert written | dirty | wb.refused == {A, 0, B, C}  # written, refused or dirty: none lost
    assert len(dirty) >= 2


def test_a_group_commit_records_every_guild_but_the_one_the_store_refuses() -> None:
    """The bot's actions in several guilds are written through together before their messages
    go; one guild the store refused made none of them go."""
    wb, store = WriteBehind(1.0), MemoryStore()
    refused = wb.save_through(store, {A: b"a", MAX_ID + 1: b"x", B: b"b"})
    assert refused == {MAX_ID + 1}
    assert store.load([A, B]) == {A: b"a", B: b"b"}
    with pytest.raises(ValueError, match="the store refuses guild 0's snapshot"):
        wb.save_now(store, 0, b"x")  # alone: the caller must not send
    with pytest.raises(StoreError):  # the store itself failing is raised, as before
        wb.save_through(CountingStore(fail_from=1), {A: b"a", B: b"b"})


class PickyStore(MemoryStore):
    """A store that can never take guild B (as one refuses an id it cannot key)."""

    def save(self, items) -> None:
        if B in items:
            raise ValueError(f"guild ids must be snowflakes, got {B!r} (as if)")
        super().save(items)


async def test_the_bot_answers_in_every_guild_but_one_whose_action_the_store_refuses() -> None:
    """Rounds that end together are recorded in one group commit before their messages go; a
    guild the store refused made none of them go."""
    toml = f"[defaults]\nquiet_hours = false\n[guilds.{A}]\nchannels = [77]\n[guilds.{B}]\n"
    toml += "channels = [77]\n"
    sent: list = []

    async def send(gateway, messages) -> None:
        sent.extend(messages)

    m = metrics()
    store = PickyStore()
    clock = ManualClock(T0 + 600)
    core = build_host_core(
        "host-0", parse_config(toml, env={}), store=store, clock=clock, started_at=T0,
        send=send, metrics=m, seed=1,
    )  # fmt: skip
    mentions = [MessageEvent(gid, 77, 9, T0 + 600, False, True) for gid in (A, B)]
    lines = [Line(gid, 77, 500 + i, 9, "ann", "@Miku hi", T0 + 600, True) for i, gid in
             enumerate((A, B))]  # fmt: skip
    await core.apply(Batch("gw", 0, 0, T0, mentions, lines))
    while core.tasks:
        await asyncio.gather(*list(core.tasks))
    assert [msg.guild_id for msg in sent] == [A]
    assert m.registry.get_sample_value("guildmind_rounds_total", {"outcome": "failed"}) == 1
    assert m.registry.get_sample_value("guildmind_rounds_total", {"outcome": "sent"}) == 1
    assert store.load([A]) and not store.load([B])
