"""The emulated REST API: the routes discord.py calls to log in, connect, send and sync commands.

Every error is Discord-shaped JSON (``{"code": ..., "message": ...}``) with the real status.
Sends carry ``X-RateLimit-*`` headers from a per-channel bucket whose window follows the
emulator's speed; ``force_429(n)`` makes the next ``n`` sends answer 429 so tests can
watch discord.py wait and retry.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import msgspec
from aiohttp import web

from guildmind.emulator.limits import EmulatedLimits
from guildmind.emulator.records import Attachment, SentMessage
from guildmind.emulator.state import iso

if TYPE_CHECKING:
    from guildmind.emulator.gateway import Gateway
    from guildmind.emulator.messages import MessageLog
    from guildmind.emulator.records import Recorder
    from guildmind.emulator.state import World

_log = logging.getLogger(__name__)
API_PREFIX = "/api/v10"
_encoder = msgspec.json.Encoder()
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def json_response(
    data: Any, *, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """JSON with exactly ``Content-Type: application/json``: discord.py compares the header
    verbatim, so aiohttp's ``; charset=utf-8`` would make it treat the body as text."""
    return web.Response(
        body=_encoder.encode(data), status=status, headers=headers, content_type="application/json"
    )


def discord_error(status: int, code: int, message: str, **extra: Any) -> web.Response:
    """A Discord-shaped error response."""
    return json_response({"code": code, "message": message, **extra}, status=status)


class SendLimits:
    """Per-channel message-send buckets: ``limit`` sends per ``window`` emulated seconds."""

    def __init__(self, limit: int, window: float, speed: Callable[[], float]) -> None:
        self.limit, self.window, self.speed = limit, window, speed
        self.forced: list[float] = []  # retry_after of each forced 429 still to serve
        self._buckets: dict[int, tuple[float, int]] = {}

    def take(self, channel_id: int) -> tuple[bool, int, float]:
        """Use one send; returns (allowed, remaining, seconds until the bucket resets)."""
        now = time.monotonic()
        window = self.window / max(self.speed(), 1e-9)
        start, used = self._buckets.get(channel_id, (now, 0))
        if now - start >= window:
            start, used = now, 0
        reset_after = max(window - (now - start), 0.001)
        if used >= self.limit:
            return False, 0, reset_after
        self._buckets[channel_id] = (start, used + 1)
        return True, self.limit - used - 1, reset_after


