"""The guild host's logic without Ray: ordering, rounds, replies, timers, persistence."""

from __future__ import annotations

import asyncio
import itertools

import msgspec
import pytest

from actions import OutgoingMessage
from actors.clock import ManualClock
from actors.loop.assembly import build_host_core
from actors.routing.wire import Batch, Line
from actors.stores.base import MemoryStore
from engine import MessageEvent, PresenceEvent
from guildmind.config import parse_config
from metrics import GuildmindMetrics, new_registry

T0 = 1_700_000_000.0
G = 5001


class Harness:
    def __init__(self, *, toml: str = "", store=None) -> None:
        self.config = parse_config(toml, env={})
        self.clock = ManualClock(T0)
        self.store = store or MemoryStore()
        self.sent: list[tuple[str, OutgoingMessage, bool]] = []
        self.metrics = GuildmindMetrics(new_registry(process_metrics=False))
        self.core = build_host_core(
            "host-0", self.config, store=self.store, clock=self.clock, started_at=T0,
            send=self._send, metrics=self.metrics, seed=1,
        )  # fmt: skip
        self.seq = 0

    async def _send(self, gateway: str, messages: list[OutgoingMessage]) -> None:
        for m in messages:
            # was the action persisted before this message went out?
            stored = self.store.load([m.guild_id]).get(m.guild_id)
            persisted = stored == self.core.engine.snapshot(m.guild_id)
            self.sent.append((gateway, m, persisted))

    def batch(self, events, lines=(), *, seq=None, gateway="gw-0") -> Batch:
        if seq is None:
            seq, self.seq = self.seq, self.seq + 1
        return Batch(gateway, seq, 0, T0, list(events), list(lines))

    async def settle(self) -> None:
        while self.core.tasks:
            await asyncio.gather(*list(self.core.tasks))

    def timer_checks(self) -> float:
        """Decisions taken on a timer (to act or to stay quiet), from the exported counter."""
        return sum(
            s.value
            for family in self.metrics.decisions_total.collect()
            for s in family.samples
            if s.name.endswith("_total") and s.labels["trigger"] == "timer"
        )

    def value(self, name: str, **labels) -> float:
        return self.metrics.registry.get_sample_value(name, labels) or 0.0


TOML = f"""
[defaults]
quiet_hours = false
[guilds.{G}]
mood = "bubbly"
channels = [77]
"""


def busy(n: int, start: float, *, guild: int = G, every: float = 2.0) -> list[MessageEvent]:
    return [MessageEvent(guild, 77, 100 + i % 3, start + i * every) for i in range(n)]


async def test_a_busy_bubbly_conversation_gets_joined_and_recorded_before_sending() -> None:
    h = Harness(toml=TOML)
    h.clock.set(T0 + 600)
    await h.core.apply(h.batch(busy(15, T0 + 570)))
    await h.settle()
    assert len(h.sent) == 1
    gateway, message, persisted = h.sent[0]
    assert (gateway, message.guild_id, message.channel_id) == ("gw-0", G, 77)
    assert message.action == "join_conversation" and message.text
    assert persisted  # the action was in the store before the message went out
    assert h.core.engine.state(G).last_action == "join_conversation"
    assert h.value("guildmind_rounds_total", outcome="sent") == 1
    labels = {"action": "join_conversation", "mood": "bubbly", "trigger": "message"}
    assert h.value("guildmind_decisions_total", **labels) == 1
    quiet = {"action": "none", "mood": "bubbly", "trigger": "message"}
    assert h.value("guildmind_decisions_total", **quiet) >= 4  # every check counts, quiet too


async def test_batches_apply_in_order_and_repeats_are_ignored() -> None:
    h = Harness(toml=TOML)
    first = h.batch([MessageEvent(G, 77, 1, T0 + 10)])
    second = h.batch([MessageEvent(G, 77, 1, T0 + 20), MessageEvent(G, 77, 1, T0 + 21)])
    early = asyncio.ensure_future(h.core.apply(second))  # early: held until the first arrives
    await asyncio.sleep(0)
    assert not early.done() and h.core.engine.state(G) is None  # nothing of it applied yet
    assert (await h.core.apply(first)).applied == 1  # each answer counts its own batch
    assert (await early).applied == 2  # answered once applied, not before
    assert (await h.core.apply(first)).duplicate  # Ray delivered it twice
    assert h.core.engine.state(G).messages_since_appearance == 3


