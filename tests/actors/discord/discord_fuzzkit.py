"""Hostile gateway input for the discord tests: a seeded storm of mangled payloads, and guildmind
without Ray to feed it to (a uniquely named helper module, not a conftest).

    storm = Storm(emu, random.Random(seed))
    for item in storm.items(10_000):
        await item.send(emu)

Each `Item` is one frame on the emulator's gateway websocket, read by the real discord.py client
(its real decoder and parsers): a dispatch whose payload was mangled (fields dropped, of the
wrong type, ids outside 64 bits or not numbers, huge strings, deep nesting, lone surrogates,
unknown message and activity types), a dispatch of an unknown event, or a frame that is not a
dispatch at all (not JSON, not UTF-8, not an object, an event name that is no string, nesting
past the JSON decoder's depth). Control opcodes (RECONNECT, INVALID_SESSION) and the session's
own events (READY, RESUMED, GUILD_DELETE) are never sent: they are the protocol, not input.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import copy
import json
import random
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import msgspec
from discord_testkit import config

from actions import OutgoingMessage
from actors.clock import ManualClock
from actors.loop.assembly import build_host_core
from actors.routing.batching import GatewayCore
from actors.sources.discord.endpoints import reset_discord_endpoints
from actors.sources.discord.source import make_discord_source
from actors.stores.base import MemoryStore
from guildmind.config import parse_config
from guildmind.emulator import Emulator, GuildSpec
from guildmind.emulator.wiring import EMULATOR_TOKEN
from metrics import GuildmindMetrics, new_registry
from tests.fixtures.polling import wait_until_async

AT = 1_900_000_000.0  # the runtime clock's time
SPECS = [GuildSpec("Alpha", users=5, chatter="dead"), GuildSpec("Beta", users=3, chatter="dead")]
_ENCODE = msgspec.json.Encoder().encode
_MARK = "\x00surrogate\x00"  # stands for a lone surrogate until the payload is JSON text
_MARK_JSON = _ENCODE(_MARK)[1:-1]

BAD_IDS: list[Any] = [
    "0", "-1", str(2**63), str(2**64 - 1), str(2**64 + 1), str(10**30), "abc", "", "1e5",
    " 12", None, 12.5, True, [], {}, 2**70,
]  # fmt: skip
ODD_VALUES: list[Any] = [None, True, False, 0, -1, 1.5, 2**64 + 1, "", "x", [], {}, [1, [2]],
                         {"a": {"b": None}}, "\u202e\u0000\ufeff"]  # fmt: skip
SURROGATES = ["\\ud800", "\\udfff", "a\\udbff", "\\udc00\\ud800", "\\ud83d"]
OTHER_EVENTS = [
    "MESSAGE_UPDATE", "MESSAGE_DELETE", "TYPING_START", "MESSAGE_REACTION_ADD",
    "GUILD_MEMBER_UPDATE", "CHANNEL_CREATE", "GUILD_ROLE_CREATE", "THREAD_CREATE",
]  # fmt: skip
UNKNOWN_EVENTS = [
    "FOO_BAR",
    "MESSAGE_CREATED",
    "message_create",
    "",
    "X" * 300,
    "GUILD_FUTURE_THING",
]
KINDS = {
    "MESSAGE_CREATE": "message",
    "PRESENCE_UPDATE": "presence",
    "GUILD_MEMBER_ADD": "member_join",
}


@dataclass
class Item:
    """One frame of the storm. `undecodable`: the frame cannot be read at all (so it must be
    counted as such, with `kind`, the type its event name says)."""

    name: Any  # the event name the frame carries ("t"), or None for a frame that is no dispatch
    data: Any = None  # the payload ("d"): JSON-able, or msgspec.Raw
    frame: bytes | None = None  # a whole frame, sent byte for byte
    undecodable: bool = False
    what: str = ""

    @property
    def kind(self) -> str:
        return KINDS.get(self.name, "other") if isinstance(self.name, str) else "other"

    async def send(self, emu: Emulator, guild_id: int) -> None:
        if self.frame is not None:
            await emu.send_frame(self.frame, guild_id)
        else:
            await emu.dispatch_raw(self.name, self.data, guild_id)


class Storm:
    """Mangled payloads, from a seeded `random.Random`: the same seed, the same storm."""

    def __init__(self, emu: Emulator, rng: random.Random) -> None:
        self.rng = rng
        guild = emu.guilds[0]
        self.guild = guild
        world = emu.world
        self.humans = list(guild.human_ids)
        self.message = emu.messages.create(
            guild.system_channel_id, self.humans[0], "hello there", dispatch=False
        )
        self.presence = world.presence_payload(guild, self.humans[1], emu.now())
        self.presence["activities"] = [{"name": "Celeste", "type": 0, "created_at": 1}]
        self.presence["status"] = "online"
        self.join = {**world.member_payload(guild, self.humans[2]), "guild_id": str(guild.id)}
        self.next_id = int(self.message["id"])

    def items(self, n: int) -> Iterator[Item]:
        for _ in range(n):
            yield self.item()

    def item(self) -> Item:
        r = self.rng.random()
        if r < 0.10:
            return self.frame()
        if r < 0.13:
            name = self.rng.choice(UNKNOWN_EVENTS)
            return self.mangled(name, _copy(self.message))
        if r < 0.18:
            return self.mangled(self.rng.choice(OTHER_EVENTS), _copy(self.message))
        if r < 0.32:
            return self.mangled("PRESENCE_UPDATE", _copy(self.presence))
        if r < 0.40:
            return self.mangled("GUILD_MEMBER_ADD", _copy(self.join))
        message = _copy(self.message)
        self.next_id += 1
        message["id"] = str(self.next_id)
        return self.mangled("MESSAGE_CREATE", message)

    # payloads ---------------------------------------------------------------------------
    def mangled(self, name: str, data: dict) -> Item:
        rng = self.rng
        whats = []
        surrogates = 0
        for _ in range(rng.choice((1, 1, 2, 3))):
            op = rng.choice(("drop", "retype", "bad_id", "bad_id", "huge", "deep", "surrogate",
                             "surrogate", "unknown_type"))  # fmt: skip
            whats.append(op)
            if op == "drop":
                self._drop(data)
            elif op == "retype":
                self._set(data, lambda _: copy.deepcopy(rng.choice(ODD_VALUES)))
            elif op == "bad_id":
                self._set(data, lambda _: rng.choice(BAD_IDS), ids_only=True)
            elif op == "huge":
                size = 100_000 if rng.random() < 0.1 else rng.choice((1_000, 10_000))
                huge = rng.choice("aミ😀 ") * size
                self._set(data, lambda _, s=huge: s, strings_only=True)
            elif op == "deep":  # deep, yet within what a JSON decoder takes
                deep = nested(rng.randint(10, 400), rng)
                self._set(data, lambda _, d=deep: d)
            elif op == "surrogate":
                surrogates += 1
                self._set(data, lambda s: s[: rng.randint(0, len(s))] + _MARK, strings_only=True)
            elif op == "unknown_type":
                if name == "PRESENCE_UPDATE" and data.get("activities"):
                    data["activities"] = [{"name": "Tetris", "type": rng.randint(-3, 10_000)}]
                else:
                    data["type"] = rng.choice((rng.randint(-5, 10_000), "0", None, 2**64))
        if surrogates:  # JSON text with "\ud800"-like escapes: what no encoder of ours emits
            parts = _ENCODE(data).split(_MARK_JSON)
            text = parts[0]
            for part in parts[1:]:
                text += rng.choice(SURROGATES).encode() + part
            return Item(name, msgspec.Raw(text), what="+".join(whats))
        return Item(name, data, what="+".join(whats))

    def _paths(self, data: Any, *, ids_only=False, strings_only=False) -> list[tuple[Any, Any]]:
        out: list[tuple[Any, Any]] = []

        def walk(node: Any, depth: int) -> None:
            if depth > 6:
                return
            items = node.items() if isinstance(node, dict) else enumerate(node)
            for key, value in list(items):
                is_id = isinstance(key, str) and (key == "id" or key.endswith("_id"))
                if (not ids_only or is_id) and (not strings_only or isinstance(value, str)):
                    out.append((node, key))
                if isinstance(value, dict | list):
                    walk(value, depth + 1)

        walk(data, 0)
        return out

    def _drop(self, data: dict) -> None:
        paths = [(n, k) for n, k in self._paths(data) if isinstance(n, dict)]
        if paths:
            node, key = self.rng.choice(paths)
            del node[key]

    def _set(self, data: dict, value, *, ids_only=False, strings_only=False) -> None:
        paths = self._paths(data, ids_only=ids_only, strings_only=strings_only)
        if paths:
            node, key = self.rng.choice(paths)
            node[key] = value(node[key])

    # frames -----------------------------------------------------------------------------
    def frame(self) -> Item:
        rng = self.rng
        good = _ENCODE(self.message)
        name = rng.choice(
            ("MESSAGE_CREATE", "MESSAGE_CREATE", "PRESENCE_UPDATE", "GUILD_MEMBER_ADD")
        )
        head = b'{"op":0,"t":"%s","s":null,"d":' % name.encode()
        kind = rng.randrange(9)
        if kind == 0:  # nested past any JSON decoder's depth
            depth = rng.choice((2_000, 5_000, 50_000))
            opener, closer = rng.choice(((b"[", b"]"), (b'{"a":', b"}")))
            return Item(name, frame=head + opener * depth + closer * depth + b"}",
                        undecodable=True, what=f"nested {depth}")  # fmt: skip
        if kind == 1:  # cut short: not JSON
            cut = rng.randrange(1, len(good))
            return Item(name, frame=head + good[:cut], undecodable=True, what="truncated")
        if kind == 2:  # not UTF-8
            bad = bytes([rng.choice((0xFF, 0xFE, 0xC0, 0x80))])
            at = rng.randrange(len(good))
            frame = head + good[:at] + bad + good[at:] + b"}"
            return Item(name, frame=frame, undecodable=True, what="not utf-8")
        if kind == 3:  # a JSON text that is no object
            frame = rng.choice((b"[1,2,3]", b'"MESSAGE_CREATE"', b"42", b"null", b"true", b"[]"))
            return Item(None, frame=frame, what="not an object")
        if kind == 4:  # an event name that is no string
            t = rng.choice(([name], {"name": name}, 5, 1.5, True))
            frame = _ENCODE({"op": 0, "t": t, "s": None, "d": self.message})
            return Item(t, frame=frame, what="name not a string")
        if kind == 5:  # a sequence number that is none
            s = rng.choice(("abc", -1, 1.5, [1], 2**70))
            return Item(name, frame=_ENCODE({"op": 0, "t": name, "s": s, "d": {}}), what="bad s")
        if kind == 6:  # a dispatch without its payload, or with one that is no object
            d = rng.choice((None, [], "x", 7))
            return Item(name, frame=_ENCODE({"op": 0, "t": name, "s": None, "d": d}), what="bad d")
        if kind == 7:  # garbage bytes
            frame = bytes(rng.randrange(32, 127) for _ in range(rng.randint(1, 200)))
            return Item(None, frame=frame, undecodable=_undecodable(frame), what="garbage")
        return Item(name, frame=head + b"{}" * 3 + b"}", undecodable=True, what="two values")


def _copy(payload: dict) -> dict:
    return msgspec.json.decode(_ENCODE(payload))


def nested(depth: int, rng: random.Random) -> Any:
    value: Any = rng.choice((1, "x", None))
    for _ in range(depth):
        value = [value] if rng.random() < 0.5 else {"k": value}
    return value


def _undecodable(frame: bytes) -> bool:
    try:
        json.loads(frame)  # what discord.py decodes with
    except (ValueError, RecursionError):
        return True
    return False


# guildmind without Ray -----------------------------------------------------------------------


@dataclass
class Pipeline:
    """The discord source → the gateway's door and batches → the wire → a host (its guild loop,
    rounds and store): what the runtime does with a payload, in one process."""

    emu: Emulator
    gateway_metrics: GuildmindMetrics = field(
        default_factory=lambda: GuildmindMetrics(new_registry(process_metrics=False))
    )
    host_metrics: GuildmindMetrics = field(
        default_factory=lambda: GuildmindMetrics(new_registry(process_metrics=False))
    )
    offered: list = field(default_factory=list)
    said: list[OutgoingMessage] = field(default_factory=list)
    sent: collections.Counter = field(default_factory=collections.Counter)  # events, by type
    applied: int = 0
    malformed_at_host: int = 0

    def __post_init__(self) -> None:
        self.source = make_discord_source(config(self.emu), ManualClock(AT))
        self.source.attach(None, self.gateway_metrics)  # type: ignore[arg-type]
        # (a storm is not an overload: nothing is shed for waiting, however slow the machine)
        self.core = GatewayCore(
            "gw-0", route=lambda gid: "host-0", metrics=self.gateway_metrics, flush_ms=2,
            max_wait_ms=600_000,
        )  # fmt: skip
        self.store = MemoryStore()
        self.host = build_host_core(
            "host-0", parse_config("[defaults]\nquiet_hours = false\n", env={}),
            store=self.store, clock=ManualClock(AT), started_at=AT - 3600, send=self._send,
            metrics=self.host_metrics, seed=1,
        )  # fmt: skip

    def offer(self, event, line) -> bool:
        self.offered.append((event, line))
        return self.core.offer(event, line)

    async def _send(self, gateway: str, messages: list[OutgoingMessage]) -> None:
        self.said.extend(messages)

    async def pump(self) -> None:
        """The gateway's batching loop, with the host called in this process."""
        while True:
            for host, batch in self.core.due_batches(time.time()):
                reply = await self.host.apply_encoded(self.core.encode(batch))
                self.sent.update(type(e).__name__ for e in batch.events)
                self.applied += reply.applied
                self.malformed_at_host += reply.malformed
                self.core.done(host, batch.seq)
            await asyncio.sleep(0.002)

    def dropped(self, type: str, reason: str, *, host: bool = False) -> float:
        m = self.host_metrics if host else self.gateway_metrics
        labels = {"type": type, "reason": reason}
        return m.registry.get_sample_value("guildmind_events_dropped_total", labels) or 0.0

    def drops(self, *, host: bool = False) -> dict[tuple[str, str], float]:
        m = self.host_metrics if host else self.gateway_metrics
        return {
            (s.labels["type"], s.labels["reason"]): s.value
            for family in m.events_dropped_total.collect()
            for s in family.samples
            if s.name.endswith("_total") and s.value
        }

    async def settle(self, guild_id: int, channel_id: int, user: int, text: str) -> int:
        """A member's mention, once everything sent before it was handled; its message id."""
        mid = await self.emu.post_message(guild_id, channel_id, user, text, mention_bot=True)
        await wait_until_async(lambda: self.offered_line(mid) is not None, timeout_s=60,
                               interval_s=0.01, what=f"the mention {text!r} offered")  # fmt: skip
        return mid

    def offered_line(self, message_id: int):
        for _, line in reversed(self.offered):
            if line is not None and line.message_id == message_id:
                return line
        return None


@contextlib.asynccontextmanager
async def pipeline(specs: list[GuildSpec] | None = None) -> AsyncIterator[Pipeline]:
    emu = Emulator(specs or SPECS, seed=5, bot_token=EMULATOR_TOKEN)
    async with emu:
        p = Pipeline(emu)
        run = asyncio.create_task(p.source.run(p.offer))
        pump = asyncio.create_task(p.pump())
        try:

            def ready() -> bool:
                assert not run.done(), f"the source stopped: {p.source.error}"
                return p.source.status()["ready"]

            await wait_until_async(ready, what="the source ready", timeout_s=10, interval_s=0.02)
            yield p
        finally:
            await p.source.close()
            for task in (run, pump):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            reset_discord_endpoints()