class RestApi:
    """The REST routes, bound to one emulator's world, gateway and recorder."""

    def __init__(
        self,
        world: World,
        gateway: Gateway,
        messages: MessageLog,
        recorder: Recorder,
        limits: SendLimits,
        *,
        token: str,
        shards: int,
        bot_limits: EmulatedLimits | None = None,
    ) -> None:
        self.world, self.gateway, self.messages = world, gateway, messages
        self.recorder, self.limits = recorder, limits
        self.bot_limits = bot_limits or EmulatedLimits(lambda: 1.0)
        self.token, self.shards = token, shards
        self.commands: dict[int | None, list[dict[str, Any]]] = {}

    def add_routes(self, app: web.Application) -> None:
        p = API_PREFIX
        app.middlewares.append(self._middleware)
        app.router.add_get(p + "/users/@me", self.get_me)
        app.router.add_get(p + "/oauth2/applications/@me", self.get_application)
        app.router.add_get(p + "/applications/@me", self.get_application)
        app.router.add_get(p + "/gateway", self.get_gateway)
        app.router.add_get(p + "/gateway/bot", self.get_gateway)
        app.router.add_get(p + "/channels/{channel_id}", self.get_channel)
        app.router.add_post(p + "/channels/{channel_id}/messages", self.post_message)
        app.router.add_post(p + "/channels/{channel_id}/typing", self.post_typing)
        for path in (
            "/applications/{app_id}/commands",
            "/applications/{app_id}/guilds/{gid}/commands",
        ):
            app.router.add_get(p + path, self.get_commands)
            app.router.add_put(p + path, self.put_commands)
        app.router.add_post(p + "/interactions/{iid}/{itoken}/callback", self.post_callback)
        # a deferred answer's follow-up (the interaction's token authenticates it)
        app.router.add_post(p + "/webhooks/{app_id}/{itoken}", self.post_followup)

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path == "/":
            return await handler(request)  # the gateway websocket
        resource = request.match_info.route.resource
        route = resource.canonical.removeprefix(API_PREFIX) if resource else "(unknown route)"
        counters = self.recorder.counters.rest
        counters[f"{request.method} {route}"] += 1
        auth = request.headers.get("Authorization", "")
        needs_auth = request.path.startswith(API_PREFIX) and not (
            "/interactions/" in request.path or "/webhooks/" in request.path
        )
        bot = self.bot_limits
        if needs_auth and bot.banned():
            return self._banned()  # (not counted again: that would never end)
        retry_after = bot.request() if needs_auth else None
        if needs_auth and auth != f"Bot {self.token}":
            response: web.StreamResponse = discord_error(401, 0, "401: Unauthorized")
        elif retry_after is not None:
            response = self._too_many_global(retry_after)
        else:
            try:
                response = await handler(request)
            except web.HTTPMethodNotAllowed:
                response = discord_error(405, 0, "405: Method Not Allowed")
            except web.HTTPNotFound:
                response = discord_error(404, 0, "404: Not Found")
            except BadRequest as exc:
                response = discord_error(400, exc.code, str(exc))
        counters[f"status {response.status}"] += 1
        bot.responded(response.status, response.headers.get("X-RateLimit-Scope"))
        self.recorder.notify()
        return response

    def _too_many_global(self, retry_after: float) -> web.Response:
        """The global limit's 429 (Discord's headers and body)."""
        headers = {
            "Retry-After": str(math.ceil(retry_after)),
            "X-RateLimit-Global": "true",
            "X-RateLimit-Scope": "global",
            "Via": "1.1 google",
        }
        body = {"message": "You are being rate limited.", "retry_after": retry_after,
                "global": True, "code": 0}  # fmt: skip
        return json_response(body, status=429, headers=headers)

    def _banned(self) -> web.Response:
        """A Cloudflare ban: 429 without ``Via`` (discord.py tells it apart by that)."""
        return web.Response(status=429, text="error code: 1015", headers={"Retry-After": "600"})

    async def get_me(self, request: web.Request) -> web.Response:
        me = self.world.user_payload(self.world.bot.id)
        return json_response({**me, "verified": True, "mfa_enabled": False, "flags": 0})

    async def get_application(self, request: web.Request) -> web.Response:
        world = self.world
        any_guild = next(iter(world.guilds.values()), None)
        owner = world.user_payload(any_guild.owner_id) if any_guild else world.user_payload(0)
        return json_response(
            {
                "id": str(world.application_id),
                "name": world.bot.username,
                "description": "A character bot (emulated).",
                "icon": None,
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": owner,
                "team": None,
                "verify_key": "0" * 64,
                "flags": 0,
                "bot": world.user_payload(world.bot.id),
            }
        )

    async def get_gateway(self, request: web.Request) -> web.Response:
        limit = {"total": 1000, "remaining": 999, "reset_after": 86_400_000,
                 "max_concurrency": self.bot_limits.max_concurrency}  # fmt: skip
        return json_response(
            {"url": self.gateway.url, "shards": self.shards, "session_start_limit": limit}
        )

    def _channel(self, request: web.Request) -> Any:
        raw = request.match_info["channel_id"]
        channel = self.world.channels.get(int(raw)) if raw.isdigit() else None
        if channel is None:
            raise web.HTTPNotFound()
        return channel

    async def get_channel(self, request: web.Request) -> web.Response:
        try:
            return json_response(self.world.channel_payload(self._channel(request)))
        except web.HTTPNotFound:
            return discord_error(404, 10003, "Unknown Channel")

    async def post_typing(self, request: web.Request) -> web.Response:
        try:
            self._channel(request)
        except web.HTTPNotFound:
            return discord_error(404, 10003, "Unknown Channel")
        return web.Response(status=204)

    async def post_message(self, request: web.Request) -> web.Response:
        try:
            channel = self._channel(request)
        except web.HTTPNotFound:
            return discord_error(404, 10003, "Unknown Channel")
        if not channel.writable:
            return discord_error(403, 50013, "Missing Permissions")
        body, files = await _read_message_body(request)
        content = body.get("content") or ""
        if not isinstance(content, str) or len(content) > 2000:
            raise BadRequest(
                "Invalid Form Body: content must be a string of at most 2000 characters."
            )
        if not content and not body.get("embeds") and not body.get("sticker_ids") and not files:
            raise BadRequest("Cannot send an empty message", code=50006)
        ref = body.get("message_reference")
        if ref is not None and not (isinstance(ref, dict) and str(ref.get("message_id")).isdigit()):
            raise BadRequest("Invalid Form Body: message_reference.message_id must be a snowflake.")

        if self.limits.forced:
            retry_after = self.limits.forced.pop(0)
            return self._too_many(retry_after, remaining=1)
        allowed, remaining, reset_after = self.limits.take(channel.id)
        if not allowed:
            return self._too_many(reset_after, remaining=0)

        payload = self.messages.create(
            channel.id,
            self.world.bot.id,
            content,
            reply_to=int(ref["message_id"]) if ref else None,
        )
        if body.get("nonce") is not None:
            payload = {**payload, "nonce": body["nonce"]}
        sent = SentMessage(
            guild_id=channel.guild_id,
            channel_id=channel.id,
            message_id=int(payload["id"]),
            content=content,
            at=self.messages.clock(),
            message_reference=ref,
            attachments=files,
        )
        self.recorder.add_sent(sent)
        _log.debug("Bot sent message %s in channel %s.", sent.message_id, channel.id)
        return json_response(payload, headers=self._limit_headers(remaining, reset_after))

    def _limit_headers(self, remaining: int, reset_after: float) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limits.limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": "emulator-channel-messages",
        }

    def _too_many(self, retry_after: float, remaining: int) -> web.Response:
        headers = self._limit_headers(remaining, retry_after)
        # discord.py treats a 429 without a Via header as a Cloudflare ban, as Discord's own
        # responses always carry one.
        headers |= {
            "Retry-After": str(math.ceil(retry_after)),
            "X-RateLimit-Scope": "user",
            "Via": "1.1 google",
        }
        body = {
            "message": "You are being rate limited.",
            "retry_after": retry_after,
            "global": False,
        }
        return json_response({**body, "code": 0}, status=429, headers=headers)

    async def get_commands(self, request: web.Request) -> web.Response:
        gid = request.match_info.get("gid")
        return json_response(self.commands.get(int(gid) if gid else None, []))

    async def put_commands(self, request: web.Request) -> web.Response:
        gid_raw = request.match_info.get("gid")
        gid = int(gid_raw) if gid_raw and gid_raw.isdigit() else None
        if gid_raw is not None and gid not in self.world.guilds:
            return discord_error(404, 10004, "Unknown Guild")
        body = await _read_json(request)
        if not isinstance(body, list) or not all(
            isinstance(c, dict) and c.get("name") for c in body
        ):
            raise BadRequest("Invalid Form Body: expected a list of commands, each with a name.")
        stored = []
        now = self.messages.clock()
        for command in body:
            stored.append(
                {
                    "type": 1,
                    "description": "",
                    "options": [],
                    "default_member_permissions": None,
                    "dm_permission": True,
                    "nsfw": False,
                    **command,
                    "id": str(self.world.ids.live(now)),
                    "application_id": str(self.world.application_id),
                    "guild_id": str(gid) if gid else None,
                    "version": str(self.world.ids.live(now)),
                }
            )
        self.commands[gid] = stored
        return json_response(stored)

    async def post_callback(self, request: web.Request) -> web.Response:
        body = await _read_body(request)
        iid = request.match_info["iid"]
        self.recorder.interaction_responses.append({"interaction_id": int(iid), **body})
        self.recorder.notify()
        return json_response(
            {"interaction": {"id": iid, "type": 2}, "resource": {"type": body.get("type", 4)}}
        )

    async def post_followup(self, request: web.Request) -> web.Response:
        body = await _read_body(request)
        token = request.match_info["itoken"]
        iid = int(token.rsplit("-", 1)[-1]) if token.rsplit("-", 1)[-1].isdigit() else 0
        self.recorder.interaction_responses.append(
            {"interaction_id": iid, "type": "followup", "data": body}
        )
        self.recorder.notify()
        now = self.messages.clock()
        return json_response(
            {
                "id": str(self.world.ids.live(now)), "type": 20, "channel_id": "0",
                "content": body.get("content", ""), "flags": body.get("flags", 0),
                "author": self.world.user_payload(self.world.bot.id), "attachments": [],
                "embeds": [], "mentions": [], "mention_roles": [], "pinned": False,
                "mention_everyone": False, "tts": False, "timestamp": iso(now),
                "edited_timestamp": None, "application_id": str(self.world.application_id),
                "webhook_id": str(self.world.application_id),
            }
        )  # fmt: skip


