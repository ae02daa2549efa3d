"""Hostile gateway input through the real discord.py client into guildmind (issue 15, item 6).

A seeded storm of mangled payloads goes through the emulator's gateway websocket to the real
discord.py decoder and parsers, then the source, the gateway's door and batching, the wire, and a
host (its guild loop, rounds and store), without Ray. Nothing may crash, every payload must be
accounted for (an event, or a drop counted by its type and reason), the session must go on (no
reconnect, no new IDENTIFY), and a mention after the storm must become an event at once and be
answered.

GUILDMIND_FUZZ_SEED replays another storm (a failure names the seed it ran with);
GUILDMIND_FUZZ_N sets its size.
"""

from __future__ import annotations

import asyncio
import collections
import os
import random
import time

import msgspec
import pytest
from discord_fuzzkit import Storm, pipeline

from actors.routing.wire import clean_text
from engine import MessageEvent
from metrics.labels import DROP_REASONS, EVENT_TYPES

SEED = int(os.environ.get("GUILDMIND_FUZZ_SEED", "15"))
STORM = int(os.environ.get("GUILDMIND_FUZZ_N", "10000"))


async def test_a_storm_of_mangled_payloads_costs_nothing_and_every_one_is_counted() -> None:
    async with pipeline() as p:
        emu, source, guild = p.emu, p.source, p.emu.guilds[0]
        general, users = guild.system_channel_id, guild.human_ids
        first = await p.settle(guild.id, general, users[0], "before the storm")
        await emu.wait_until(lambda: any(m.reply_to == first for m in p.said), 30)
        sessions, ops = set(emu.gateway.sessions), dict(emu.counters.ops)
        before = collections.Counter(source.counts)
        storm, sent = Storm(emu, random.Random(SEED)), collections.Counter()
        t0 = time.perf_counter()
        for i, item in enumerate(storm.items(STORM)):
            await item.send(emu, guild.id)
            if item.undecodable:
                sent[(item.kind, "undecodable")] += 1
            elif isinstance(item.name, str):
                sent[f"{item.name} parsed"] += 1
            if i % 100 == 99:
                while emu.gateway.backlog() > 500:
                    await asyncio.sleep(0.001)
        await p.settle(guild.id, general, users[1], "after the storm")  # all of it handled
        await emu.wait_until(lambda: p.core.queued == p.core.in_flight() == 0, 30)  # and sent
        storm_s = time.perf_counter() - t0
        seed = f"seed {SEED} ({STORM} payloads in {storm_s:.1f} s)"

        # 0 crashes: the session is the same (no reconnect, no IDENTIFY), nothing restarted
        assert set(emu.gateway.sessions) == sessions, seed
        assert emu.counters.ops["IDENTIFY"] == ops["IDENTIFY"] == 1, seed
        assert emu.counters.ops["RESUME"] == 0, seed
        assert source.counts["restarts"] == 0 and source.status()["ready"], seed

        # every frame that cannot be read is counted as such, by the type its name says
        drops, host_drops = p.drops(), p.drops(host=True)
        for key, n in sent.items():
            if isinstance(key, tuple):
                assert drops.get(key, 0) == n, (seed, key, drops)
        assert all(k in (*EVENT_TYPES, "other") and r in DROP_REASONS for k, r in drops), drops

        # every MESSAGE_CREATE discord.py parsed: an event, not conversation (a pin, a join…), a
        # direct message (no guild id), or skipped and counted (malformed, of a guild the bot is
        # not in, an id refused)
        counts = collections.Counter(source.counts)
        counts.subtract(before)
        door = p.core.dropped  # the door's own refusals (the source's are in the metric only)
        at_source = (
            drops.get(("message", "malformed"), 0) - door.get(("message", "malformed"), 0)
            + drops.get(("message", "unknown_guild"), 0)
        )  # fmt: skip
        parsed = sent["MESSAGE_CREATE parsed"] + 1  # and the mention after the storm
        ignored = counts["not_conversation"] + counts["direct"]
        assert counts["messages"] + ignored + at_source == parsed, (seed, counts, drops)
        # …each event offered went to the host or was refused at the door, counted
        assert set(door) <= {(k, r) for k in (*EVENT_TYPES, "other")
                             for r in ("invalid_id", "malformed")}, door  # fmt: skip
        refused = door.get(("message", "invalid_id"), 0) + door.get(("message", "malformed"), 0)
        offered = sum(1 for event, _ in p.offered if type(event) is MessageEvent)
        assert offered == source.counts["messages"], seed
        assert p.sent["MessageEvent"] + refused == offered, (seed, p.sent, door)
        # …and the host applied every event it got: the door let nothing bad through
        assert p.applied == sum(p.sent.values()) and p.malformed_at_host == 0, (seed, host_drops)
        assert host_drops == {}, (seed, host_drops)
        # presences and joins: each an event or counted (or one discord.py drops by design: of
        # a guild or a member it does not know)
        for name, kind, counter in (("PRESENCE_UPDATE", "presence", "presences"),
                                    ("GUILD_MEMBER_ADD", "member_join", "joins")):  # fmt: skip
            skipped = sum(n for (k, r), n in drops.items() if k == kind and r != "undecodable")
            assert counts[counter] + skipped <= sent[f"{name} parsed"], (seed, kind, drops)

        # the storm was what it says: each kind of harm came, many times
        surrogates = sum(1 for _, ln in p.offered if ln and clean_text(ln.content) != ln.content)
        assert surrogates > 20, (seed, surrogates)  # lone surrogates reached the door, repaired
        assert door.get(("message", "invalid_id"), 0) > 100, (seed, door)
        assert drops.get(("message", "unknown_guild"), 0) > 100, (seed, drops)
        assert sum(n for k, n in sent.items() if isinstance(k, tuple)) > 300, (seed, sent)
        assert ("message", "unencodable") not in drops, (seed, drops)  # the door let none by

        # a mention right after the storm becomes an event at once, and is answered
        t1 = time.perf_counter()
        mid = await p.settle(guild.id, general, users[2], "are you still there?")
        assert time.perf_counter() - t1 < 5.0, seed  # (a reconnect alone takes longer)
        await emu.wait_until(lambda: any(m.reply_to == mid for m in p.said), 30)

        # every guild the host adopted can be saved: none has an id the store refuses
        await p.host.flush(force=True)
        assert p.host.write_behind.pending == 0 and not p.host.write_behind.refused, seed
        assert sorted(p.store.guild_ids()) == sorted(p.host.engine.guild_ids()), seed