async def test_a_batch_waiting_for_an_earlier_one_is_lost_by_nobody_if_the_host_dies() -> None:
    """The fault: an early batch was answered "0 applied" and kept in memory only; the gateway
    took it as done, so when the host died before the gap filled its events were gone. Now it is
    answered only once applied: while it waits it stays in flight at the gateway, and its retry
    to the host's next incarnation (a new HostCore on the same store) applies it."""
    h = Harness(toml=TOML)
    b0 = h.batch([MessageEvent(G, 77, 1, T0 + 10)])
    b1 = h.batch([MessageEvent(G, 77, 1, T0 + 20)], seq=1)
    early = asyncio.ensure_future(h.core.apply(b1))
    await asyncio.sleep(0)
    assert not early.done()  # not acknowledged: the gateway keeps it in flight
    early.cancel()  # the host dies
    again = Harness(toml=TOML, store=h.store)  # its next incarnation; Ray retries both calls
    retried = asyncio.ensure_future(again.core.apply(b1))
    assert (await again.core.apply(b0)).applied == 1
    assert (await retried).applied == 1
    assert again.core.engine.state(G).messages_since_appearance == 2


async def test_a_restarted_gateway_numbering_from_zero_is_not_taken_for_repeats() -> None:
    """A gateway Ray restarts numbers its batches from 0 again; its new epoch keeps the host
    from dropping them as repeats of the 1,000 its previous incarnation sent."""
    for sent_before in (0, 100, 10_000):
        h = Harness(toml=TOML)
        for seq in range(min(sent_before, 200)):
            await h.core.apply(Batch("gw-0", seq, seq, T0, [], [], 1))
        if sent_before > 200:  # the old incarnation's numbers, far along
            await h.core.apply(Batch("gw-0", sent_before, sent_before, T0, [], [], 1))
        reply = await h.core.apply(Batch("gw-0", 0, 0, T0, [MessageEvent(G, 77, 1, T0 + 5)], [], 2))
        assert (reply.applied, reply.duplicate) == (1, False), sent_before
        # and the same numbers again in the same new epoch are repeats
        again = await h.core.apply(Batch("gw-0", 0, 0, T0, [MessageEvent(G, 77, 1, T0 + 5)], [], 2))
        assert again.duplicate


async def test_a_batch_the_gateway_gave_up_on_does_not_hold_the_link() -> None:
    """The gateway could not deliver batch 1 (counted as dropped there): the floor of its next
    batch says nothing below 2 is in flight, so the host goes on at once."""
    h = Harness(toml=TOML)
    await h.core.apply(Batch("gw-0", 0, 0, T0, [MessageEvent(G, 77, 1, T0 + 1)], []))
    reply = await h.core.apply(Batch("gw-0", 2, 2, T0, [MessageEvent(G, 77, 1, T0 + 3)], []))
    assert reply.applied == 1 and h.core.engine.state(G).messages_since_appearance == 2


async def test_a_mention_gets_a_reply_to_that_message() -> None:
    h = Harness(toml=TOML)
    h.clock.set(T0 + 300)
    ev = MessageEvent(G, 77, 9, T0 + 299, False, True)
    line = Line(G, 77, 4242, 9, "ann", "hey Miku, how are you?", T0 + 299, True)
    await h.core.apply(h.batch([ev], [line]))
    await h.settle()
    [(_, message, _)] = h.sent
    assert (message.action, message.reply_to) == ("reply", 4242)


@pytest.mark.parametrize("after", [0, 1, 3])
async def test_a_reply_answers_the_message_that_addressed_the_bot_not_a_later_one(
    after: int,
) -> None:
    """Issue: the reply answered the newest message of the chat, so when others spoke between a
    mention and its round (a busy chat, a replayed burst) it replied to someone who had not
    asked. `after` = 0 is the control: there the newest message is the mention itself."""
    h = Harness(toml=TOML)
    h.clock.set(T0 + 300)
    ev, line = mention(201, 9001, T0 + 290)
    chatter = [
        (MessageEvent(G, 77, 300 + i, T0 + 291 + i), Line(G, 77, 9100 + i, 300 + i, f"u{i}",
                                                          "lol", T0 + 291 + i))
        for i in range(after)
    ]  # fmt: skip
    await h.core.apply(h.batch([ev, *(e for e, _ in chatter)], [line, *(ln for _, ln in chatter)]))
    await h.settle()
    [(_, message, _)] = h.sent
    assert (message.action, message.reply_to) == ("reply", 9001)


class HeldLLM:
    """An LLM that writes only when released: a round stays "generating" as long as a test needs."""

    def __init__(self) -> None:
        self.writing, self.release = asyncio.Event(), asyncio.Event()
        self.calls = 0

    async def complete(self, prompt: str, *, system: str | None = None, purpose: str = "content"):
        self.calls += 1
        self.writing.set()
        await self.release.wait()
        return f"answer {self.calls}"


