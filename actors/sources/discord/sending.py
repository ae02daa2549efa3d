"""How a `DiscordSource` sends the bot's messages (through discord.py, which keeps Discord's rate
limits), and why a send failed.

What belongs here: one `OutgoingMessage` sent (a reply, an attachment), each failure named by a
reason ("forbidden", "rate_limited", "timeout"…), counted and logged now and then (never the
text), and the bot's recent message ids kept (a reply to one addresses the bot).
"""

from __future__ import annotations

import asyncio
import collections
import io
import logging
from typing import TYPE_CHECKING

import aiohttp
import discord

from actions import OutgoingMessage
from actors.sources.discord.limits import InvalidRequestBudget

if TYPE_CHECKING:
    from actors.sources.discord.client import SourceClient

log = logging.getLogger(__name__)


class MessageSender:
    """`DiscordSource`'s sending (a mixin: the state is the source's own, set in its
    `__init__`)."""

    client: SourceClient | None
    counts: collections.Counter[str]
    _own: dict[int, None]

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
