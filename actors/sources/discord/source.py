"""The `discord` and `emulator` sources: discord.py's `AutoShardedClient` inside a gateway actor.

`DiscordSource` implements `actors.sources.base.Source`. It runs the client (the shards of
`source.discord.shard_ids`, or all of them), turns messages, presence changes and member joins
into engine events (`normalise`), tells the hosts each guild's default channel when the guild
becomes available, answers the admins' slash commands (`commands`) and sends the bot's messages
through discord.py (which handles Discord's rate limits).

What belongs here: the source's state, its client built and run (`run`, restarts, the refusals
that stop it), malformed payloads and frames skipped and counted, IDENTIFY pacing, closing and the
reports. Its parts live beside it: the discord.py client (`client`), the event handlers
(`events`), the shards' cold-resume wiring (`sessions`) and sending (`sending`).

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
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

import discord

from actors.clock import Clock
from actors.routing.shards import bucket_of
from actors.sources.base import Offer
from actors.sources.discord import normalise as norm
from actors.sources.discord.client import SourceClient, close_starting, quiet_payload_loggers
from actors.sources.discord.endpoints import configure_discord_endpoints
from actors.sources.discord.events import SourceEvents
from actors.sources.discord.fast import FastPath
from actors.sources.discord.frames import guard_websockets
from actors.sources.discord.limits import Limits, limits_for, rest_gate
from actors.sources.discord.resume import ColdResume
from actors.sources.discord.sending import MessageSender
from actors.sources.discord.sessions import ShardSessions
from config import Config, DiscordSourceConfig

EMULATOR_TOKEN = "guildmind-emulator-token"
"""The token the `emulator` source presents (not a secret: the emulator is ours, on loopback)."""

log = logging.getLogger(__name__)

CallHost = Callable[..., Awaitable[Any]]
"""`call_host(guild_id, method, *args)`: a host method for the host holding the guild."""

Forget = Callable[..., Awaitable[dict]]
"""`forget(user_id, guild_id=None)`: erase a member everywhere, or in one guild (the gateway's
`forget_user`): {"guilds": n, "failed": hosts that could not finish}."""


class DiscordSource(SourceEvents, ShardSessions, MessageSender):
    """A gateway's Discord connection (one or more shards), as a `Source`: its client built and
    run (restarted after a failure, with backoff), malformed payloads skipped and counted, its
    IDENTIFYs paced; the event handlers (`events`), the cold resume (`sessions`) and sending
    (`sending`) are its mixins."""

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
        self.client: SourceClient | None = None
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

    # running ------------------------------------------------------------------------------
    def _make_client(self) -> SourceClient:
        quiet_payload_loggers()
        cfg = self.config
        client = SourceClient(
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
            await close_starting(self.client)

    async def _close_client(self, client: SourceClient) -> None:
        await self.resume.leave(client)  # sessions stored and left resumable first
        await client.close()

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

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