class BadRequest(Exception):
    """A request the real API would refuse with 400."""

    def __init__(self, message: str, code: int = 50035) -> None:
        super().__init__(message)
        self.code = code


async def _read_json(request: web.Request) -> Any:
    try:
        return json.loads(await request.text() or "null")
    except ValueError:
        raise BadRequest("The request body contains invalid JSON.", code=50109) from None


async def _read_body(request: web.Request) -> dict[str, Any]:
    """The JSON object of a request, from a JSON body or a multipart ``payload_json`` field."""
    body, _ = await _read_message_body(request)
    return body


async def _read_message_body(
    request: web.Request,
) -> tuple[dict[str, Any], tuple[Attachment, ...]]:
    """The JSON object of a request and the files uploaded with it (``files[n]`` parts)."""
    files: tuple[Attachment, ...] = ()
    if request.content_type.startswith("multipart/"):
        form = await request.post()
        files = tuple(
            Attachment(part.filename, len(part.file.read()))
            for key, part in form.items()
            if key.startswith("files[") and isinstance(part, web.FileField)
        )
        raw = form.get("payload_json")
        try:
            body = json.loads(raw) if isinstance(raw, str) else {}
        except ValueError:
            raise BadRequest("The request body contains invalid JSON.", code=50109) from None
    else:
        body = await _read_json(request)
    if not isinstance(body, dict):
        raise BadRequest("Invalid Form Body: expected a JSON object.")
    return body, files
