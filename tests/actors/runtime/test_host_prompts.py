"""What the LLM receives from a guild host's rounds, as each guild's admins set it.

A fake LLM records every prompt. The guild's settings (`/guildmind prompt`, here through the same
`admin.configure` the slash command calls) decide whether the recent transcript is sent, how
much of it, and whether authors are named or "user 1", "user 2"; ids are never sent.
"""

from __future__ import annotations

import asyncio

from actors.clock import ManualClock
from actors.loop import admin
from actors.loop.assembly import build_host_core
from actors.routing.wire import Batch, Line
from actors.stores.base import MemoryStore
from engine import MessageEvent
from guildmind.config import parse_config
from metrics import GuildmindMetrics, new_registry
from tests.actions.actions_testkit import FakeLLM

T0 = 1_700_000_000.0
G = 5001
ALICE, BOB = 111111111111111111, 222222222222222222
TOML = f"""
[llm]
base_url = "http://127.0.0.1:9/v1"
model = "test"
[defaults]
quiet_hours = false
[mood_rotation]
interval_s = 0
[guilds.{G}]
mood = "shy"
channels = [77]
"""


class Host:
    def __init__(self) -> None:
        self.clock = ManualClock(T0 + 600)
        self.llm = FakeLLM("sure thing")

        async def send(gateway, messages) -> None:
            pass

        self.core = build_host_core(
            "host-0", parse_config(TOML, env={}), store=MemoryStore(), clock=self.clock,
            started_at=T0, send=send, metrics=GuildmindMetrics(new_registry(process_metrics=False)),
            seed=1,
        )  # fmt: skip
        self.core.runner.writer.llm = self.llm  # the round's LLM: a recorder
        self.seq = 0
        self.n = 0

    async def say(self, author: int, name: str, text: str, *, mention: bool = False) -> None:
        self.n += 1
        self.clock.set(self.clock.now() + 1)
        at = self.clock.now()
        event = MessageEvent(G, 77, author, at, mentions_bot=mention)
        line = Line(G, 77, 9000 + self.n, author, name, text, at, mention)
        await self.core.apply(Batch("gw-0", self.seq, 0, T0, [event], [line]))
        self.seq += 1
        while self.core.tasks:
            await asyncio.gather(*list(self.core.tasks))

    async def ask(self) -> str:
        """Alice addresses the bot; the prompt its reply was written from."""
        self.clock.set(self.clock.now() + 60)  # past the 30 s between two of the bot's actions
        before = len(self.llm.calls)
        await self.say(ALICE, "Alice", "Miku, what do you think?", mention=True)
        [(prompt, _, purpose)] = self.llm.calls[before:]
        assert purpose == "content"
        return prompt


async def test_the_llm_sees_what_each_guilds_admins_allow() -> None:
    h = Host()
    await h.say(ALICE, "Alice", "anyone playing tonight?")
    await h.say(BOB, "Bob", f"<@{ALICE}> me! Alice, bring snacks")
    # the default: the transcript, authors as user 1, user 2; no name, no id
    prompt = await h.ask()
    assert "user 1: anyone playing tonight?" in prompt
    assert "user 2: user 1 me! user 1, bring snacks" in prompt
    assert "Alice" not in prompt and "Bob" not in prompt and str(ALICE) not in prompt
    status = admin.status(h.core, G)["prompt"]
    assert status == {"llm": True, "transcript": True, "lines": 12, "max_age_s": 1800.0,
                      "names": False}  # fmt: skip
    # the admins allow names
    assert (await admin.configure(h.core, G, {"prompt_names": True}))["prompt"]["names"]
    prompt = await h.ask()
    assert "Alice: anyone playing tonight?" in prompt and "Bob: Alice me!" in prompt
    assert str(ALICE) not in prompt  # ids never, whatever the setting
    # two lines at most
    await admin.configure(h.core, G, {"prompt_lines": 2})
    prompt = await h.ask()
    assert "anyone playing tonight?" not in prompt and prompt.count("Alice: Miku,") == 2
    # nothing older than a minute: only the question just asked
    await admin.configure(h.core, G, {"prompt_max_age_s": 60.0, "prompt_lines": 12})
    prompt = await h.ask()
    assert prompt.count("Miku, what do you think?") == 1 and "snacks" not in prompt
    # no transcript at all: only why the bot speaks
    await admin.configure(h.core, G, {"prompt_transcript": False})
    prompt = await h.ask()
    assert "not shared by this server" in prompt and "what do you think" not in prompt
    assert admin.status(h.core, G)["prompt"]["transcript"] is False
