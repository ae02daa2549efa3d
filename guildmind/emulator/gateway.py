"""The emulated gateway: websocket sessions, sequence numbers, RESUME, reconnects, close codes.

A :class:`Session` is Discord's gateway session: it outlives one websocket, numbers its
dispatches and keeps the recent ones so a RESUME can replay what the client missed. A
:class:`Connection` is one websocket; it owns the zlib stream and a writer task that sends
frames in the order they were queued (compression state depends on that order).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
import zlib
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import msgspec
from aiohttp import WSMsgType, web

from guildmind.emulator.limits import EmulatedLimits

if TYPE_CHECKING:
    from guildmind.emulator.records import Recorder
    from guildmind.emulator.state import World

_log = logging.getLogger(__name__)

# Intent bits (https://discord.com/developers/docs/events/gateway#gateway-intents).
GUILDS = 1 << 0
GUILD_MEMBERS = 1 << 1
GUILD_PRESENCES = 1 << 8
GUILD_MESSAGES = 1 << 9
MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = {"members": GUILD_MEMBERS, "presences": GUILD_PRESENCES}
PRIVILEGED_INTENTS["message_content"] = MESSAGE_CONTENT

OP_NAMES = {
    0: "DISPATCH",
    1: "HEARTBEAT",
    2: "IDENTIFY",
    3: "PRESENCE_UPDATE",
    4: "VOICE_STATE_UPDATE",
    6: "RESUME",
    7: "RECONNECT",
    8: "REQUEST_GUILD_MEMBERS",
    9: "INVALID_SESSION",
    10: "HELLO",
    11: "HEARTBEAT_ACK",
}

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()


class Session:
    """One IDENTIFY'd gateway session (one shard of one client), resumable across sockets."""

    def __init__(self, shard: tuple[int, int], intents: int, buffer_size: int) -> None:
        self.id = secrets.token_hex(16)
        self.shard_id, self.shard_count = shard
        self.intents = intents
        self.seq = 0
        self.buffer: deque[tuple[int, bytes]] = deque(maxlen=buffer_size)
        self.conn: Connection | None = None
        self.left_at: float | None = None  # monotonic time its last websocket went away

    def covers(self, guild_id: int) -> bool:
        return (guild_id >> 22) % self.shard_count == self.shard_id

    def push(self, name: str, data: Any) -> None:
        self.seq += 1
        frame = _encoder.encode({"op": 0, "t": name, "s": self.seq, "d": data})
        self.buffer.append((self.seq, frame))
        if self.conn is not None:
            self.conn.send(frame)


class Connection:
    """One websocket; frames go out in queue order through a single writer task."""

    def __init__(self, ws: web.WebSocketResponse, compress: bool) -> None:
        self.ws = ws
        self.session: Session | None = None
        self._queue: asyncio.Queue[bytes | tuple[int, bytes]] = asyncio.Queue()
        self._zlib = zlib.compressobj() if compress else None
        self.writer = asyncio.create_task(self._write())

    def send(self, frame: bytes) -> None:
        self._queue.put_nowait(frame)

    def send_op(self, op: int, d: Any) -> None:
        self.send(_encoder.encode({"op": op, "d": d, "s": None, "t": None}))

    def close_after_pending(self, code: int, message: str) -> None:
        """Close with ``code`` once the frames already queued are sent."""
        self._queue.put_nowait((code, message.encode()))

    def backlog(self) -> int:
        return self._queue.qsize()

    async def _write(self) -> None:
        ws = self.ws
        try:
            while True:
                item = await self._queue.get()
                if isinstance(item, tuple):
                    await ws.close(code=item[0], message=item[1])
                    return
                if self._zlib is None:
                    await ws.send_str(item.decode())
                else:
                    data = self._zlib.compress(item) + self._zlib.flush(zlib.Z_SYNC_FLUSH)
                    await ws.send_bytes(data)
        except (ConnectionError, RuntimeError) as exc:
            _log.debug("Gateway writer stopped: %r", exc)