# frames that never reach a parser ------------------------------------------------------------


def frame(name: object, data: bytes, s: object = None) -> bytes:
    head = msgspec.json.encode({"op": 0, "t": name, "s": s})[:-1]
    return head + b',"d":' + data + b"}"


def session_kept(p, sessions: set[str]) -> None:
    emu = p.emu
    assert set(emu.gateway.sessions) == sessions  # the same session, no other
    assert emu.counters.ops["IDENTIFY"] == 1 and emu.counters.ops["RESUME"] == 0
    assert p.source.counts["restarts"] == 0


@pytest.mark.parametrize(
    ("depth", "undecodable"),
    [(50, False), (400, False), (1_100, True), (5_000, True), (100_000, True)],
)
async def test_a_frame_nested_past_the_decoders_depth_costs_only_itself(
    depth: int, undecodable: bool
) -> None:
    """The fault: a frame nested past json.loads' depth (a RecursionError in discord.py's
    read loop) ended the session; the client IDENTIFYed anew and lost what came meanwhile."""
    async with pipeline() as p:
        guild = p.emu.guilds[0]
        sessions = set(p.emu.gateway.sessions)
        for opener, closer in ((b"[", b"]"), (b'{"a":', b"}")):
            deep = opener * depth + b"1" + closer * depth
            await p.emu.send_frame(frame("MESSAGE_CREATE", deep), guild.id)
        mid = await p.settle(guild.id, guild.system_channel_id, guild.human_ids[0], "still here")
        session_kept(p, sessions)
        # too deep to decode: counted as such, by its event's type; else discord.py's parser
        # refuses a payload that is no message (counted malformed)
        reason = "undecodable" if undecodable else "malformed"
        assert p.dropped("message", reason) == 2
        await p.emu.wait_until(lambda: any(m.reply_to == mid for m in p.said), 30)


async def test_deep_nesting_inside_a_message_leaves_the_message() -> None:
    async with pipeline() as p:
        guild = p.emu.guilds[0]
        good = p.emu.messages.create(guild.system_channel_id, guild.human_ids[0], "hi",
                                     dispatch=False)  # fmt: skip
        deep = {"unknown_field": nested_list(300)}
        await p.emu.dispatch_raw("MESSAGE_CREATE", {**good, **deep}, guild.id)
        await p.settle(guild.id, guild.system_channel_id, guild.human_ids[0], "after")
        assert p.offered_line(int(good["id"])).content == "hi"


