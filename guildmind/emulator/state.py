"""The emulated Discord world: guilds, channels, roles, users, members, presences.

What belongs here: the data model the emulator serves and the builders that turn it into
Discord API v10 JSON payloads (plain dicts, the shapes discord.py parses). What does not:
transport (``rest.py``, ``gateway.py``) and behaviour over time (``chatter.py``).
Ids are snowflakes, deterministic for a given seed.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec

ChatterLevel = Literal["busy", "normal", "quiet", "dead"]
CHATTER_LEVELS: tuple[str, ...] = ("busy", "normal", "quiet", "dead")

OMIT: Any = msgspec.UNSET
"""In a message's `fields`: leave this key out of the payload."""

DISCORD_EPOCH_MS = 1_420_070_400_000
# Fixed creation time of the static world (guilds, users, channels): ids depend on the seed only.
_WORLD_EPOCH_MS = 1_577_836_800_000  # 2020-01-01T00:00:00Z

# Permission bits (https://discord.com/developers/docs/topics/permissions).
ADD_REACTIONS = 1 << 6
ADMINISTRATOR = 1 << 3
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
USE_EXTERNAL_EMOJIS = 1 << 18
USE_APPLICATION_COMMANDS = 1 << 31
MEMBER_PERMISSIONS = (
    ADD_REACTIONS
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | USE_EXTERNAL_EMOJIS
    | USE_APPLICATION_COMMANDS
)


LARGE_THRESHOLD = 250
"""Members above which a guild is "large" (Discord's default `large_threshold`, which discord.py
sends): its GUILD_CREATE lists only the members online."""


class GuildSpec(msgspec.Struct, frozen=True):
    """What one emulated guild looks like.

    Parameters
    ----------
    name:
        The guild's name.
    users:
        How many synthetic human members it has (the bot comes on top).
    chatter:
        How lively its synthetic users are: ``"busy"``, ``"normal"``, ``"quiet"`` or ``"dead"``.
    second_channel:
        Add a ``#random`` text channel next to ``#general``.
    announcements:
        Add a read-only ``#announcements`` channel where the bot may not send (a send gets 403).
    bots:
        How many other bots (a music bot, a moderation bot) are members, all online.
    online:
        The share of its human members online (at least one is).
    """

    name: str
    users: int = 8
    chatter: ChatterLevel = "normal"
    second_channel: bool = True
    announcements: bool = True
    bots: int = 0
    online: float = 0.5

    def __post_init__(self) -> None:
        if self.chatter not in CHATTER_LEVELS:
            raise ValueError(
                f"GuildSpec {self.name!r} has chatter level {self.chatter!r}; "
                f"expected one of {', '.join(CHATTER_LEVELS)}."
            )
        if self.users < 1:
            raise ValueError(f"GuildSpec {self.name!r} needs at least 1 user, got {self.users!r}.")
        if not 0.0 <= self.online <= 1.0:
            raise ValueError(f"GuildSpec {self.name!r} has online={self.online!r}; expected 0–1.")
        if self.bots < 0:
            raise ValueError(f"GuildSpec {self.name!r} has bots={self.bots!r}; expected >= 0.")


@dataclass
class User:
    """A Discord user (a synthetic human or the bot)."""

    id: int
    username: str
    bot: bool = False


@dataclass
class Channel:
    """A guild text channel; ``writable`` is False where the bot lacks SEND_MESSAGES."""

    id: int
    guild_id: int
    name: str
    position: int
    writable: bool = True


@dataclass
class Guild:
    """One emulated guild and its members' current presence."""

    id: int
    name: str
    spec: GuildSpec
    owner_id: int
    everyone_role_id: int
    bot_role_id: int
    admin_role_id: int
    channels: list[Channel]
    member_ids: list[int]
    joined_at: dict[int, str] = field(default_factory=dict)
    # user → (status, activity): a game's name, or Discord activity objects as sent
    presences: dict[int, tuple[str, str | tuple[dict[str, Any], ...] | None]] = field(
        default_factory=dict
    )
    bot_ids: set[int] = field(default_factory=set)  # members that are bots, besides ours

    @property
    def channel_ids(self) -> list[int]:
        """Ids of all text channels, ``#general`` first."""
        return [c.id for c in self.channels]

    @property
    def chat_channel_ids(self) -> list[int]:
        """Ids of the channels where members chat (the writable ones)."""
        return [c.id for c in self.channels if c.writable]

    @property
    def system_channel_id(self) -> int:
        """``#general``, also the guild's system channel."""
        return self.channels[0].id

    @property
    def human_ids(self) -> list[int]:
        """Members other than the bot and the guild's other bots."""
        return [uid for uid in self.member_ids[1:] if uid not in self.bot_ids]


