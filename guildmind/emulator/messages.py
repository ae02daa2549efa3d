"""Creating messages in the emulated world, by synthetic users or by the bot.

One path for both: build the message object, keep it briefly (so replies can embed the
message they answer), and dispatch MESSAGE_CREATE to the gateway, as Discord echoes the
bot's own messages back to it too.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from guildmind.emulator.gateway import GUILD_MESSAGES

if TYPE_CHECKING:
    from guildmind.emulator.gateway import Gateway
    from guildmind.emulator.state import World


class UnknownChannel(LookupError):
    """The channel id is not one of the emulator's channels."""


class MessageLog:
    """Creates messages and remembers the last ``keep`` of them by id."""

    def __init__(
        self, world: World, gateway: Gateway, clock: Callable[[], float], keep: int = 2_000
    ) -> None:
        self.world = world
        self.gateway = gateway
        self.clock = clock
        self.keep = keep
        self._recent: OrderedDict[int, dict[str, Any]] = OrderedDict()

    def get(self, message_id: int) -> dict[str, Any] | None:
        return self._recent.get(message_id)

    def create(
        self,
        channel_id: int,
        author_id: int,
        content: str,
        *,
        mention_ids: list[int] | None = None,
        reply_to: int | None = None,
        fields: dict[str, Any] | None = None,
        dispatch: bool = True,
    ) -> dict[str, Any]:
        """Create a message, dispatch MESSAGE_CREATE, and return its payload.

        ``fields`` are set on the payload last: a system message's ``type``, a forward's
        ``message_reference`` and ``message_snapshots``, ``flags``, a webhook's ``author``.

        Raises
        ------
        UnknownChannel
            If ``channel_id`` is not an emulated channel.
        KeyError
            If ``author_id`` is not a known user.
        """
        channel = self.world.channels.get(channel_id)
        if channel is None:
            raise UnknownChannel(f"Channel {channel_id!r} does not exist in the emulator.")
        if author_id not in self.world.users:
            raise KeyError(f"User {author_id!r} does not exist in the emulator.")
        now = self.clock()
        reference = referenced = None
        if reply_to is not None:
            reference = {
                "message_id": str(reply_to),
                "channel_id": str(channel_id),
                "guild_id": str(channel.guild_id),
                "type": 0,
            }
            referenced = self._recent.get(reply_to)
        payload = self.world.message_payload(
            message_id=self.world.ids.live(now),
            channel=channel,
            author_id=author_id,
            content=content,
            now=now,
            mention_ids=mention_ids or [],
            reference=reference,
            referenced=referenced,
            fields=fields,
        )
        self.remember(payload)
        if dispatch:
            self.gateway.dispatch(
                "MESSAGE_CREATE", payload, channel.guild_id, intent=GUILD_MESSAGES, gated=True
            )
        return payload

    def remember(self, payload: dict[str, Any]) -> None:
        self._recent[int(payload["id"])] = payload
        while len(self._recent) > self.keep:
            self._recent.popitem(last=False)