def mention(author: int, message_id: int, at: float) -> tuple[MessageEvent, Line]:
    ev = MessageEvent(G, 77, author, at, False, True)
    return ev, Line(G, 77, message_id, author, f"user{author}", "@Miku hey", at, True)


async def test_a_mention_while_a_round_is_generating_is_answered_after_it() -> None:
    """Issue: the second person's mention was dropped as "busy" and one message went out."""
    h = Harness(toml=TOML)
    llm = h.core.runner.writer.llm = HeldLLM()
    h.clock.set(T0 + 300)
    ev1, line1 = mention(201, 9001, T0 + 290)
    await h.core.apply(h.batch([ev1], [line1]))
    await asyncio.wait_for(llm.writing.wait(), 5)  # the first reply is being written
    ev2, line2 = mention(202, 9002, T0 + 295)
    await h.core.apply(h.batch([ev2], [line2]))
    llm.release.set()
    await h.settle()
    sent = [(m.action, m.reply_to, m.text) for _, m, _ in h.sent]
    assert sent == [("reply", 9001, "answer 1"), ("reply", 9002, "answer 2")]
    assert h.core.last_decision[G].reason == "the bot was addressed"


async def test_mentions_that_pile_up_during_one_round_get_one_answer_saying_so() -> None:
    h = Harness(toml=TOML)
    llm = h.core.runner.writer.llm = HeldLLM()
    h.clock.set(T0 + 300)
    ev1, line1 = mention(201, 9001, T0 + 290)
    await h.core.apply(h.batch([ev1], [line1]))
    await asyncio.wait_for(llm.writing.wait(), 5)
    (ev2, line2), (ev3, line3) = mention(202, 9002, T0 + 293), mention(203, 9003, T0 + 295)
    await h.core.apply(h.batch([ev2, ev3], [line2, line3]))
    llm.release.set()
    await h.settle()
    assert [m.reply_to for _, m, _ in h.sent] == [9001, 9003]  # the answer replies to the latest
    assert h.core.last_decision[G].reason.startswith("2 messages addressed the bot while")


async def test_a_malformed_event_is_counted_and_skipped() -> None:
    h = Harness(toml=TOML)
    bad = MessageEvent(G, 77, 1, float("nan"))
    reply = await h.core.apply(h.batch([bad, MessageEvent(G, 77, 1, T0 + 5)]))
    assert (reply.applied, reply.malformed) == (1, 1)
    assert h.value("guildmind_events_dropped_total", type="message", reason="malformed") == 1


async def test_timers_break_a_silence_without_sweeping_all_guilds() -> None:
    h = Harness(toml=TOML + "[mood_rotation]\ninterval_s = 0\n")
    quiet = [PresenceEvent(G + i, 7, T0 + 1) for i in range(50)]  # 50 guilds, one online member
    await h.core.apply(h.batch([PresenceEvent(G, 7, T0 + 1), *quiet]))
    when = h.core.next_timer()
    assert when is not None and when < T0 + 3600 * 2
    h.clock.set(T0 + 3 * 3600)
    h.core.fire_timers(h.clock.now())
    await h.settle()
    assert any(m.action == "break_silence" and m.guild_id == G for _, m, _ in h.sent)
    # one check per guild whose timer was due, not a pass over the guilds per tick: firing again
    # at the same time checks nothing
    checks = h.timer_checks()
    assert 1 <= checks <= 50
    h.core.fire_timers(h.clock.now())
    assert h.timer_checks() == checks


async def test_restart_reloads_guilds_from_the_store() -> None:
    h = Harness(toml=TOML)
    h.clock.set(T0 + 600)
    await h.core.apply(h.batch(busy(15, T0 + 570)))
    await h.settle()
    await h.core.flush(force=True)
    again = Harness(toml=TOML, store=h.store)  # a new process on the same store
    assert again.core.load(lambda gid: True) == 1
    st = again.core.engine.state(G)
    assert (st.mood, st.last_action) == ("bubbly", "join_conversation")
    assert st.messages_since_appearance == 0


async def test_mood_rotates_on_its_schedule() -> None:
    h = Harness(toml=TOML)
    await h.core.apply(h.batch([MessageEvent(G, 77, 1, T0 + 5)]))
    moods = [h.core.engine.state(G).mood]
    for hour in range(1, 5):
        h.clock.set(T0 + hour * 3600 + 1)
        h.core.fire_timers(h.clock.now())
        await h.settle()
        moods.append(h.core.engine.state(G).mood)
    assert all(a != b for a, b in itertools.pairwise(moods)), moods
    assert "asleep" not in moods
    h.core.count_moods()
    assert sum(h.core.mood_counts.values()) == 1