def iso(epoch_seconds: float) -> str:
    """An ISO-8601 timestamp as Discord writes them."""
    return dt.datetime.fromtimestamp(epoch_seconds, dt.UTC).isoformat()


class Snowflakes:
    """Makes snowflake ids: static ones from the seed, live ones from the emulated clock."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._static_ms = _WORLD_EPOCH_MS
        self._increment = 0
        self._last_live = 0

    def static(self) -> int:
        # Random gaps spread the timestamp bits, which is what shard routing reads.
        self._static_ms += self._rng.randint(1, 5_000)
        return self._make(self._static_ms)

    def live(self, now: float) -> int:
        snowflake = max(self._make(int(now * 1000)), self._last_live + 1)
        self._last_live = snowflake
        return snowflake

    def _make(self, ms: int) -> int:
        self._increment = (self._increment + 1) & 0xFFF
        return ((ms - DISCORD_EPOCH_MS) << 22) | (1 << 17) | (1 << 12) | self._increment


class World:
    """All guilds, users and the bot, built from specs and a seed."""

    def __init__(self, specs: list[GuildSpec], rng: random.Random, bot_name: str = "guildmind"):
        self.ids = Snowflakes(rng)
        self.bot = User(self.ids.static(), bot_name, bot=True)
        self.application_id = self.bot.id
        self.users: dict[int, User] = {self.bot.id: self.bot}
        self.guilds: dict[int, Guild] = {}
        self.without_bot: set[int] = set()  # guilds the bot was removed from (not sent at READY)
        self.channels: dict[int, Channel] = {}
        for spec in specs:
            self._add_guild(spec)

    def new_user(self, *, bot: bool = False) -> User:
        user = User(self.ids.static(), f"{'bot' if bot else 'user'}{len(self.users):04d}", bot=bot)
        self.users[user.id] = user
        return user

    def _add_guild(self, spec: GuildSpec) -> None:
        gid = self.ids.static()
        names = ["general"]
        if spec.second_channel:
            names.append("random")
        if spec.announcements:
            names.append("announcements")
        channels = [
            Channel(self.ids.static(), gid, name, pos, writable=name != "announcements")
            for pos, name in enumerate(names)
        ]
        humans = [self.new_user() for _ in range(spec.users)]
        guild = Guild(
            id=gid,
            name=spec.name,
            spec=spec,
            owner_id=humans[0].id,
            everyone_role_id=gid,  # Discord's @everyone role shares the guild's id.
            bot_role_id=self.ids.static(),
            admin_role_id=self.ids.static(),
            channels=channels,
            member_ids=[self.bot.id, *(u.id for u in humans)],
        )
        joined = iso(_WORLD_EPOCH_MS / 1000)
        guild.joined_at = {uid: joined for uid in guild.member_ids}
        online = humans[: max(1, int(len(humans) * spec.online))]
        guild.presences = {u.id: ("online", None) for u in online}
        guild.presences[self.bot.id] = ("online", None)
        for _ in range(spec.bots):  # after everything else: the ids of a guild without bots stay
            other = self.new_user(bot=True)
            guild.member_ids.append(other.id)
            guild.bot_ids.add(other.id)
            guild.joined_at[other.id] = joined
            guild.presences[other.id] = ("online", None)
        self.guilds[gid] = guild
        self.channels.update((c.id, c) for c in channels)

    # -- payload builders -------------------------------------------------------------------

    def user_payload(self, user_id: int) -> dict[str, Any]:
        user = self.users[user_id]
        return {
            "id": str(user.id),
            "username": user.username,
            "global_name": user.username.title(),
            "discriminator": "0",
            "avatar": None,
            "bot": user.bot,
            "public_flags": 0,
        }

    def member_payload(self, guild: Guild, user_id: int, *, with_user: bool = True) -> dict:
        roles = []
        if user_id == self.bot.id:
            roles.append(str(guild.bot_role_id))
        elif user_id == guild.owner_id:
            roles.append(str(guild.admin_role_id))
        payload: dict[str, Any] = {
            "roles": roles,
            "joined_at": guild.joined_at.get(user_id, iso(_WORLD_EPOCH_MS / 1000)),
            "nick": None,
            "avatar": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
        }
        if with_user:
            payload["user"] = self.user_payload(user_id)
        return payload

    def presence_payload(self, guild: Guild, user_id: int, now: float) -> dict[str, Any]:
        status, activity = guild.presences.get(user_id, ("offline", None))
        activities: list[dict[str, Any]] = []
        if isinstance(activity, str):
            activities.append({"name": activity, "type": 0, "created_at": int(now * 1000)})
        elif activity:
            activities.extend(dict(a) for a in activity)
        return {
            "user": {"id": str(user_id)},
            "guild_id": str(guild.id),
            "status": status,
            "activities": activities,
            "client_status": {} if status == "offline" else {"desktop": status},
        }

    def role_payloads(self, guild: Guild) -> list[dict[str, Any]]:
        def role(rid: int, name: str, pos: int, perms: int, managed: bool = False) -> dict:
            tags = {"tags": {"bot_id": str(self.bot.id)}} if managed else {}
            return {
                **tags,
                "id": str(rid),
                "name": name,
                "color": 0,
                "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
                "hoist": False,
                "icon": None,
                "unicode_emoji": None,
                "position": pos,
                "permissions": str(perms),
                "managed": managed,
                "mentionable": False,
                "flags": 0,
            }

        return [
            role(guild.everyone_role_id, "@everyone", 0, MEMBER_PERMISSIONS),
            role(guild.bot_role_id, self.bot.username, 1, MEMBER_PERMISSIONS, managed=True),
            role(guild.admin_role_id, "admin", 2, ADMINISTRATOR),
        ]

    def channel_payload(self, channel: Channel) -> dict[str, Any]:
        overwrites = []
        if not channel.writable:
            overwrites.append(
                {"id": str(channel.guild_id), "type": 0, "allow": "0", "deny": str(SEND_MESSAGES)}
            )
        return {
            "id": str(channel.id),
            "type": 0,
            "guild_id": str(channel.guild_id),
            "name": channel.name,
            "position": channel.position,
            "permission_overwrites": overwrites,
            "topic": None,
            "nsfw": False,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "parent_id": None,
        }

    def guild_create_payload(self, guild: Guild, now: float, presences: bool) -> dict[str, Any]:
        """GUILD_CREATE as Discord sends it. A guild of more than `LARGE_THRESHOLD` members is
        `large`: its members are only those online (only the bot without the presences
        intent); the others come on request (REQUEST_GUILD_MEMBERS)."""
        large = len(guild.member_ids) > LARGE_THRESHOLD
        members = guild.member_ids
        if large:
            members = [
                u for u in members if u == self.bot.id or (presences and u in guild.presences)
            ]
        return {
            "id": str(guild.id),
            "name": guild.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(guild.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "features": [],
            "system_channel_id": str(guild.system_channel_id),
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "vanity_url_code": None,
            "application_id": None,
            "max_members": 500_000,
            "joined_at": guild.joined_at[self.bot.id],
            "large": large,
            "unavailable": False,
            "member_count": len(guild.member_ids),
            "roles": self.role_payloads(guild),
            "emojis": [],
            "stickers": [],
            "channels": [self.channel_payload(c) for c in guild.channels],
            "threads": [],
            "members": [self.member_payload(guild, uid) for uid in members],
            "presences": (
                [self.presence_payload(guild, uid, now) for uid in guild.presences]
                if presences
                else []
            ),
            "voice_states": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }

    def message_payload(
        self,
        *,
        message_id: int,
        channel: Channel,
        author_id: int,
        content: str,
        now: float,
        mention_ids: list[int] = (),  # type: ignore[assignment]
        reference: dict[str, Any] | None = None,
        referenced: dict[str, Any] | None = None,
        fields: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A MESSAGE_CREATE payload; `fields` are set on it last (type, flags, embeds…); a
        field set to `OMIT` is left out."""
        guild = self.guilds[channel.guild_id]
        mentions = [
            {**self.user_payload(uid), "member": self.member_payload(guild, uid, with_user=False)}
            for uid in mention_ids
            if uid in self.users
        ]
        payload: dict[str, Any] = {
            "id": str(message_id),
            "type": 19 if reference else 0,
            "channel_id": str(channel.id),
            "guild_id": str(guild.id),
            "author": self.user_payload(author_id),
            "member": self.member_payload(guild, author_id, with_user=False),
            "content": content,
            "timestamp": iso(now),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": mentions,
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "components": [],
            "pinned": False,
            "flags": 0,
        }
        if reference is not None:
            payload["message_reference"] = reference
            payload["referenced_message"] = referenced
        if fields:
            payload.update(fields)
            for key in [k for k, v in fields.items() if v is OMIT]:
                del payload[key]
        return payload
