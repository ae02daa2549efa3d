"""The :class:`Emulator` facade: one aiohttp server on loopback serving REST and the gateway.

Tests and the ``emulator`` source use only this class: start it, point discord.py at
``api_base`` / ``gateway_url`` (see ``actors.sources.discord.endpoints``), inject events, and read
what the bot sent from ``sent``.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Iterable
from typing import Any

from aiohttp import web

from guildmind.emulator.chatter import Chatter
from guildmind.emulator.gateway import (
    GUILD_MEMBERS,
    GUILD_MESSAGES,
    GUILD_PRESENCES,
    PRIVILEGED_INTENTS,
    Gateway,
)
from guildmind.emulator.limits import EmulatedLimits
from guildmind.emulator.messages import MessageLog
from guildmind.emulator.records import Counters, Recorder, SentMessage
from guildmind.emulator.rest import API_PREFIX, RestApi, SendLimits
from guildmind.emulator.state import OMIT, Guild, GuildSpec, World, iso

HAS_SNAPSHOT = 1 << 14  # message flags: a forward
IS_CROSSPOST = 1 << 1  # a followed channel's announcement, copied here

_log = logging.getLogger(__name__)
_LOOPBACK = ("127.0.0.1", "::1", "localhost")

DEFAULT_GUILDS = (
    GuildSpec("Busy Hangout", users=12, chatter="busy"),
    GuildSpec("Study Group", users=6, chatter="normal"),
    GuildSpec("Quiet Corner", users=4, chatter="quiet"),
)


class Emulator:
    """A loopback Discord: REST + gateway websocket, synthetic users, and a record of sends.

    Parameters
    ----------
    guild_specs:
        The guilds to create (default: three guilds of different liveliness).
    seed:
        Seeds ids and the synthetic chatter.
    speed:
        Emulated seconds per real second, for the clock, the chatter and the send-rate
        window. Changeable later through the ``speed`` property.
    host, port:
        Where to listen; loopback only. ``port=0`` picks a free port.
    bot_token:
        The token the bot must present (REST ``Authorization: Bot <token>`` and IDENTIFY).
    refuse_intents:
        Privileged intents (``"members"``, ``"presences"``, ``"message_content"``) the bot is
        not allowed; asking for one closes the gateway with 4014.
    shards:
        The shard count ``/gateway/bot`` recommends.
    heartbeat_interval:
        Seconds, sent in HELLO.
    send_limit:
        ``(sends, window_seconds)`` per channel before 429 (window in emulated seconds).
    clock:
        An emulated-time source (epoch seconds) to share with the runtime; by default the
        emulator runs its own from the wall clock at ``speed``.
    max_concurrency, identify_window:
        IDENTIFY buckets (reported by ``/gateway/bot``) and the emulated seconds between two
        IDENTIFYs of a bucket; one sooner gets INVALID_SESSION (``limits.breaches``).
    global_limit, invalid_limit:
        ``(requests, window_seconds)`` of the global REST limit (429 past it) and of invalid
        requests (a ban past it); emulated seconds. See ``guildmind.emulator.limits``.
    """

    def __init__(
        self,
        guild_specs: Iterable[GuildSpec] | None = None,
        *,
        seed: int = 0,
        speed: float = 1.0,
        host: str = "127.0.0.1",
        port: int = 0,
        bot_token: str | None = None,
        refuse_intents: Iterable[str] = (),
        shards: int = 1,
        heartbeat_interval: float = 41.25,
        send_limit: tuple[int, float] = (5, 5.0),
        clock: Callable[[], float] | None = None,
        max_concurrency: int = 1,
        identify_window: float = 5.0,
        global_limit: tuple[int, float] = (50, 1.0),
        invalid_limit: tuple[int, float] = (10_000, 600.0),
    ) -> None:
        if host not in _LOOPBACK:
            raise ValueError(f"The emulator listens on loopback only; got host={host!r}.")
        unknown = set(refuse_intents) - set(PRIVILEGED_INTENTS)
        if unknown:
            raise ValueError(
                f"Unknown privileged intent(s) {sorted(unknown)!r}; "
                f"expected some of {sorted(PRIVILEGED_INTENTS)!r}."
            )
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed!r}.")
        self.host, self.port = host, port
        self.token = bot_token or f"emulator-bot-token-{seed}"
        self.seed = seed
        self._speed = speed
        self._external_clock = clock
        self._anchor = (time.time(), time.monotonic())
        self.world = World(list(guild_specs or DEFAULT_GUILDS), random.Random(seed))
        self.recorder = Recorder()
        refused = 0
        for name in refuse_intents:
            refused |= PRIVILEGED_INTENTS[name]
        self.limits = EmulatedLimits(
            lambda: self._speed, max_concurrency=max_concurrency,
            identify_window=identify_window, global_limit=global_limit,
            invalid_limit=invalid_limit,
        )  # fmt: skip
        self.gateway = Gateway(
            self.world,
            self.recorder,
            self.now,
            token=self.token,
            refuse_intents=refused,
            heartbeat_interval=heartbeat_interval,
            limits=self.limits,
        )
        self.messages = MessageLog(self.world, self.gateway, self.now)
        limits = SendLimits(send_limit[0], send_limit[1], lambda: self._speed)
        self.rest = RestApi(
            self.world,
            self.gateway,
            self.messages,
            self.recorder,
            limits,
            token=self.token,
            shards=shards,
            bot_limits=self.limits,
        )
        self.chatter = Chatter(self, seed)
        self._runner: web.AppRunner | None = None

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self, *, chatter: bool = False) -> Emulator:
        """Listen on ``host:port``; with ``chatter=True`` also start the synthetic users."""
        app = web.Application()
        self.rest.add_routes(app)
        app.router.add_get("/", self.gateway.handle)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self.gateway.url = self.gateway_url
        _log.info(
            "Discord emulator listening on %s with %d guilds.", self.api_base, len(self.guilds)
        )
        if chatter:
            self.start_chatter()
        return self

    async def stop(self) -> None:
        """Stop the chatter, close every gateway socket (1001) and the server."""
        await self.chatter.stop()
        await self.gateway.close_all(1001, "Emulator shutting down.")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Emulator:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def start_chatter(self) -> None:
        """Start the synthetic users of every guild (idempotent)."""
        self.chatter.start()

    async def stop_chatter(self) -> None:
        await self.chatter.stop()

    # -- addresses, clock, world ------------------------------------------------------------

    @property
    def api_base(self) -> str:
        """Like ``http://127.0.0.1:PORT/api/v10``; for ``DISCORD_API_BASE``."""
        return f"http://{self.host}:{self.port}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        """Like ``ws://127.0.0.1:PORT/``; for ``DISCORD_GATEWAY_URL``."""
        return f"ws://{self.host}:{self.port}/"

    @property
    def speed(self) -> float:
        return self._speed

    @speed.setter
    def speed(self, value: float) -> None:
        if value <= 0:
            raise ValueError(f"speed must be positive, got {value!r}.")
        self._anchor = (self.now(), time.monotonic())
        self._speed = value

    def use_clock(self, clock: Callable[[], float], speed: float) -> None:
        """Follow another clock (the runtime's) running ``speed`` times faster than real time."""
        self.speed = speed
        self._external_clock = clock

    def now(self) -> float:
        """Emulated time in epoch seconds."""
        if self._external_clock is not None:
            return self._external_clock()
        wall, mono = self._anchor
        return wall + (time.monotonic() - mono) * self._speed

    @property
    def guilds(self) -> list[Guild]:
        """The guilds, with ``id``, ``channel_ids``, ``system_channel_id``, ``member_ids``."""
        return list(self.world.guilds.values())

    def guild(self, guild_id: int) -> Guild:
        try:
            return self.world.guilds[guild_id]
        except KeyError:
            raise KeyError(f"Guild {guild_id!r} is not an emulated guild.") from None

    @property
    def bot_id(self) -> int:
        return self.world.bot.id

    @property
    def application_id(self) -> int:
        return self.world.application_id

    # -- records ----------------------------------------------------------------------------

    @property
    def sent(self) -> list[SentMessage]:
        """Every message the bot sent, in order."""
        return self.recorder.sent

    @property
    def counters(self) -> Counters:
        return self.recorder.counters

    @property
    def commands(self) -> dict[int | None, list[dict[str, Any]]]:
        """Slash commands the bot registered: ``None`` for global, else by guild id."""
        return self.rest.commands

    async def wait_sent(self, n: int, timeout: float = 5.0) -> SentMessage:
        """Wait for the ``n``-th message (1-based) the bot sends and return it."""
        return await self.recorder.wait_sent(n, timeout)

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait until ``predicate()`` holds; re-checked whenever the emulator records something."""
        await self.recorder.wait_until(predicate, timeout)

    # -- injection --------------------------------------------------------------------------

    async def post_message(
        self,
        guild_id: int,
        channel_id: int,
        user_id: int,
        content: str,
        *,
        mention_bot: bool = False,
        reply_to: int | None = None,
        fields: dict[str, Any] | None = None,
    ) -> int:
        """A member writes in a channel; returns the new message id.

        ``fields`` are set on the MESSAGE_CREATE payload last, for the messages Discord writes
        itself: ``{"type": 6, "message_reference": {...}}`` is a pin notice, ``{"type": 7}``
        a join, ``{"type": 99}`` a type not invented yet.
        """
        guild = self.guild(guild_id)
        if channel_id not in guild.channel_ids:
            raise KeyError(f"Channel {channel_id!r} is not in guild {guild_id!r}.")
        if user_id not in guild.member_ids:
            raise KeyError(f"User {user_id!r} is not a member of guild {guild_id!r}.")
        mentions = []
        if mention_bot:
            mentions.append(self.bot_id)
            if f"<@{self.bot_id}>" not in content:
                content = f"<@{self.bot_id}> {content}"
        payload = self.messages.create(
            channel_id, user_id, content, mention_ids=mentions, reply_to=reply_to, fields=fields
        )
        await asyncio.sleep(0)
        return int(payload["id"])

    async def forward_message(
        self, guild_id: int, channel_id: int, user_id: int, message_id: int
    ) -> int:
        """A member forwards a recent message here; returns the forward's id.

        As Discord sends it: type 0, empty content, a ``message_reference`` of type 1
        (FORWARD) to the original, and the original's text in ``message_snapshots``.
        """
        original = self.messages.get(message_id)
        if original is None:
            raise KeyError(f"Message {message_id!r} is not a recent emulated message.")
        snapshot = {
            key: original.get(key, default)
            for key, default in (
                ("type", 0), ("content", ""), ("embeds", []), ("attachments", []),
                ("timestamp", None), ("edited_timestamp", None), ("flags", 0),
                ("mentions", []), ("mention_roles", []), ("components", []),
            )
        }  # fmt: skip
        reference = {
            "type": 1,
            "message_id": original["id"],
            "channel_id": original["channel_id"],
            "guild_id": original.get("guild_id"),
        }
        fields = {
            "type": 0,
            "flags": HAS_SNAPSHOT,
            "message_reference": reference,
            "message_snapshots": [{"message": snapshot}],
        }
        return await self.post_message(guild_id, channel_id, user_id, "", fields=fields)

    async def crosspost_message(self, guild_id: int, channel_id: int, message_id: int) -> int:
        """A followed announcement (a recent message, from anywhere) arrives in a channel here.

        As Discord sends it: the original's text, ``flags`` IS_CROSSPOST, a
        ``message_reference`` (no type) to the original, and a webhook as the author, named
        like the original's author and not marked as a bot (as Discord has sent them since
        2024).
        """
        original = self.messages.get(message_id)
        if original is None:
            raise KeyError(f"Message {message_id!r} is not a recent emulated message.")
        webhook_id = self.world.ids.live(self.now())
        author = {**original["author"], "id": str(webhook_id), "discriminator": "0000"}
        author.pop("bot", None)
        fields = {
            "type": 0,
            "flags": IS_CROSSPOST,
            "webhook_id": str(webhook_id),
            "author": author,
            "member": OMIT,  # a webhook is no member
            "message_reference": {
                "message_id": original["id"],
                "channel_id": original["channel_id"],
                "guild_id": original.get("guild_id"),
            },
        }
        if channel_id not in self.guild(guild_id).channel_ids:
            raise KeyError(f"Channel {channel_id!r} is not in guild {guild_id!r}.")
        author_id = int(original["author"]["id"])
        payload = self.messages.create(channel_id, author_id, original["content"], fields=fields)
        await asyncio.sleep(0)
        return int(payload["id"])

    async def set_presence(
        self,
        guild_id: int,
        user_id: int,
        *,
        status: str = "online",
        activity: str | None = "Project DIVA Mega Mix",
        activities: list[dict[str, Any]] | None = None,
    ) -> None:
        """A member's status or game changes (PRESENCE_UPDATE).

        ``activity`` is a game being played; ``activities``, when given, are Discord activity
        objects sent as they are (``{"name": "Twitch", "type": 1, "url": ..., "state": game}``).
        """
        guild = self.guild(guild_id)
        if user_id not in guild.member_ids:
            raise KeyError(f"User {user_id!r} is not a member of guild {guild_id!r}.")
        guild.presences[user_id] = (status, activity if activities is None else tuple(activities))
        data = self.world.presence_payload(guild, user_id, self.now())
        self.gateway.dispatch("PRESENCE_UPDATE", data, guild_id, intent=GUILD_PRESENCES)
        await asyncio.sleep(0)

    async def member_join(
        self, guild_id: int, user_id: int | None = None, *, bot: bool = False
    ) -> int:
        """A user joins the guild (GUILD_MEMBER_ADD); a new user (a bot with ``bot``) if no id."""
        guild = self.guild(guild_id)
        user = self.world.new_user(bot=bot) if user_id is None else self.world.users.get(user_id)
        if user is None:
            raise KeyError(f"User {user_id!r} does not exist in the emulator.")
        if user.id not in guild.member_ids:
            guild.member_ids.append(user.id)
            guild.joined_at[user.id] = iso(self.now())
            if user.bot:
                guild.bot_ids.add(user.id)
        data = {**self.world.member_payload(guild, user.id), "guild_id": str(guild_id)}
        self.gateway.dispatch("GUILD_MEMBER_ADD", data, guild_id, intent=GUILD_MEMBERS)
        await asyncio.sleep(0)
        return user.id

    async def remove_bot(self, guild_id: int, *, outage: bool = False) -> None:
        """The bot is removed from the guild (GUILD_DELETE), or with ``outage`` the guild is
        only unavailable for a while (``unavailable: true``: the bot is still a member)."""
        self.guild(guild_id)
        data: dict[str, Any] = {"id": str(guild_id)}
        if outage:
            data["unavailable"] = True
        else:
            self.world.without_bot.add(guild_id)
        self.gateway.dispatch("GUILD_DELETE", data, guild_id)
        await asyncio.sleep(0)

    async def invite_bot(self, guild_id: int) -> None:
        """The bot is added to the guild again (GUILD_CREATE), or the outage ends."""
        guild = self.guild(guild_id)
        self.world.without_bot.discard(guild_id)
        data = self.world.guild_create_payload(guild, self.now(), True)
        self.gateway.dispatch("GUILD_CREATE", data, guild_id)
        await asyncio.sleep(0)

    async def dispatch_raw(self, event_name: str, data: Any, guild_id: int | None = None) -> int:
        """Send any dispatch, malformed or not, to every session (or the guild's shard).

        ``data`` may be a ``msgspec.Raw`` of JSON text sent as it is (a lone surrogate's
        ``"\\ud800"`` escape, nesting deeper than a decoder goes, text that is not JSON)."""
        delivered = self.gateway.dispatch(event_name, data, guild_id)
        await asyncio.sleep(0)
        return delivered

    async def send_frame(self, frame: bytes, guild_id: int | None = None) -> int:
        """Send ``frame`` as one gateway frame, byte for byte, to every connected session (or
        the guild's shard): what no dispatch can be (not a JSON object, not UTF-8, an event name
        that is no string). It takes no sequence number and is never replayed. Bytes that are
        not UTF-8 need a compressed connection (discord.py's default): a text frame cannot
        carry them. Returns how many sessions got it."""
        sent = 0
        for session in self.gateway.sessions.values():
            if session.conn is not None and (guild_id is None or session.covers(guild_id)):
                session.conn.send(frame)
                sent += 1
        await asyncio.sleep(0)
        return sent

    async def force_reconnect(self, shard_id: int | None = None) -> int:
        """Send op 7 RECONNECT; clients should RESUME. Returns how many sockets got it."""
        count = self.gateway.send_op_all(7, None, shard_id)
        await asyncio.sleep(0)
        return count

    async def invalidate_session(self, resumable: bool = False, shard_id: int | None = None) -> int:
        """Send op 9 INVALID_SESSION; a non-resumable one forgets the session."""
        count = self.gateway.send_op_all(9, resumable, shard_id)
        await asyncio.sleep(0)
        return count

    def expire_sessions(self, older_than_s: float = 0.0) -> int:
        """Forget the gateway sessions that have had no websocket for `older_than_s` seconds
        (as Discord expires them): a RESUME of one is refused. Returns how many."""
        return self.gateway.expire(older_than_s)

    async def disconnect(self, code: int = 4000) -> None:
        """Close every gateway socket with ``code`` (4000: the client should RESUME)."""
        await self.gateway.close_all(code, "Disconnected by the emulator.")

    async def invoke_command(
        self,
        guild_id: int,
        user_id: int,
        name: str,
        options: list[dict[str, Any]] | None = None,
        permissions: int = 0,
        channel_id: int | None = None,
    ) -> int:
        """A member runs the slash command ``name`` (INTERACTION_CREATE); returns its id.

        ``options`` are Discord's option objects (``{"name", "type", "value"}``);
        ``permissions`` is the member's permission bit set in that channel. The bot's answer
        lands in ``emu.recorder.interaction_responses``.
        """
        guild = self.guild(guild_id)
        registered = [*self.commands.get(guild_id, []), *self.commands.get(None, [])]
        command = next((c for c in registered if c["name"] == name), None)
        if command is None:
            raise KeyError(f"No slash command {name!r} is registered for guild {guild_id!r}.")
        channel = self.world.channels[channel_id or guild.system_channel_id]
        member = {**self.world.member_payload(guild, user_id), "permissions": str(permissions)}
        interaction_id = self.world.ids.live(self.now())
        users = [int(o["value"]) for o in options or () if o.get("type") == 6]  # USER options
        resolved = {
            "users": {str(u): self.world.user_payload(u) for u in users},
            "members": {
                str(u): self.world.member_payload(guild, u, with_user=False)
                for u in users
                if u in guild.member_ids
            },
        }
        data = {
            "id": str(interaction_id),
            "application_id": str(self.application_id),
            "type": 2,
            "data": {
                "id": command["id"],
                "name": name,
                "type": 1,
                "options": options or [],
                "guild_id": str(guild_id),
                **({"resolved": resolved} if users else {}),
            },
            "guild_id": str(guild_id),
            "channel_id": str(channel.id),
            "channel": self.world.channel_payload(channel),
            "member": member,
            "token": f"interaction-token-{interaction_id}",
            "version": 1,
            "app_permissions": "2251799813685247",
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(guild_id)},
            "context": 0,
            "attachment_size_limit": 8_388_608,
        }
        self.gateway.dispatch("INTERACTION_CREATE", data, guild_id)
        await asyncio.sleep(0)
        return interaction_id

    def rate_limit_next(self, n: int = 1, retry_after: float = 0.05) -> None:
        """Answer the next ``n`` message sends with 429 and ``retry_after`` seconds."""
        self.rest.limits.forced.extend([retry_after] * n)

    async def blast(self, n: int, *, guild_id: int | None = None, max_backlog: int = 2_000) -> None:
        """Push ``n`` MESSAGE_CREATE as fast as the clients take them (for benchmarks).

        One payload is built and each message is a copy with a new id: the emulator's own
        cost per message must stay well below a fast client's (dispatch, encoding, zlib and
        the websocket write remain per message, as Discord's are)."""
        guild = self.guild(guild_id) if guild_id is not None else self.guilds[0]
        channel, author = guild.system_channel_id, guild.human_ids[0]
        payload = self.messages.create(channel, author, "benchmark message", dispatch=False)
        dispatch, live = self.gateway.dispatch, self.world.ids.live
        for i in range(n):
            payload = {**payload, "id": str(live(self.now()))}
            dispatch("MESSAGE_CREATE", payload, guild.id, intent=GUILD_MESSAGES, gated=True)
            if i % 200 == 199:
                while self.gateway.backlog() > max_backlog:
                    await asyncio.sleep(0.001)
        await asyncio.sleep(0)