def test_wire_batches_round_trip() -> None:
    b = Batch("gw", 3, 1, T0, [MessageEvent(1, 2, 3, T0)], [Line(1, 2, 3, 4, "a", "b", T0)])
    decoder = msgspec.msgpack.Decoder(Batch)
    assert decoder.decode(msgspec.msgpack.encode(b)) == b
    with pytest.raises(msgspec.DecodeError):
        decoder.decode(b"\x01garbage")


def test_plugins_load_only_from_the_configured_folders(caplog) -> None:
    from actors.loop.assembly import action_registry

    builtin = set(action_registry().names)
    assert builtin == {"join_conversation", "engage_user", "fomo_response", "break_silence",
                       "share_tweet", "reply"}  # fmt: skip
    assert {"greeting", "random_emoji"} <= set(action_registry(("plugins",)).names)
    assert set(action_registry(("no/such/folder",)).names) == builtin
    assert "plugin folder no/such/folder does not exist" in caplog.text


def test_a_parked_buffer_is_never_cut_into_a_batch() -> None:
    from actors.routing.batching import GatewayCore
    from metrics import GuildmindMetrics, new_registry

    core = GatewayCore(
        "gw", route=lambda g: "\0held" if g == 1 else "host-0",
        metrics=GuildmindMetrics(new_registry(process_metrics=False)), flush_ms=0,
    )  # fmt: skip
    core.offer(MessageEvent(1, 7, 1, T0))
    core.offer(MessageEvent(2, 7, 1, T0))
    batches = core.due_batches(T0 + 10, all_now=True)
    assert [(host, len(b.events)) for host, b in batches] == [("host-0", 1)]
    assert [e.guild_id for e, _ in core.take("\0held")] == [1]
    assert core.queued == 0


def test_events_offered_again_keep_their_arrival_time() -> None:
    """Held for a move (or a placement), then routed: the batch's latency includes the wait."""
    from actors.routing.batching import GatewayCore
    from metrics import GuildmindMetrics, new_registry

    held = {1}
    core = GatewayCore(
        "gw", route=lambda g: "\0held" if g in held else "host-0",
        metrics=GuildmindMetrics(new_registry(process_metrics=False)), flush_ms=0,
    )  # fmt: skip
    core.offer(MessageEvent(1, 7, 1, T0))
    arrived = core.since("\0held")
    assert arrived is not None and core.since("host-0") is None
    core.offer(MessageEvent(2, 7, 1, T0))  # a later arrival, not held
    held.clear()
    for event, line in core.take("\0held"):
        core.offer(event, line, counted=True, arrived=arrived)
    ((host, batch),) = core.due_batches(T0 + 10, all_now=True)
    assert host == "host-0" and len(batch.events) == 2
    assert batch.sent_at == arrived  # the oldest arrival: the held event's


async def test_batches_waiting_on_a_stale_floor_are_freed_by_the_gateways_advance() -> None:
    h = Harness(toml=TOML)
    stale = [
        Batch("gw-0", seq, 10, T0, [MessageEvent(G, 77, 1, T0 + seq)], [], 1) for seq in (11, 12)
    ]
    waits = [asyncio.ensure_future(h.core.apply(b)) for b in stale]
    await asyncio.sleep(0)
    assert not any(w.done() for w in waits)
    assert h.core.advance("gw-0", 1, 11) == 2
    assert [(await w).applied for w in waits] == [1, 1]


def test_a_host_whose_batches_go_unanswered_is_named_with_its_floor_as_it_is_now() -> None:
    import time

    from actors.routing.batching import GatewayCore
    from metrics import GuildmindMetrics, new_registry

    core = GatewayCore(
        "gw", route=lambda g: "host-0",
        metrics=GuildmindMetrics(new_registry(process_metrics=False)), flush_ms=0, batch_max=1,
    )  # fmt: skip
    for gid in (1, 2):
        core.offer(MessageEvent(gid, 7, 1, T0))
    (_, b0), (_, b1) = core.due_batches(T0 + 10, all_now=True)
    now = time.monotonic()
    assert core.stalled(now) == []  # just sent: not stalled
    assert core.stalled(now + 1.5) == [("host-0", b0.seq)]
    assert core.stalled(now + 1.6) == []  # named once per interval
    core.done("host-0", b0.seq)  # b0 answered: b1 is the floor now
    assert core.stalled(now + 5) == [("host-0", b1.seq)]
    core.done("host-0", b1.seq)
    assert core.stalled(now + 10) == []  # nothing in flight: nothing to say