def nested_list(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("raw", "kind", "reason"),
    [
        (frame("MESSAGE_CREATE", b'{"id": "1", '), "message", "undecodable"),  # not JSON
        (frame("PRESENCE_UPDATE", b'"\xff\xfe"'), "presence", "undecodable"),  # not UTF-8
        (frame("GUILD_MEMBER_ADD", b"{}{}"), "member_join", "undecodable"),  # two values
        (b"[1, 2, 3]", "other", "malformed"),  # a JSON text that is no object
        (b'"MESSAGE_CREATE"', "other", "malformed"),
        (b"42", "other", "malformed"),
        (b"null", "other", "malformed"),
        (b"", "other", "undecodable"),
        (frame(["MESSAGE_CREATE"], b"{}"), "other", "malformed"),  # a name that is no string
        (frame({"name": "MESSAGE_CREATE"}, b"{}"), "other", "malformed"),
        (frame("MESSAGE_CREATE", b"null"), "message", "malformed"),  # no payload
        (frame("MESSAGE_CREATE", b"[]"), "message", "malformed"),
    ],
)
async def test_a_frame_that_cannot_be_read_is_counted_by_its_type_and_the_session_goes_on(
    raw: bytes, kind: str, reason: str
) -> None:
    async with pipeline() as p:
        guild = p.emu.guilds[0]
        sessions = set(p.emu.gateway.sessions)
        await p.emu.send_frame(raw, guild.id)
        mid = await p.settle(guild.id, guild.system_channel_id, guild.human_ids[0], "still here")
        session_kept(p, sessions)
        assert p.drops() == {(kind, reason): 1}
        await p.emu.wait_until(lambda: any(m.reply_to == mid for m in p.said), 30)


@pytest.mark.parametrize("name", [5, 1.5, True, "FOO_BAR", "message_create", ""])
async def test_an_event_nobody_knows_is_ignored_and_the_session_goes_on(name: object) -> None:
    async with pipeline() as p:
        guild = p.emu.guilds[0]
        sessions = set(p.emu.gateway.sessions)
        await p.emu.send_frame(frame(name, b'{"id": "1"}'), guild.id)
        await p.settle(guild.id, guild.system_channel_id, guild.human_ids[0], "still here")
        session_kept(p, sessions)
        assert p.drops() == {}  # Discord adds events: not knowing one is no fault of the frame


@pytest.mark.parametrize("s", ["abc", -1, 1.5, [1], 2**70, True])
async def test_a_sequence_number_that_is_none_keeps_the_last_good_one_so_a_resume_works(
    s: object,
) -> None:
    """The fault: discord.py kept any frame's "s" as its sequence, so its next RESUME carried
    it, Discord refused it (INVALID_SESSION) and the client IDENTIFYed anew."""
    async with pipeline() as p:
        emu, guild = p.emu, p.emu.guilds[0]
        sessions = set(emu.gateway.sessions)
        await emu.send_frame(frame("TYPING_START", b"{}", s), guild.id)
        await p.settle(guild.id, guild.system_channel_id, guild.human_ids[0], "still here")
        assert await emu.force_reconnect() == 1
        await emu.wait_until(lambda: emu.counters.ops["RESUME"] == 1, 10)
        mid = await p.settle(guild.id, guild.system_channel_id, guild.human_ids[1], "resumed")
        assert set(emu.gateway.sessions) == sessions
        assert emu.counters.ops["IDENTIFY"] == 1  # resumed, not identified again
        await emu.wait_until(lambda: any(m.reply_to == mid for m in p.said), 30)


async def test_a_corrupt_compressed_stream_resumes_the_session_never_identifies_anew() -> None:
    """Nothing after a corrupt zlib frame can be inflated: the shard RESUMEs (same session;
    Discord replays what was missed). Before, discord.py's zlib.error ended the client."""
    async with pipeline() as p:
        emu, guild = p.emu, p.emu.guilds[0]
        sessions = set(emu.gateway.sessions)
        await emu.wait_until(lambda: emu.gateway.backlog() == 0, 5)
        (conn,) = emu.gateway.connections
        old = keep_alive(p.source.client)
        assert old is not None and old.is_alive()
        await conn.ws.send_bytes(b"\x00not deflate at all\x00\x00\xff\xff")  # past the zlib
        await emu.wait_until(lambda: emu.counters.ops["RESUME"] == 1, 10)
        # the dead socket was closed as discord.py closes one on RECONNECT: its keep-alive thread
        # stops (left running, it heartbeats into the closed socket and, once the loop is gone,
        # raises in its thread)
        await emu.wait_until(lambda: not old.is_alive(), 10)
        assert keep_alive(p.source.client) is not old
        mid = await p.settle(guild.id, guild.system_channel_id, guild.human_ids[0], "resumed")
        assert set(emu.gateway.sessions) == sessions
        assert emu.counters.ops["IDENTIFY"] == 1 and p.source.counts["restarts"] == 0
        await emu.wait_until(lambda: any(m.reply_to == mid for m in p.said), 30)


def keep_alive(client):
    """The keep-alive thread of the client's (first) shard's websocket, or None."""
    ws = client._connection._get_websocket(shard_id=0)  # discord.py's own way to a shard's
    return ws._keep_alive if ws is not None else None