class Gateway:
    """Serves ``GET /`` as Discord's gateway and routes dispatches to the right sessions."""

    def __init__(
        self,
        world: World,
        recorder: Recorder,
        clock: Callable[[], float],
        *,
        token: str,
        refuse_intents: int,
        heartbeat_interval: float,
        buffer_size: int = 50_000,
        session_ttl_s: float = 300.0,
        limits: EmulatedLimits | None = None,
    ) -> None:
        self.world = world
        self.recorder = recorder
        self.clock = clock
        self.token = token
        self.refuse_intents = refuse_intents
        self.heartbeat_interval = heartbeat_interval
        self.buffer_size = buffer_size
        # how long a session without a websocket stays resumable (real seconds); Discord does
        # not say, and refuses a RESUME of an expired one with INVALID_SESSION (d: false)
        self.session_ttl_s = session_ttl_s
        self.limits = limits or EmulatedLimits(lambda: 1.0)  # IDENTIFY per bucket
        self.url = ""  # set by the server once it knows its port
        self.sessions: dict[str, Session] = {}
        self.connections: set[Connection] = set()
        self.replayed = 0  # dispatches re-sent on RESUME

    # -- dispatching ------------------------------------------------------------------------

    def dispatch(
        self, name: str, data: Any, guild_id: int | None, *, intent: int = 0, gated: bool = False
    ) -> int:
        """Send one event to every session that covers ``guild_id`` and asked for ``intent``.

        ``gated`` marks message content: sessions without MESSAGE_CONTENT get it blanked,
        unless the bot is mentioned (Discord's rule). Returns how many sessions got it.
        """
        delivered = 0
        for session in self.sessions.values():
            if guild_id is not None and not session.covers(guild_id):
                continue
            if intent and not session.intents & intent:
                continue
            payload = data
            if gated and not session.intents & MESSAGE_CONTENT and not _mentions_bot(data, self):
                payload = _without_content(data)
            self._emit(session, name, payload)
            delivered += 1
        return delivered

    def _emit(self, session: Session, name: str, data: Any) -> None:
        session.push(name, data)
        self.recorder.counters.events[name] += 1
        self.recorder.notify()

    def backlog(self) -> int:
        """Frames queued but not yet written, over all connections."""
        return sum(c.backlog() for c in self.connections)

    def send_op_all(self, op: int, d: Any, shard_id: int | None = None) -> int:
        targets = [
            c
            for c in self.connections
            if c.session is not None and (shard_id is None or c.session.shard_id == shard_id)
        ]
        for conn in targets:
            conn.send_op(op, d)
            if op == 9 and not d and conn.session is not None:
                self.sessions.pop(conn.session.id, None)
        return len(targets)

    async def close_all(self, code: int, message: str = "") -> None:
        for conn in list(self.connections):
            conn.close_after_pending(code, message)
        await asyncio.gather(*(c.writer for c in list(self.connections)), return_exceptions=True)

    # -- the websocket ----------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        from guildmind.emulator.rest import discord_error

        if request.query.get("encoding", "json") != "json":
            return discord_error(400, 50035, "Only encoding=json is supported by the emulator.")
        # zstd-stream is answered with plain text frames, which discord.py also accepts.
        compress = request.query.get("compress") == "zlib-stream"
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        conn = Connection(ws, compress)
        self.connections.add(conn)
        conn.send_op(10, {"heartbeat_interval": int(self.heartbeat_interval * 1000)})
        try:
            await self._read(conn)
        finally:
            self.connections.discard(conn)
            if conn.session is not None and conn.session.conn is conn:
                conn.session.conn = None
                conn.session.left_at = time.monotonic()
            if not conn.writer.done():
                conn.close_after_pending(1000, "")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(conn.writer), 1.0)
        return ws

    async def _read(self, conn: Connection) -> None:
        while not conn.writer.done():
            try:
                msg = await conn.ws.receive(timeout=self.heartbeat_interval * 2)
            except TimeoutError:
                conn.close_after_pending(4009, "Session timed out.")
                return
            if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                if msg.type == WSMsgType.CLOSE and msg.data in (1000, 1001) and conn.session:
                    # A normal close ends the session, as on Discord; 4000 keeps it resumable.
                    self.sessions.pop(conn.session.id, None)
                return
            try:
                payload = _decoder.decode(msg.data)
                op = payload.get("op")
            except (msgspec.DecodeError, AttributeError):
                conn.close_after_pending(4002, "Error while decoding payload.")
                return
            self.recorder.counters.ops[OP_NAMES.get(op, str(op))] += 1
            self.recorder.notify()
            if not self._on_op(conn, op, payload.get("d")):
                return

    def _on_op(self, conn: Connection, op: Any, d: Any) -> bool:
        """Handle one client opcode; False when the connection is being closed."""
        if op == 1:
            conn.send_op(11, None)
            return True
        if op == 2:
            return self._identify(conn, d)
        if op == 6:
            return self._resume(conn, d)
        if conn.session is None:
            conn.close_after_pending(4003, "Not authenticated.")
            return False
        if op == 3:
            self.recorder.client_presences.append(d)
        elif op == 8:
            self._request_members(conn.session, d)
        elif op != 4:
            conn.close_after_pending(4001, "Unknown opcode.")
            return False
        return True

    def _identify(self, conn: Connection, d: Any) -> bool:
        if conn.session is not None:
            conn.close_after_pending(4005, "Already authenticated.")
            return False
        if not isinstance(d, dict) or d.get("token") != self.token:
            conn.close_after_pending(4004, "Authentication failed.")
            return False
        intents = d.get("intents")
        if not isinstance(intents, int) or intents < 0:
            conn.close_after_pending(4013, "Invalid intent(s).")
            return False
        if intents & self.refuse_intents:
            conn.close_after_pending(4014, "Disallowed intent(s).")
            return False
        shard = d.get("shard", [0, 1])
        if not (
            isinstance(shard, list)
            and len(shard) == 2
            and all(isinstance(x, int) for x in shard)
            and 0 <= shard[0] < shard[1]
        ):
            conn.close_after_pending(4010, "Invalid shard.")
            return False
        self.expire()  # (the sessions a restarted client left behind stop buffering, in time)
        if not self.limits.identify(shard[0]):  # its bucket identified less than 5 s ago
            conn.send_op(9, False)
            return True
        session = Session((shard[0], shard[1]), intents, self.buffer_size)
        self.sessions[session.id] = session
        session.conn, conn.session = conn, session
        world, now = self.world, self.clock()
        guilds = [
            g
            for g in world.guilds.values()
            if session.covers(g.id) and g.id not in world.without_bot
        ]
        ready = {
            "v": 10,
            "user": {**world.user_payload(world.bot.id), "verified": True, "mfa_enabled": False},
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self.url,
            "shard": [session.shard_id, session.shard_count],
            "application": {"id": str(world.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "_trace": ["guildmind-emulator"],
        }
        self._emit(session, "READY", ready)
        with_presences = bool(intents & GUILD_PRESENCES)
        for guild in guilds:
            self._emit(
                session, "GUILD_CREATE", world.guild_create_payload(guild, now, with_presences)
            )
        _log.debug("Session %s identified (shard %s, %d guilds).", session.id, shard, len(guilds))
        return True

    def _resume(self, conn: Connection, d: Any) -> bool:
        if not isinstance(d, dict) or d.get("token") != self.token:
            conn.close_after_pending(4004, "Authentication failed.")
            return False
        self.expire()
        session = self.sessions.get(d.get("session_id"))  # type: ignore[arg-type]
        seq = d.get("seq")
        oldest = session.buffer[0][0] if session and session.buffer else 1
        if (
            session is None
            or type(seq) is not int
            or seq < oldest - 1  # what it missed is no longer kept
            or seq > session.seq  # it claims events this session never sent
        ):
            conn.send_op(9, False)
            return True
        session.left_at = None
        if session.conn is not None and session.conn is not conn:
            session.conn.close_after_pending(4000, "Session resumed elsewhere.")
        session.conn, conn.session = conn, session
        for s, frame in session.buffer:
            if s > seq:
                conn.send(frame)
                self.replayed += 1
        self._emit(session, "RESUMED", {"_trace": ["guildmind-emulator"]})
        return True

    def expire(self, older_than_s: float | None = None) -> int:
        """Forget the sessions without a websocket for longer than `older_than_s` (default:
        `session_ttl_s`); a RESUME of one is refused. Returns how many were forgotten."""
        ttl = self.session_ttl_s if older_than_s is None else older_than_s
        now = time.monotonic()
        gone = [
            sid for sid, s in self.sessions.items()
            if s.conn is None and s.left_at is not None and now - s.left_at >= ttl
        ]  # fmt: skip
        for sid in gone:
            del self.sessions[sid]
        return len(gone)

    def _request_members(self, session: Session, d: Any) -> None:
        if not isinstance(d, dict):
            return
        ids = d.get("guild_id")
        for gid in ids if isinstance(ids, list) else [ids]:
            guild = self.world.guilds.get(int(gid)) if str(gid).isdigit() else None
            if guild is None:
                continue
            query = str(d.get("query") or "")
            wanted = {int(u) for u in d.get("user_ids") or []}
            members = [
                uid
                for uid in guild.member_ids
                if (uid in wanted if wanted else self.world.users[uid].username.startswith(query))
            ]
            if d.get("limit"):
                members = members[: int(d["limit"])]
            chunk: dict[str, Any] = {
                "guild_id": str(guild.id),
                "members": [self.world.member_payload(guild, uid) for uid in members],
                "chunk_index": 0,
                "chunk_count": 1,
                "not_found": [],
            }
            if d.get("presences"):
                now = self.clock()
                chunk["presences"] = [
                    self.world.presence_payload(guild, uid, now)
                    for uid in members
                    if uid in guild.presences
                ]
            if d.get("nonce") is not None:
                chunk["nonce"] = d["nonce"]
            self._emit(session, "GUILD_MEMBERS_CHUNK", chunk)


def _without_content(data: dict[str, Any]) -> dict[str, Any]:
    """A message as an app without the MESSAGE_CONTENT intent gets it (forwarded text too)."""
    blank = {"content": "", "embeds": [], "attachments": []}
    payload = {**data, **blank}
    if data.get("message_snapshots"):
        payload["message_snapshots"] = [
            {**snap, "message": {**snap.get("message", {}), **blank}}
            for snap in data["message_snapshots"]
        ]
    return payload


def _mentions_bot(data: Any, gateway: Gateway) -> bool:
    bot_id = str(gateway.world.bot.id)
    mentions = data.get("mentions") if isinstance(data, dict) else None
    return any(isinstance(m, dict) and m.get("id") == bot_id for m in mentions or ())
