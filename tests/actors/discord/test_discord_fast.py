"""The fast ingest path makes of every MESSAGE_CREATE what discord.py's models made of it.

Two sources on one emulator take the same frames: one with the fast path (the default), one with
`fast_ingest = false` (every payload through discord.py's `Message`). For each payload below
(plain messages and every neighbour that is not plain, well-formed or mangled), both must offer
the same event and transcript line, or count the same skip; and the fast one must have taken
exactly the plain ones itself (the positive control: the comparison is not of one path with
itself).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import copy
from collections.abc import AsyncIterator
from typing import Any

import msgspec
from discord_inputkit import AT, running
from discord_testkit import Collected, config

from actors.clock import ManualClock
from actors.sources.discord.endpoints import reset_discord_endpoints
from actors.sources.discord.source import DiscordSource, make_discord_source
from guildmind.emulator import Emulator, GuildSpec
from guildmind.emulator.state import OMIT
from guildmind.emulator.wiring import EMULATOR_TOKEN
from metrics import GuildmindMetrics, new_registry

SPECS = [GuildSpec("Alpha", users=5, chatter="dead", bots=1), GuildSpec("Beta", users=3)]


def variants(emu: Emulator) -> list[tuple[str, Any, bool]]:
    """(what, payload, plain): each sent as a MESSAGE_CREATE to both sources."""
    g = emu.guilds[0]
    general, other = g.system_channel_id, g.channel_ids[1]
    alice, bob = g.human_ids[0], g.human_ids[1]

    def msg(text: str = "hello there", channel: int = general, user: int = alice, **fields):
        return emu.messages.create(channel, user, text, fields=fields or None, dispatch=False)

    def mangled(change) -> dict:
        payload = msg("a mangled one")
        change(payload)
        return payload

    bot_payload = msg("the bot's own line", user=emu.world.bot.id)
    nick = msg("with a nickname")
    nick["member"]["nick"] = "Al"
    no_global = msg("no global name")
    no_global["author"]["global_name"] = None
    other_bot = msg("another bot", user=min(g.bot_ids))
    return [
        ("a plain message", msg(), True),
        ("plain, with emoji and scripts", msg("ミクさん 😀 привет"), True),
        ("plain, in a channel the bot does not live in", msg("over here", other), True),
        ("the bot's name, where it lives", msg("Miku, what do you think?"), True),
        ("the bot's name, where it does not live", msg("Miku is great", other), True),
        ("another bot's message", other_bot, True),
        (
            "another bot saying the name",
            {**other_bot, "id": str(int(other_bot["id"]) + 7), "content": "Miku!"},
            True,
        ),
        ("the bot's own message", bot_payload, True),
        ("a nickname", nick, True),
        ("no global name", no_global, True),
        ("an empty text", msg(""), True),
        ("unknown fields", {**msg(), "future_field": {"x": [1, 2]}, "nonce": "123"}, True),
        ("types someone writes: a reply without a reference", msg(type=19), True),
        ("a command's message", msg(type=20), True),
        # not plain: discord.py's models decide
        (
            "a mention of the bot",
            msg(f"<@{emu.world.bot.id}> hi", mentions=[emu.world.user_payload(emu.world.bot.id)]),
            False,
        ),
        (
            "a mention of a member",
            msg(f"hi <@{bob}>", mentions=[emu.world.user_payload(bob)]),
            False,
        ),
        ("a channel link", msg(f"see <#{other}>"), False),
        ("@everyone", msg("@everyone look"), False),
        ("an e-mail address", msg("write to a@b.example"), False),
        ("a pin notice", msg(type=6), False),
        ("a join notice", msg(type=7), False),
        ("a boost", msg(type=8), False),
        ("a thread created", msg(type=18), False),
        ("a poll result", msg(type=46), False),
        ("a type nobody knows", msg(type=99), False),
        ("a crosspost", msg(flags=2 | 1), False),
        ("Discord's system user", mangled(lambda p: p["author"].update(system=True)), False),
        (
            "a forward",
            msg(
                "",
                message_reference={"type": 1, "message_id": "1", "channel_id": str(general)},
                message_snapshots=[{"message": {"content": "fwd", "type": 0}}],
            ),
            False,
        ),
        ("a webhook's", msg(webhook_id="123456789012345678"), False),
        (
            "an attachment",
            msg(
                attachments=[
                    {
                        "id": "1",
                        "size": 1,
                        "filename": "a.png",
                        "url": "https://x/a.png",
                        "proxy_url": "https://x/a.png",
                    }
                ]
            ),
            False,
        ),
        ("an embed", msg(embeds=[{"title": "t"}]), False),
        ("no member", msg(member=OMIT), False),
        ("a direct message", msg(guild_id=OMIT), False),
        ("a guild the bot is not in", msg(guild_id="123456789012345678"), False),
        # mangled: discord.py decides, and counts what it refuses
        ("no text", mangled(lambda p: p.pop("content")), False),
        ("text null", mangled(lambda p: p.update(content=None)), False),
        ("text a number", mangled(lambda p: p.update(content=5)), False),
        ("id a number", mangled(lambda p: p.update(id=int(p["id"]))), False),
        ("id not a number", mangled(lambda p: p.update(id="abc")), False),
        ("id past 64 bits", mangled(lambda p: p.update(id=str(2**64 + 1))), True),
        ("id of 21 digits", mangled(lambda p: p.update(id="1" * 21)), False),
        ("channel id 0", mangled(lambda p: p.update(channel_id="0")), True),
        ("no author", mangled(lambda p: p.pop("author")), False),
        ("no username", mangled(lambda p: p["author"].pop("username")), False),
        ("author id missing", mangled(lambda p: p["author"].pop("id")), False),
        ("no roles", mangled(lambda p: p["member"].pop("roles")), False),
        ("flags null", mangled(lambda p: p.update(flags=None)), False),
        ("type a string", mangled(lambda p: p.update(type="0")), False),
        ("type null", mangled(lambda p: p.update(type=None)), False),
        ("bot a number", mangled(lambda p: p["author"].update(bot=1)), False),
        ("mentions null", mangled(lambda p: p.update(mentions=None)), False),
        ("deep unknown field", {**msg(), "unknown": _nested(300)}, True),
        (
            "a lone surrogate",
            msgspec.Raw(msgspec.json.encode(msg("hi ?")).replace(b"hi ?", b"hi \\ud800")),
            False,
        ),
        ("not an object", [1, 2], False),
        ("null", None, False),
    ]


def _nested(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


@contextlib.asynccontextmanager
async def two_sources() -> AsyncIterator[tuple[Emulator, dict[str, tuple[DiscordSource, Any]]]]:
    emu = Emulator(SPECS, seed=3, bot_token=EMULATOR_TOKEN)
    async with emu:
        try:
            sources = {}
            async with contextlib.AsyncExitStack() as stack:
                for name, extra in (("fast", ""), ("slow", "fast_ingest = false\n")):
                    source = make_discord_source(config(emu, extra=extra), ManualClock(AT))
                    metrics = GuildmindMetrics(new_registry(process_metrics=False))
                    source.attach(None, metrics)  # type: ignore[arg-type]
                    got = Collected()
                    await stack.enter_async_context(running(source, got))
                    sources[name] = (source, got, metrics)
                yield emu, sources
        finally:
            reset_discord_endpoints()


def drops(metrics: GuildmindMetrics) -> dict:
    return {
        (s.labels["type"], s.labels["reason"]): s.value
        for family in metrics.events_dropped_total.collect()
        for s in family.samples
        if s.name.endswith("_total") and s.value
    }


async def test_every_message_payload_comes_out_of_the_fast_path_as_out_of_discord_py() -> None:
    async with two_sources() as (emu, sources):
        g = emu.guilds[0]
        for source, _, _ in sources.values():  # the bot lives in #general only
            source.set_channels(g.id, [g.system_channel_id])
        assert sources["fast"][0].fast is not None and sources["slow"][0].fast is None
        cases = variants(emu)
        for _, payload, _ in cases:
            await emu.dispatch_raw("MESSAGE_CREATE", copy.deepcopy(payload), g.id)
        mid = await emu.post_message(
            g.id, g.system_channel_id, g.human_ids[2], "end", mention_bot=True
        )
        for name, (_, got, _) in sources.items():
            await got.wait(
                lambda got=got: any(ln and ln.message_id == mid for _, ln in got.items),
                what=f"the {name} source's last message",
                timeout=20,
            )
        (fast, fast_got, fast_m), (slow, slow_got, slow_m) = sources["fast"], sources["slow"]
        assert fast_got.items == slow_got.items
        assert drops(fast_m) == drops(slow_m)
        assert fast.stats() | {"fast_messages": 0} == slow.stats()
        # the positive control: the fast path took the plain ones, discord.py read the rest
        assert fast.stats()["fast_messages"] == sum(plain for *_, plain in cases)
        # …and the cases cover what they say: events, skips of every kind, names heard
        counts = collections.Counter(fast.counts)
        assert counts["not_conversation"] >= 8 and counts["direct"] == 1
        assert drops(fast_m)[("message", "malformed")] >= 10
        assert drops(fast_m)[("message", "unknown_guild")] == 1
        assert sum(1 for e, _ in fast_got.items if getattr(e, "mentions_bot", False)) >= 3
        assert "Al" in {line.author for _, line in fast_got.items if line}  # the nickname


async def test_a_plain_message_keeps_the_session_and_its_sequence() -> None:
    """What discord.py's read loop does with every frame, the fast path does too: the shard's
    sequence number advances (a RESUME after it replays nothing twice) and its heartbeat clock
    ticks."""
    async with two_sources() as (emu, sources):
        g = emu.guilds[0]
        for _ in range(5):
            await emu.post_message(g.id, g.system_channel_id, g.human_ids[0], "plain")
        fast, got, _ = sources["fast"]
        await got.wait(lambda: fast.stats()["fast_messages"] == 5, what="five plain messages")
        (shard,) = fast.client._AutoShardedClient__shards.values()  # type: ignore[union-attr]
        ws = shard.ws
        assert ws.sequence == emu.gateway.sessions[ws.session_id].seq
        identifies = emu.counters.ops["IDENTIFY"]
        assert await emu.force_reconnect() == 2
        await emu.wait_until(lambda: emu.counters.ops["RESUME"] == 2, 10)
        mid = await emu.post_message(g.id, g.system_channel_id, g.human_ids[1], "after")
        await got.wait(lambda: any(ln and ln.message_id == mid for _, ln in got.items))
        await asyncio.sleep(0.2)
        assert sum(1 for _, ln in got.items if ln and ln.content == "plain") == 5  # none twice
        assert emu.counters.ops["IDENTIFY"] == identifies  # resumed, never identified again
