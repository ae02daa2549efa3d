"""The `synthetic` source: synthetic guilds made in the gateway's process (load tests, demos)."""

from __future__ import annotations

import asyncio
import collections

from actions import OutgoingMessage
from actors.clock import Clock
from actors.routing.wire import Line
from actors.sources.base import Offer, Sent
from actors.sources.traffic import SyntheticTraffic, text_for
from engine import MessageEvent


class SyntheticSource:
    """Synthetic guilds generated in the gateway process, paced by the runtime clock (from when
    `run()` starts: see `SyntheticTraffic.rebase`).

    Mentions of the bot come with a made-up transcript line (so a reply round has something to
    answer); what the bot sends is counted and the last few kept for a console to show.
    """

    def __init__(
        self, traffic: SyntheticTraffic, clock: Clock, *, bot_name: str, tick_s: float = 0.01
    ) -> None:
        self.traffic, self.clock, self.bot_name, self.tick_s = traffic, clock, bot_name, tick_s
        self.generated = 0
        self.sent: collections.Counter[str] = collections.Counter()
        self.log: collections.deque[Sent] = collections.deque(maxlen=10_000)
        self.load = 1  # each event offered this many times (overload tests)
        self._message_ids = 1

    async def run(self, offer: Offer) -> None:
        # the schedule starts now, not when the traffic was built (a million guilds take ~16 s)
        self.traffic.rebase(self.clock.now())
        while True:
            for n, event in enumerate(self.traffic.events_until(self.clock.now()), 1):
                if n % max(1, 2000 // self.load) == 0:  # every ~2,000 offers
                    await asyncio.sleep(0)  # let the batches out while catching up
                self.generated += 1
                line = None
                if type(event) is MessageEvent and event.mentions_bot:
                    self._message_ids += 1
                    line = Line(
                        event.guild_id, event.channel_id, self._message_ids, event.author_id,
                        f"user{event.author_id % 10_000}", text_for(event, bot_name=self.bot_name),
                        event.at, True,
                    )  # fmt: skip
                for _ in range(self.load):
                    offer(event, line)
            await asyncio.sleep(self.tick_s)

    async def send(self, message: OutgoingMessage) -> str | None:
        self.sent[message.action] += 1
        self.log.append(Sent(self.clock.now(), message))
        return None

    def stats(self) -> dict[str, float]:
        return {"generated": self.generated, "sent": sum(self.sent.values())}
