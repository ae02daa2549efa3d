"""discord.py's gateway frames: one it cannot read costs that frame, never the session.

discord.py 2.7.1 reads each frame in `DiscordWebSocket.received_message`: the compressed stream
is inflated and decoded as UTF-8, `json.loads` (or orjson) parses it, and `op`, `t`, `s` and `d`
are read from it before the event's parser runs (the parsers are guarded in `source`). An
exception there escapes the shard's read loop, and discord.py ends the session: the client
IDENTIFYs anew, with a new session, and whatever was sent meanwhile is lost. Such a frame is one
nested deeper than the JSON decoder goes (a `RecursionError`), one that is not JSON, not UTF-8 or
not a JSON object, or one whose event name is not a string.

discord.py has no hook there, so each websocket's `received_message` is wrapped as discord.py
makes it (`ConnectionState._update_references`, which `DiscordWebSocket.from_client` calls for
every new websocket, before the first frame): a frame that cannot be read is counted, by the
event name it seems to carry, and skipped; the session goes on. A frame whose `s` is not a
sequence number keeps the last good one (a RESUME with it would be refused). Only a compressed
stream that is itself corrupt cannot go on: the shard then RESUMEs (same session; Discord replays
what was missed), never IDENTIFYs.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from typing import Any

import aiohttp
from discord.errors import ConnectionClosed
from discord.gateway import DiscordWebSocket, ReconnectWebSocket, WebSocketClosure

from actors.sources.discord.normalise import EVENT_KINDS

Failed = Callable[[str, str, BaseException], None]
"""`(event type, reason, error)`: a frame was skipped; reason "undecodable" or "malformed"."""
Fast = Callable[[Any, "str | bytes"], bool]
"""`(websocket, inflated frame) → taken`: the fast ingest path (`fast.FastPath.take`); a frame
it does not take (False) is read by discord.py as usual."""

# how discord.py ends a session or asks for another one: these are not the frame's fault
_CONTROL = (
    ReconnectWebSocket, ConnectionClosed, WebSocketClosure, OSError, aiohttp.ClientError,
    asyncio.TimeoutError,
)  # fmt: skip
# the frame could not be read at all (orjson's JSONDecodeError is json's too)
_UNREADABLE = (RecursionError, json.JSONDecodeError, UnicodeDecodeError)
_NAME = re.compile(r'"t"\s*:\s*"([A-Z_]{1,64})"')
_NAME_BYTES = re.compile(rb'"t"\s*:\s*"([A-Z_]{1,64})"')
_MAX_SEQ = 2**63


def event_kind(frame: str | bytes) -> str:
    """The metrics' event type of the event a frame names ("other" when it names none)."""
    found = (_NAME_BYTES if isinstance(frame, bytes) else _NAME).search(frame)  # type: ignore[arg-type]
    if found is None:
        return "other"
    name = found[1].decode() if isinstance(found[1], bytes) else found[1]
    return EVENT_KINDS.get(name, "other")


def guard_websockets(state: Any, failed: Failed, fast: Fast | None = None) -> None:
    """Guard every websocket discord.py makes for `state` (a client's `_connection`); `fast`
    sees each inflated frame first."""
    update_references = state._update_references

    def guarded_update(ws: DiscordWebSocket) -> None:
        guard(ws, failed, fast)
        update_references(ws)

    state._update_references = guarded_update


def guard(ws: DiscordWebSocket, failed: Failed, fast: Fast | None = None) -> None:
    """Wrap `ws.received_message` so a frame it cannot read is reported to `failed`, skipped;
    a frame `fast` takes never reaches discord.py."""
    received = ws.received_message

    async def received_message(msg: Any, /) -> None:
        if type(msg) is bytes:
            # inflated here (discord.py skips it for text), to know what a bad frame was
            try:
                msg = ws._decompressor.decompress(msg)
            except UnicodeDecodeError as e:  # the stream is whole; this frame is no text
                failed(event_kind(e.object), "undecodable", e)
                return
            except Exception as e:  # the stream itself is corrupt: nothing after it reads
                # as discord.py does for RECONNECT: close first (it stops the keep-alive thread,
                # which would otherwise go on heartbeating into a dead socket), then resume
                await ws.close()
                raise ReconnectWebSocket(ws.shard_id, resume=True) from e
            if msg is None:
                return  # a part of a frame
        if fast is not None and fast(ws, msg):
            return
        sequence = ws.sequence
        try:
            await received(msg)
        except _CONTROL:
            raise
        except Exception as e:
            reason = "undecodable" if isinstance(e, _UNREADABLE) else "malformed"
            failed(event_kind(msg), reason, e)
        seq = ws.sequence
        if seq is not sequence and not (type(seq) is int and 0 <= seq < _MAX_SEQ):
            ws.sequence = sequence

    ws.received_message = received_message  # type: ignore[method-assign]
