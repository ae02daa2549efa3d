"""The `discord` and `emulator` sources: discord.py's `AutoShardedClient` inside a gateway actor.

`DiscordSource` implements `actors.sources.base.Source`. It runs the client (the shards of
`source.discord.shard_ids`, or all of them), turns messages, presence changes and member joins
into engine events (`normalise`), tells the hosts each guild's default channel when the guild
becomes available, answers the admins' slash commands (`commands`) and sends the bot's messages
through discord.py (which handles Discord's rate limits).

Robustness. discord.py 2.7.1 runs each gateway event's parser (`ConnectionState.parsers`, a dict
built once per client and shared with every shard's websocket) straight from the websocket's read
loop: an exception in a parser (a malformed payload) escapes `Client.start()` and the client
receives nothing more. discord.py has no public hook here, so each parser in that dict is wrapped:
a failure is counted (`guildmind_events_dropped_total{reason="malformed"}`), logged once per event
kind, and the session goes on. Anything else that still stops the client restarts it, with
backoff. A refused token or refused privileged intents stop the source with one clear sentence.

Content. discord.py logs every gateway payload (what each member wrote) and every REST body at
DEBUG, on the loggers `discord.gateway` and `discord.http`: the source drops those two's DEBUG
records, so debug logging (`guildmind -v`) never writes a message's text. guildmind's own log lines
name event kinds and exception types, never content.

Secrets. The token is read from the environment variable `source.discord.token_env` inside the
gateway's own process (never a Ray argument) and never appears in a log line or an error.
"""

from __future__ import annotations

import asyncio
import collections
import io
import logging
import os
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import discord
from discord.gateway import KeepAliveHandler

from actions import OutgoingMessage
from actors.clock import Clock
from actors.routing.shards import bucket_of
from actors.sources.base import Offer
from actors.sources.discord import normalise as norm
from actors.sources.discord.commands import command_tree
from actors.sources.discord.endpoints import configure_discord_endpoints
from actors.sources.discord.fast import FastPath
from actors.sources.discord.frames import guard_websockets
from actors.sources.discord.limits import InvalidRequestBudget, Limits, limits_for, rest_gate
from actors.sources.discord.resume import ColdResume, Load, Save, Settle
from config import Config, DiscordSourceConfig
from engine import valid_id

EMULATOR_TOKEN = "guildmind-emulator-token"
"""The token the `emulator` source presents (not a secret: the emulator is ours, on loopback)."""

log = logging.getLogger(__name__)

CallHost = Callable[..., Awaitable[Any]]
"""`call_host(guild_id, method, *args)`: a host method for the host holding the guild."""

Forget = Callable[..., Awaitable[dict]]
"""`forget(user_id, guild_id=None)`: erase a member everywhere, or in one guild (the gateway's
`forget_user`): {"guilds": n, "failed": hosts that could not finish}."""


# guildmind never speaks in voice: no warnings about voice libraries it does not need
discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
DISPATCHED_KINDS = {
    "message": "message",
    "presence_update": "presence",
    "member_join": "member_join",
}
"""discord.py's event (what a handler gets) → the metrics' event type label."""
PAYLOAD_LOGGERS = ("discord.gateway", "discord.http")
"""discord.py's loggers that write whole payloads (message text) at DEBUG."""


