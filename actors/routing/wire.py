"""What crosses the wire between gateways and guild hosts.

A `Batch` is what a gateway sends one host: engine events (ids, flags and times only) plus, for
the few messages a round may need to read, `Line`s of transcript that the host keeps in memory
for a short while and never persists. Batches are numbered per gateway→host link so the host can
apply them in order and ignore a batch Ray delivers twice.

One bad event never costs the others in its batch. The gateway admits only events whose ids are
snowflakes and whose text is valid Unicode (`clean_text`); should a batch still fail to encode,
`encode_batch` leaves out the events that cannot be encoded and sends the rest under the same
number (a link's numbering never has a gap), and on the host `decode_batch` decodes event by event
when the batch as a whole cannot be, so an undecodable event is skipped and counted alone.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import msgspec

from actions import OutgoingMessage
from engine import Event, Snowflake


class Line(msgspec.Struct, frozen=True, gc=False, array_like=True):
    """One message of a guild's recent transcript (in memory only, never stored or logged)."""

    guild_id: Snowflake
    channel_id: Snowflake
    message_id: Snowflake
    author_id: Snowflake
    author: str
    content: str
    at: float
    mentions_bot: bool = False


class Batch(msgspec.Struct, frozen=True, array_like=True):
    """Events for one host from one gateway, in arrival order.

    `sent_at` is the gateway's wall time when the oldest event arrived (for event→decision
    latency); `seq` counts batches on the `gateway`→host link from 0 within the gateway's
    `epoch` (nanoseconds since the epoch when that incarnation started), and `floor` is the
    lowest it still has in flight there (see `actors.routing.sequencer`).
    """

    gateway: str
    seq: int
    floor: int  # the lowest seq this gateway still has in flight to this host
    sent_at: float
    events: list[Event]
    lines: list[Line] = []
    epoch: int = 0  # the gateway's incarnation: a restarted gateway numbers from 0 in a new one


class BatchReply(msgspec.Struct, frozen=True, array_like=True):
    """What a host says about a batch: applied events, duplicates and bad events skipped."""

    applied: int
    duplicate: bool = False
    malformed: int = 0


class Outbox(msgspec.Struct, frozen=True, array_like=True):
    """Messages a host's rounds want sent, for the gateway that owns their guilds."""

    messages: list[OutgoingMessage]
    reason: str = ""  # why the bot speaks (the decision's reason), for consoles and logs


def clean_text(text: str) -> str:
    """`text` as valid Unicode: each lone surrogate (a "\\ud800" escape in a gateway payload, which
    no encoder takes) replaced by U+FFFD; `text` itself when it has none (the usual case)."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # a surrogate *pair* split over two code points becomes its one character again
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


def encode_batch(batch: Batch, encode: Callable[[object], bytes]) -> tuple[bytes, list[Event]]:
    """`batch` encoded, and the events left out of it (none, usually).

    When the batch cannot be encoded as a whole, the events (and transcript lines) that cannot
    be are left out and the rest is encoded under the same number: the host still gets the
    batch, so the link's numbering has no gap and the other guilds' events are not lost."""
    try:
        return encode(batch), []
    except (TypeError, ValueError, OverflowError):  # UnicodeEncodeError is a ValueError
        pass
    events: list[Event] = []
    left_out: list[Event] = []
    for event in batch.events:
        (events if _encodes(event, encode) else left_out).append(event)
    lines = [line for line in batch.lines if _encodes(line, encode)]
    return encode(msgspec.structs.replace(batch, events=events, lines=lines)), left_out


def _encodes(item: object, encode: Callable[[object], bytes]) -> bool:
    try:
        encode(item)
    except (TypeError, ValueError, OverflowError):
        return False
    return True


class _LooseBatch(msgspec.Struct, array_like=True):
    """A `Batch` whose events and lines are left encoded, to be decoded one by one."""

    gateway: str
    seq: int
    floor: int
    sent_at: float
    events: list[msgspec.Raw]
    lines: list[msgspec.Raw] = []
    epoch: int = 0


_BATCH = msgspec.msgpack.Decoder(Batch)
_LOOSE = msgspec.msgpack.Decoder(_LooseBatch)
_EVENT = msgspec.msgpack.Decoder(Event)
_LINE = msgspec.msgpack.Decoder(Line)
_ANY = msgspec.msgpack.Decoder()
_TAGS = frozenset(("message", "presence", "member_join"))  # the events' tags: metric types
_BAD = (msgspec.DecodeError, msgspec.ValidationError)


def decode_batch(data: bytes) -> tuple[Batch, list[str]]:
    """A batch from the wire, and the types ("message", …, "other") of the events in it that
    could not be decoded, which it leaves out.

    One call for a good batch; when the batch as a whole cannot be decoded, its events and lines
    are decoded one by one and only the bad ones are left out. Raises `msgspec.DecodeError` or
    `msgspec.ValidationError` when not even the batch's own fields (its number) can be read."""
    try:
        return _BATCH.decode(data), []
    except _BAD:
        loose = _LOOSE.decode(data)
    events: list[Event] = []
    bad: list[str] = []
    for raw in loose.events:
        try:
            events.append(_EVENT.decode(raw))
        except _BAD:
            bad.append(_tag(raw))
    lines: list[Line] = []
    for raw in loose.lines:  # a transcript line only: its message event is counted on its own
        with contextlib.suppress(*_BAD):
            lines.append(_LINE.decode(raw))
    batch = Batch(loose.gateway, loose.seq, loose.floor, loose.sent_at, events, lines, loose.epoch)
    return batch, bad


def _tag(raw: msgspec.Raw) -> str:
    try:
        fields = _ANY.decode(raw)
    except _BAD:
        return "other"
    tag = fields[0] if isinstance(fields, list) and fields else None
    return tag if isinstance(tag, str) and tag in _TAGS else "other"
