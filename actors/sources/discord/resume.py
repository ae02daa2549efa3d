"""Cold resume: a restarted gateway RESUMEs its shards' Discord sessions instead of IDENTIFYing.

discord.py keeps each shard's session (its id, the last sequence number, the resume URL) on the
shard's websocket and RESUMEs it after a dropped connection, but only inside one process: a new
process identifies, starting a new session, and whatever Discord sent meanwhile is lost. Twilight
(`twilight_gateway::Session`, handed back through `ConfigBuilder::session`) and discord.js's
`@discordjs/ws` (`SessionInfo`: shard id, shard count, session id, sequence, resume URL) let the
application keep that record and hand it back ("cold resume"); discord.py has no such door, so
this module makes one with discord.py's own `DiscordWebSocket.from_client(session=, sequence=,
resume=True)`, the call its shards make to RESUME.

Saving (write-behind). Every `session_save_s` the shards' sequence numbers are read; then the
gateway's `settle()` waits until every event offered up to then has been applied by its host;
only then is the record written to the state store (`StateStore.save_sessions`, keyed by shard
id). The stored sequence therefore never runs ahead of what the hosts applied: a SIGKILL loses
nothing, Discord replays everything after it. It may lag behind: the messages between it and the
kill are replayed though applied once already, and the hosts skip them by message id
(`actors.loop.replays`). On a stop the same is done once more and the websockets close with code
4000: a close with 1000 or 1001 ends the session on Discord's side (Discord's gateway docs,
"Disconnecting"), any other code keeps it resumable (Twilight's `CloseFrame::RESUME` is 4000 too).

Starting. A shard whose stored session belongs to this bot, has the same shard count and is
younger than `session_max_age_s` is launched by a RESUME to its resume URL. Discord replays what
the session missed, then sends RESUMED; or it refuses (INVALID_SESSION: expired, unknown), and
discord.py identifies as usual: counted `refused`. A resumed shard never sees READY, so the client
is marked ready here once every shard has RESUMED or become ready.

What a cold-resumed shard lacks: discord.py's caches (guilds, channels, members) are filled by
READY and GUILD_CREATE, which a RESUME does not repeat. Messages still reach their guilds (the
source reads the guild id from the payload's channel), and replies go out (sending needs ids
only); presence updates and member joins of guilds discord.py does not know are dropped by
discord.py until the shard next identifies.

Nothing personal is kept: the record holds ids, a number, a URL and times.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

import msgspec
import yarl
from discord.gateway import DiscordWebSocket
from discord.shard import Shard

from config import DiscordSourceConfig

log = logging.getLogger(__name__)

Load = Callable[[Iterable[int]], Mapping[int, bytes]]
"""`load(shard_ids)`: the stored records of these shards (blocking: run in a thread)."""
Save = Callable[[Mapping[int, bytes]], None]
"""`save({shard_id: record})`: store these records (blocking: run in a thread)."""
Settle = Callable[[], Awaitable[bool]]
"""`settle()`: True once every event offered before the call reached its host (the gateway's)."""

RESUME_CLOSE_CODE = 4000
"""Closing with it keeps the session resumable (1000 and 1001 end it)."""
SETTLE_TIMEOUT_S = 30.0


class ShardSession(msgspec.Struct, frozen=True, kw_only=True):
    """One shard's gateway session, as stored (msgpack; new fields get defaults)."""

    version: int = 1
    shard_id: int
    shard_count: int
    session_id: str
    sequence: int
    resume_url: str
    bot_id: int
    saved_at: float  # wall time, seconds since the epoch


_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(ShardSession).decode


def decode_session(data: bytes) -> ShardSession | None:
    """The record in `data`, or None when it cannot be read (a newer or damaged format)."""
    try:
        record = _decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    return record if record.version == 1 else None


class ColdResume:
    """The sessions of one gateway's shards: kept in the store, handed back to discord.py.

    Counters (`counts`): `resumed` (Discord replayed and said RESUMED), `refused` (it answered
    INVALID_SESSION and the shard identified), `expired` (a stored session too old to try),
    `failed` (the resume's connection failed; the shard identified), `saved`, `save_failed`,
    `unsettled` (a save skipped because the hosts had not applied everything in time).
    """

    def __init__(self, config: DiscordSourceConfig, wall: Callable[[], float] = time.time) -> None:
        self.enabled = config.cold_resume
        self.save_s, self.max_age_s = config.session_save_s, config.session_max_age_s
        self.wall = wall
        self.load: Load | None = None
        self.save: Save | None = None
        self.settle: Settle | None = None
        self.counts: collections.Counter[str] = collections.Counter()
        # the gateway's metrics (`GuildmindMetrics.gateway_session`): resumed, refused, …
        self.observe: Callable[[str], None] | None = None
        self.sockets: dict[int, DiscordWebSocket] = {}  # each shard's current websocket
        self.cold: set[int] = set()  # shards resumed in this process (discord.py knows no guild)
        self.replaying: set[int] = set()  # cold-resumed shards whose RESUMED has not come yet
        self._stored: dict[int, ShardSession] | None = None  # read at the first launch
        self._unsettled: set[int] = set()  # shards neither RESUMED nor ready yet
        self._saved: dict[int, tuple[str, int]] = {}  # what the store holds: (session, sequence)
        self._leaving: asyncio.Future[None] | None = None

    def attach(self, load: Load, save: Save, settle: Settle) -> None:
        """Where the records are kept (the state store) and the gateway's barrier."""
        self.load, self.save, self.settle = load, save, settle

    @property
    def active(self) -> bool:
        return self.enabled and self.load is not None

    def _outcome(self, outcome: str) -> None:
        self.counts[outcome] += 1
        if self.observe is not None:
            self.observe(outcome)

    def reset(self) -> None:
        """A new discord.py client: read the store again at its first launch."""
        self._stored, self._leaving = None, None
        self.sockets.clear()
        self.cold.clear()
        self.replaying.clear()
        self._unsettled.clear()

    # discord.py's websockets --------------------------------------------------------------
    def watch(self, state: Any) -> None:
        """Follow every websocket discord.py makes for `state` (a client's `_connection`)."""
        update_references = state._update_references

        def watched(ws: DiscordWebSocket) -> None:
            if ws.shard_id is not None:
                self.sockets[ws.shard_id] = ws
            update_references(ws)

        state._update_references = watched

    async def launch(self, client: Any, shard_id: int, *, initial: bool) -> bool:
        """Launch `shard_id` of `client` (discord.py's `AutoShardedClient`) by a RESUME of its
        stored session; False when there is none to resume (then discord.py identifies)."""
        if not self.active:
            return False
        if self._stored is None:
            self._unsettled = set(client.shard_ids or range(client.shard_count))
            self._stored = await self._read(client)
        record = self._stored.pop(shard_id, None)
        if record is None:
            return False
        try:
            ws = await asyncio.wait_for(
                DiscordWebSocket.from_client(
                    client, initial=initial, gateway=yarl.URL(record.resume_url),
                    shard_id=shard_id, session=record.session_id, sequence=record.sequence,
                    resume=True,
                ),
                timeout=client.shard_connect_timeout,
            )  # fmt: skip
        except Exception as e:  # (discord.py's own launch retries a failed connect likewise)
            self._outcome("failed")
            log.warning("discord: shard %d could not resume (%s); identifying", shard_id,
                        type(e).__name__)  # fmt: skip
            return False
        # what AutoShardedClient.launch_shard does with the websocket it made (discord.py 2.7.1)
        shard = Shard(ws, client, client._AutoShardedClient__queue.put_nowait)
        client._AutoShardedClient__shards[shard_id] = shard
        self.cold.add(shard_id)
        self.replaying.add(shard_id)
        shard.launch()
        return True

    async def _read(self, client: Any) -> dict[int, ShardSession]:
        assert self.load is not None
        shards = list(client.shard_ids or range(client.shard_count))
        try:
            stored = await asyncio.to_thread(self.load, shards)
        except Exception as e:
            log.error("discord: the stored sessions cannot be read (%s); identifying", e)
            return {}
        bot_id = client.user.id if client.user is not None else 0
        now, usable = self.wall(), {}
        for shard_id, data in stored.items():
            record = decode_session(data)
            if (
                record is None
                or record.bot_id != bot_id
                or (record.shard_count != client.shard_count or record.shard_id != shard_id)
            ):
                continue  # another bot's, another sharding's, or unreadable: identify
            if now - record.saved_at > self.max_age_s:
                self._outcome("expired")
                continue
            usable[shard_id] = record
        return usable

    def resumed(self, shard_id: int) -> bool:
        """Discord said RESUMED on `shard_id`; True when every shard is now settled."""
        if shard_id in self.replaying:
            self.replaying.discard(shard_id)  # what follows is new
            self._outcome("resumed")
        return self._settled(shard_id)

    def connected(self, shard_id: int) -> None:
        """READY on `shard_id`: it identified (for a cold-resumed one: Discord refused it)."""
        if shard_id in self.cold:
            self.cold.discard(shard_id)  # discord.py gets its guilds again
            self.replaying.discard(shard_id)
            self._outcome("refused")
            log.warning("discord: shard %d's stored session was refused; identified", shard_id)

    def replayed(self, guild_id: int, shard_count: int) -> bool:
        """Whether an event of `guild_id` arriving now is one Discord replays to a cold-resumed
        shard (between the RESUME and RESUMED): it may have been delivered once already."""
        return bool(self.replaying) and (guild_id >> 22) % max(shard_count, 1) in self.replaying

    def ready(self, shard_id: int) -> bool:
        """`shard_id` is ready (READY and its guilds); True when every shard is now settled."""
        return self._settled(shard_id)

    def _settled(self, shard_id: int) -> bool:
        if shard_id not in self._unsettled:
            return False
        self._unsettled.discard(shard_id)
        return not self._unsettled

    # saving -------------------------------------------------------------------------------
    def snapshot(self, client: Any) -> dict[int, ShardSession]:
        """Each shard's session as it stands (what was offered so far), ready to store."""
        bot_id = client.user.id if client.user is not None else 0
        now, out = self.wall(), {}
        for shard_id, ws in self.sockets.items():
            sequence, session = ws.sequence, ws.session_id
            if type(sequence) is int and isinstance(session, str) and session:
                out[shard_id] = ShardSession(
                    shard_id=shard_id, shard_count=client.shard_count or 1, session_id=session,
                    sequence=sequence, resume_url=str(ws.gateway), bot_id=bot_id, saved_at=now,
                )  # fmt: skip
        return out

    async def checkpoint(self, client: Any) -> int:
        """Store the sessions whose sequence moved, once the hosts applied what it covers;
        how many were written."""
        if not self.active or self.settle is None or self.save is None:
            return 0
        records = self.snapshot(client)  # first: the barrier below covers exactly these
        changed = {
            sid: r for sid, r in records.items()
            if self._saved.get(sid) != (r.session_id, r.sequence)
        }  # fmt: skip
        if not changed:
            return 0
        try:
            settled = await asyncio.wait_for(self.settle(), SETTLE_TIMEOUT_S)
        except (TimeoutError, Exception) as e:
            settled = False
            log.info("discord: the gateway could not settle (%s)", type(e).__name__)
        if not settled:
            self.counts["unsettled"] += 1  # the stored sequences stay behind: nothing is lost
            return 0
        try:
            await asyncio.to_thread(self.save, {sid: _encode(r) for sid, r in changed.items()})
        except Exception as e:
            self.counts["save_failed"] += 1
            if self.counts["save_failed"] == 1:
                log.error("discord: the shards' sessions cannot be stored: %s", e)
            return 0
        self._saved.update((sid, (r.session_id, r.sequence)) for sid, r in changed.items())
        self.counts["saved"] += len(changed)
        return len(changed)

    async def keep(self, client: Callable[[], Any]) -> None:
        """Checkpoint every `session_save_s` seconds, for as long as the source runs."""
        while True:
            await asyncio.sleep(self.save_s)
            current = client()
            if current is not None and not current.is_closed():
                try:
                    await self.checkpoint(current)
                except Exception:
                    log.exception("discord: storing the sessions failed; going on")

    async def leave(self, client: Any) -> None:
        """Before `client.close()`: store the sessions, then close the websockets so that
        Discord keeps them resumable (discord.py would close with 1000, which ends them).
        Called twice (the source's task ends as the gateway stops it), it is done once."""
        if not self.active:
            return
        if self._leaving is None:
            self._leaving = asyncio.ensure_future(self._leave(client))
        await asyncio.shield(self._leaving)

    async def _leave(self, client: Any) -> None:
        await self.checkpoint(client)
        # a shard's reader would take the close below for a dropped connection and RESUME
        for shard in client._AutoShardedClient__shards.values():
            shard._cancel_task()
        for ws in list(self.sockets.values()):
            try:
                await ws.close(code=RESUME_CLOSE_CODE)
            except Exception as e:  # already closed, or the connection broke
                log.debug("discord: closing a shard's websocket: %s", type(e).__name__)

    def stats(self) -> dict[str, int]:
        return {f"sessions_{k}": v for k, v in sorted(self.counts.items())}