def _no_payloads(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.INFO


def _quiet_payload_loggers() -> None:
    # A filter, not a level: a level would also let their INFO lines through where the root
    # is at WARNING. A logger's filter applies to its own records, whatever the root's level.
    for name in PAYLOAD_LOGGERS:
        logger = logging.getLogger(name)
        if _no_payloads not in logger.filters:
            logger.addFilter(_no_payloads)


async def _close_starting(client: discord.Client) -> None:
    """Close the websockets of `client`'s shards that were still starting when it closed.

    discord.py starts a shard's heartbeat thread at HELLO but closes only the shards that have
    finished starting: a client closed while a shard starts (an IDENTIFY refused and retried, a
    handover) would leave that socket open and its thread beating into a closed event loop."""
    state = client._connection
    for thread in threading.enumerate():
        if isinstance(thread, KeepAliveHandler) and getattr(thread.ws, "_connection", 0) is state:
            await thread.ws.close(code=1000)


class _Client(discord.AutoShardedClient):
    """discord.py's client, handing the events guildmind needs straight to the source."""

    def __init__(self, source: DiscordSource, **options: Any) -> None:
        super().__init__(**options)
        self.source = source
        self.tree = command_tree(self, source)

    def dispatch(self, event: str, /, *args: Any, **kwargs: Any) -> None:
        # Handled synchronously in the parser's call: no task per event (the hot path).
        handler = self.source.handlers.get(event)
        if handler is not None:
            try:
                handler(*args)
            except Exception as e:
                self.source.handler_failed(event, e)
        super().dispatch(event, *args, **kwargs)

    async def launch_shard(self, gateway: Any, shard_id: int, *, initial: bool = False) -> None:
        if self.user is not None:  # (set by login) a replay's mentions of the bot are seen
            self.source.bot_id = self.user.id
        if not await self.source.resume.launch(self, shard_id, initial=initial):
            await super().launch_shard(gateway, shard_id, initial=initial)

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        # instead of discord.py's 5 s sleep (per process): the bot's shared limits
        await self.source.before_identify(self, shard_id or 0)


class DiscordSource:
    """A gateway's Discord connection (one or more shards), as a `Source`."""

    def __init__(
        self,
        config: DiscordSourceConfig,
        clock: Clock,
        *,
        token: str,
        emulated: bool = False,
        moods: tuple[str, ...] = (),
        names: tuple[str, ...] = (),
        limits: Limits | None = None,
    ) -> None:
        self.config, self.clock, self.emulated, self.moods = config, clock, emulated, moods
        # Discord's per-bot limits: the runtime's shared ones, or this process's own
        self.limits: Limits = limits or limits_for(config, getattr(clock, "speed", 1.0))
        self._max_concurrency = 0  # IDENTIFY buckets (GET /gateway/bot), asked once
        self.names = names  # what people call the bot (`normalise.addresses_bot`)
        self._token = token
        self.client: _Client | None = None
        self.fast: FastPath | None = None
        self.offer: Offer = lambda event, line: False
        self.call_host: CallHost | None = None
        self.metrics: Any = None
        self.error: str | None = None
        self.bot_id = 0
        self.channels: dict[int, frozenset[int]] = {}  # guild → channels that count ({}: all)
        self._own: dict[int, None] = {}  # the bot's recent message ids (replies to it)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._synced = False
        self.counts: collections.Counter[str] = collections.Counter()
        self.malformed: collections.Counter[str] = collections.Counter()
        self.handlers: dict[str, Callable[..., None]] = {
            "message": self._on_message,
            "presence_update": self._on_presence,
            "member_join": self._on_join,
            "guild_available": self._on_guild,
            "guild_join": self._on_guild,
            "guild_remove": self._on_removed,
            "ready": self._on_ready,
            "shard_connect": self._on_shard_connect,
            "shard_ready": self._on_shard_ready,
            "shard_resumed": self._on_shard_resumed,
        }
        self.forget: Forget | None = None
        self.resume = ColdResume(config)
        self._asked: set[int] = set()  # guilds of cold-resumed shards asked for their channels

    def __repr__(self) -> str:  # never the token
        return f"DiscordSource(emulated={self.emulated}, shards={list(self.config.shard_ids)})"

    def attach(self, call_host: CallHost, metrics: Any, forget: Forget | None = None) -> None:
        """The gateway's way to its hosts, its metrics (for malformed payloads) and its way to
        erase a member everywhere (`/guildmind-forget-me`)."""
        self.call_host, self.metrics, self.forget = call_host, metrics, forget
        self.resume.observe = getattr(metrics, "gateway_session", None)

    @property
    def resumable(self) -> bool:
        """Whether this source keeps its shards' sessions (`source.discord.cold_resume`)."""
        return self.resume.enabled

    def keep_sessions(self, load: Load, save: Save, settle: Settle) -> None:
        """Where the shards' sessions are kept, and the gateway's barrier (cold resume)."""
        self.resume.attach(load, save, settle)

    # running ------------------------------------------------------------------------------
    def _make_client(self) -> _Client:
        _quiet_payload_loggers()
        cfg = self.config
        client = _Client(
            self,
            intents=norm.intents(cfg.intents),
            shard_ids=list(cfg.shard_ids) or None,
            shard_count=cfg.shard_count or None,
            guild_ready_timeout=0.1 if self.emulated else 2.0,
            max_ratelimit_timeout=30.0,  # a longer wait is a failed send, not a stuck round
            # no message cache: discord.py would keep the last 1,000 messages (their text) in
            # this process for as long as it runs; guildmind reads each message once, as it comes
            max_messages=None,
            allowed_mentions=discord.AllowedMentions(everyone=False, roles=False),
            http_trace=rest_gate(self.limits),  # every REST request paced by the shared limits
        )
        parsers = client._connection.parsers  # the dict every shard's websocket reads
        for name, parse in list(parsers.items()):
            parsers[name] = self._guarded(name, parse)
        # a frame that never reaches a parser (not JSON, nested too deep…) must not end the
        # session; a plain message never reaches discord.py's models (`fast`)
        self.fast = FastPath(self, client._connection._guilds) if cfg.fast_ingest else None
        guard_websockets(client._connection, self._frame_failed, self.fast and self.fast.take)
        self.resume.reset()
        self.resume.watch(client._connection)
        return client

    def _guarded(self, name: str, parse: Callable[[Any], None]) -> Callable[[Any], None]:
        kind = norm.EVENT_KINDS.get(name, "other")

        def guarded(data: Any) -> None:
            try:
                parse(data)
            except Exception as e:
                self._skipped(f"a malformed {name} payload", kind, "malformed", e)

        return guarded

    def _frame_failed(self, kind: str, reason: str, error: BaseException) -> None:
        self._skipped(f"a gateway frame ({reason}, type {kind})", kind, reason, error)

    def _skipped(self, what: str, kind: str, reason: str, error: BaseException | None) -> None:
        """Count what was skipped (`reason`: a drop reason) and log the first of each `what`."""
        self.malformed[what] += 1
        if self.metrics is not None:
            self.metrics.dropped(kind, reason)
        if self.malformed[what] == 1:  # the type only: a message could hold content
            log.warning(
                "discord: skipped %s (%s); the session goes on, further ones are only counted",
                what, type(error).__name__ if error is not None else reason,
            )  # fmt: skip

    async def run(self, offer: Offer) -> None:
        """Connect and feed `offer` until cancelled, or until Discord refuses the bot."""
        self.offer = offer
        if not self._token:
            return self._fail(
                f"no bot token: set the environment variable {self.config.token_env} (the bot's "
                "token from the Discord Developer Portal → your application → Bot)"
            )
        cfg = self.config
        configure_discord_endpoints(cfg.api_base or None, cfg.gateway_url or None)
        if self.resume.active:
            self._spawn(self.resume.keep(lambda: self.client))
        backoff = 1.0
        while True:
            self.client = self._make_client()
            try:
                await self.client.start(self._token)
                return
            except discord.LoginFailure:
                return self._fail(
                    f"Discord refused the bot token in ${self.config.token_env}; copy a fresh one "
                    "from the Discord Developer Portal → your application → Bot → Reset Token"
                )
            except discord.PrivilegedIntentsRequired:
                asked = ", ".join(norm.privileged_asked(cfg.intents)) or "none"
                return self._fail(
                    f"Discord refused the privileged gateway intents guildmind asked for ({asked})"
                    ": enable them in the Discord Developer Portal → your application → Bot → "
                    "Privileged Gateway Intents, or turn them off in guildmind.toml under "
                    "[source.discord.intents] (e.g. presences = false)"
                )
            except Exception as e:
                self.counts["restarts"] += 1
                log.error(
                    "discord: the client stopped (%s); connecting again in %.0f s",
                    type(e).__name__, backoff,
                )  # fmt: skip
            finally:
                if not self.client.is_closed():
                    await self._close_client(self.client)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 60.0)

    async def before_identify(self, client: discord.AutoShardedClient, shard_id: int) -> None:
        """Wait for `shard_id`'s IDENTIFY bucket's turn (the bot's shared limits)."""
        if not self._max_concurrency:
            try:
                limits = await client.fetch_session_start_limits()
                self._max_concurrency = max(1, limits.max_concurrency)
            except Exception as e:  # ask again next time; until then one bucket (the safe side)
                log.warning("discord: GET /gateway/bot failed (%s)", type(e).__name__)
        waited = await self.limits.identify(bucket_of(shard_id, self._max_concurrency or 1))
        self.counts["identify_waited_ms"] += int(waited * 1000)

    def _fail(self, sentence: str) -> None:
        self.error = sentence
        log.error("discord: %s", sentence)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self.client is not None and not self.client.is_closed():
            await self._close_client(self.client)
        if self.client is not None:
            await _close_starting(self.client)

    async def _close_client(self, client: _Client) -> None:
        await self.resume.leave(client)  # sessions stored and left resumable first
        await client.close()

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def handler_failed(self, event: str, error: Exception) -> None:
        # discord.py took a mangled payload (content, flags or mentions of the wrong type) that
        # the source cannot read: that payload is skipped and counted, like one discord.py refused
        self.counts["handler_errors"] += 1
        kind = DISPATCHED_KINDS.get(event, "other")
        self._skipped(f"a {event} event the source could not read", kind, "malformed", error)

    # events -------------------------------------------------------------------------------
    def _on_message(self, message: discord.Message) -> None:
        guild = message.guild
        guild_id = guild.id if guild is not None else self._uncached_guild(message)
        if guild_id is None:
            if getattr(message.channel, "guild_id", None) is not None:  # not a direct message
                self._skipped("a message of a guild the bot is not in", "message",
                              "unknown_guild", None)  # fmt: skip
            else:
                self.counts["direct"] += 1  # the bot speaks in guilds only
            return
        if not norm.is_conversation(message):
            self.counts["not_conversation"] += 1  # a pin, a join, a boost…: nobody spoke
            return
        autonomous = self.autonomous(guild_id, message.channel.id)
        # Its name is heard only where the bot lives: elsewhere people talk *about* Miku.
        names = self.names if autonomous else ()
        addressed = norm.addresses_bot(message, self.bot_id, self._own, names)
        if not (autonomous or addressed):
            return  # not where the bot lives, and not for it: nothing would count it
        event = norm.message_event(
            message, bot_id=self.bot_id, at=self.clock.now(), addressed=addressed,
            guild_id=guild_id, replayed=self._replayed(guild_id),
        )  # fmt: skip
        if event is None:
            return
        self.counts["messages"] += 1
        self.offer(event, norm.line(message, event))

    def autonomous(self, guild_id: int, channel_id: int) -> bool:
        """True when the bot lives in that channel (all of a guild's, until told otherwise)."""
        counted = self.channels.get(guild_id)
        return not counted or channel_id in counted

    def _uncached_guild(self, message: discord.Message) -> int | None:
        """The guild of a message discord.py has no guild for, when its shard was cold-resumed
        (no GUILD_CREATE came: see `resume`); None for any other guild-less message."""
        client, gid = self.client, getattr(message.channel, "guild_id", None)
        if not (self.resume.cold and client is not None and valid_id(gid)):
            return None
        if (gid >> 22) % (client.shard_count or 1) not in self.resume.cold:
            return None
        if gid not in self._asked and self.call_host is not None:
            self._asked.add(gid)  # where the bot lives there (what GUILD_CREATE would tell)
            self._spawn(self._tell_default(gid, 0))
        return gid

    def _resuming(self, client: _Client) -> bool:
        # a reply to a message Discord replays comes before RESUMED: REST works since the login
        return bool(self.resume.cold) and client.user is not None and not client.is_closed()

    def _replayed(self, guild_id: int) -> bool:
        client = self.client
        return client is not None and self.resume.replayed(guild_id, client.shard_count or 1)

    def _on_shard_connect(self, shard_id: int) -> None:
        self.resume.connected(shard_id)

    def _on_shard_resumed(self, shard_id: int) -> None:
        if self.resume.resumed(shard_id):
            self._all_ready()

    def _on_shard_ready(self, shard_id: int) -> None:
        if self.resume.ready(shard_id):
            self._all_ready()

    def _all_ready(self) -> None:
        # every shard RESUMED or ready: discord.py waits for a READY from each, which a resumed
        # shard never gets, so its client is marked ready here (what its "ready" handler does)
        client = self.client
        if client is not None and self.resume.cold and not client.is_ready():
            client._handle_ready()
            self._on_ready()

    def _on_presence(self, before: discord.Member, after: discord.Member) -> None:
        event = norm.presence_event(before, after, at=self.clock.now())
        if event is not None:
            self.counts["presences"] += 1
            self.offer(event, None)

    def _on_join(self, member: discord.Member) -> None:
        event = norm.join_event(member, at=self.clock.now())
        if event is not None:
            self.counts["joins"] += 1
            self.offer(event, None)

    def _on_guild(self, guild: discord.Guild) -> None:
        if not valid_id(guild.id):  # no host could keep it: the stores refuse such an id
            self._skipped("a guild whose id is no snowflake", "other", "invalid_id", None)
            return
        for event in norm.online_members(guild, at=self.clock.now()):
            self.offer(event, None)
        channel = norm.default_channel(guild)
        if self.call_host is not None:  # (also when it has no channel: the bot is back there)
            self._spawn(self._tell_default(guild.id, channel or 0))

    def _on_removed(self, guild: discord.Guild) -> None:
        # discord.py dispatches guild_remove only for a GUILD_DELETE that is not an outage
        # (an unavailable guild is guild_unavailable): the bot was removed, or the guild deleted
        self.channels.pop(guild.id, None)
        if self.call_host is not None:
            self._spawn(self._tell_left(guild.id))

    async def _tell_left(self, guild_id: int) -> None:
        assert self.call_host is not None
        try:
            await self.call_host(guild_id, "left")
        except Exception as e:
            log.error("discord: could not tell a host the bot left a guild: %s", type(e).__name__)

    async def _tell_default(self, guild_id: int, channel_id: int) -> None:
        assert self.call_host is not None
        try:
            counted = await self.call_host(guild_id, "set_default_channel", channel_id)
        except Exception as e:
            log.error("discord: could not tell a host a guild's channel: %s", type(e).__name__)
            return
        self.channels[guild_id] = frozenset(counted)

    def set_channels(self, guild_id: int, counted: list[int]) -> None:
        """A slash command changed where the bot lives."""
        self.channels[guild_id] = frozenset(counted)

    def _on_ready(self) -> None:
        assert self.client is not None and self.client.user is not None
        self.bot_id = self.client.user.id
        if not self._synced:
            self._synced = True
            self._spawn(self._sync_commands())

    async def _sync_commands(self) -> None:
        assert self.client is not None
        try:
            await self.client.tree.sync()
        except discord.HTTPException as e:
            log.error("discord: could not register the slash commands (HTTP %s)", e.status)

    # sending ------------------------------------------------------------------------------
    async def send(self, message: OutgoingMessage) -> str | None:
        """Send one of the bot's messages; None when it went out, else why not."""
        client = self.client
        if client is None or not (client.is_ready() or self._resuming(client)):
            return self._failed("connection", message)
        channel = client.get_partial_messageable(message.channel_id, guild_id=message.guild_id)
        reference = None
        if message.reply_to:
            reference = discord.MessageReference(
                message_id=message.reply_to, channel_id=message.channel_id,
                guild_id=message.guild_id, fail_if_not_exists=False,
            )  # fmt: skip
        files = (
            [discord.File(io.BytesIO(message.attachment), filename=message.filename or "file")]
            if message.attachment
            else None
        )  # an image a plugin sends (a MoFox sticker), uploaded with the message
        try:
            async with asyncio.timeout(60):
                sent = await channel.send(message.text or None, reference=reference, files=files)  # type: ignore[arg-type]
        except discord.Forbidden:
            return self._failed("forbidden", message)
        except discord.NotFound:
            return self._failed("not_found", message)
        except (discord.RateLimited, InvalidRequestBudget):
            return self._failed("rate_limited", message)
        except discord.HTTPException as e:
            return self._failed("rate_limited" if e.status == 429 else "http_error", message)
        except TimeoutError:
            return self._failed("timeout", message)
        except (aiohttp.ClientError, OSError):
            return self._failed("connection", message)
        self.counts["sent"] += 1
        self._own[sent.id] = None
        if len(self._own) > 1_000:
            del self._own[next(iter(self._own))]
        return None

    def _failed(self, reason: str, message: OutgoingMessage) -> str:
        self.counts["send_failed"] += 1
        n = self.counts[f"send_failed:{reason}"] = self.counts[f"send_failed:{reason}"] + 1
        if n == 1 or n % 100 == 0:  # counted always, logged now and then; never the text
            log.warning(
                "discord: a %s message could not be sent (%s; %d so far)", message.action, reason, n
            )
        return reason

    # reporting ----------------------------------------------------------------------------
    def stats(self) -> dict[str, float]:
        client = self.client
        return {
            "messages": self.counts["messages"],
            "fast_messages": self.fast.taken if self.fast is not None else 0,
            "not_conversation": self.counts["not_conversation"],
            "presences": self.counts["presences"],
            "joins": self.counts["joins"],
            "malformed_payloads": sum(self.malformed.values()),
            "restarts": self.counts["restarts"],
            "guilds": len(client.guilds) if client is not None else 0,
            "sent": self.counts["sent"],
            "send_failed": self.counts["send_failed"],
            **self.resume.stats(),
        }

    def status(self) -> dict[str, Any]:
        client = self.client
        ready = client is not None and client.is_ready() and not client.is_closed()
        return {"ready": ready, "error": self.error, "guilds": self.stats()["guilds"]}


def make_discord_source(
    config: Config, clock: Clock, limits: Limits | None = None
) -> DiscordSource:
    """The `discord` source (token from the environment) or the `emulator` one (loopback), paced
    by `limits` (the runtime's shared ones; None: its own)."""
    d = config.source.discord
    emulated = config.source.kind == "emulator"
    if emulated and not (d.api_base and d.gateway_url):
        raise ValueError(
            "the emulator source needs source.discord.api_base and gateway_url (guildmind run "
            "--source emulator starts an emulator and sets them)"
        )
    token = EMULATOR_TOKEN if emulated else os.environ.get(d.token_env, "").strip()
    return DiscordSource(
        d, clock, token=token, emulated=emulated, moods=config.mood_book().names(),
        names=d.names or (config.runtime.bot_name,), limits=limits,
    )  # fmt: skip
