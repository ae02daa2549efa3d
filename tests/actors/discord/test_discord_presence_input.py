"""Presences and joins from payloads seen in bug reports: which activity is a game just started,
which members are people, and presences without the members intent.

Through the emulator's gateway into the real discord.py client and the discord source (no Ray).
"""

from __future__ import annotations

from typing import Any

import pytest
from discord_inputkit import AT, live

from config import IntentsConfig
from engine import MemberJoinEvent, PresenceEvent
from guildmind.config import ConfigError, parse_config
from guildmind.emulator import GuildSpec

URL = "https://twitch.tv/someone"
PLAYING = {"name": "Celeste", "type": 0}
STREAMING = {"name": "Twitch", "type": 1, "url": URL, "details": "any% attempts",
             "state": "Hollow Knight"}  # fmt: skip
SPOTIFY = {"name": "Spotify", "type": 2, "sync_id": "s", "session_id": "x", "details": "Song",
           "state": "Artist"}  # fmt: skip
CUSTOM = {"name": "Custom Status", "type": 4, "state": "vibing"}

# (what the member's activities become, what the engine should hear started)
STEPS: list[tuple[str, list[dict[str, Any]], str | None]] = [
    ("Hang Status (type 6)", [{"name": "Hang Status", "type": 6, "state": "chilling"}], None),
    ("a type not invented yet", [{"name": "Something New", "type": 42}], None),
    ("listening on Spotify", [SPOTIFY], None),
    ("listening, not Spotify", [{"name": "a podcast", "type": 2}], None),
    ("watching", [{"name": "YouTube", "type": 3}], None),
    ("competing", [{"name": "Arena", "type": 5}], None),
    ("a custom status", [CUSTOM], None),
    ("playing", [PLAYING], "Celeste"),
    ("a rich-presence game", [{**PLAYING, "application_id": "1", "state": "Chapter 7"}], "Celeste"),
    ("streaming: the game, not the title", [STREAMING], "Hollow Knight"),
    ("streaming with no game", [{k: v for k, v in STREAMING.items() if k != "state"}], None),
    ("streaming without a url", [{"name": "Twitch", "type": 1, "state": "Tetris"}], "Tetris"),
    ("several at once: the game", [SPOTIFY, CUSTOM, {"name": "Zelda", "type": 0}], "Zelda"),
    ("a stream and a game at once: the game", [STREAMING, {"name": "Portal", "type": 0}], "Portal"),
    ("blank names", [{"name": "  ", "type": 0}, {**STREAMING, "state": " "}], None),
]  # fmt: skip


async def test_only_starting_to_play_or_stream_a_game_is_a_new_activity() -> None:
    async with live() as s:
        user = s.guild.human_ids[-1]  # starts offline
        for _, activities, _ in STEPS:
            await s.emu.set_presence(s.guild.id, user, activities=[])  # online, doing nothing
            await s.emu.set_presence(s.guild.id, user, activities=activities)
        await s.settle()
        events = [e for e in s.got.of(PresenceEvent) if e.user_id == user]
    heard = [(label, e.activity) for (label, _, _), e in zip(STEPS, events[1::2], strict=True)]
    assert heard == [(label, started) for label, _, started in STEPS]
    assert all(e.online and e.at == AT for e in events)  # each still says "online"


async def test_a_game_already_going_is_not_started_again() -> None:
    async with live() as s:
        user = s.guild.human_ids[-1]
        changes = [
            [PLAYING],  # started Celeste
            [PLAYING, SPOTIFY],  # music on top: nothing new to engage
            [{**PLAYING, "state": "Chapter 2"}],  # the same game, further on
            [{**STREAMING, "state": "Celeste"}],  # now streaming the same game
            [PLAYING, {"name": "Portal", "type": 0}],  # a second game
        ]
        for activities in changes:
            await s.emu.set_presence(s.guild.id, user, activities=activities)
        await s.emu.set_presence(s.guild.id, user, status="idle", activities=[PLAYING])
        await s.emu.set_presence(s.guild.id, user, status="offline", activities=[])
        await s.settle()
        events = [e for e in s.got.of(PresenceEvent) if e.user_id == user]
    assert [(e.online, e.activity) for e in events] == [
        (True, "Celeste"),
        (True, None),
        (True, None),
        (True, None),
        (True, "Portal"),
        (True, None),  # idle still counts as there; Celeste was going already
        (False, None),
    ]


async def test_bots_are_no_one_to_talk_to_joining_online_or_playing() -> None:
    specs = [GuildSpec("Alpha", users=3, chatter="dead", bots=2), GuildSpec("Beta", users=2)]
    async with live(specs=specs) as s:
        other_bot = sorted(s.guild.bot_ids)[0]
        initial = [e.user_id for e in s.got.of(PresenceEvent)]
        joined_bot = await s.emu.member_join(s.guild.id, bot=True)
        joined_person = await s.emu.member_join(s.guild.id)  # the control
        await s.emu.set_presence(s.guild.id, other_bot, activity="Music Quiz")
        await s.emu.set_presence(s.guild.id, s.user, activity="Music Quiz")  # the control
        await s.settle()
        joins = s.got.of(MemberJoinEvent)
        presences = [e.user_id for e in s.got.of(PresenceEvent)][len(initial) :]
        assert s.source.stats()["joins"] == 1
    assert not set(initial) & s.guild.bot_ids and s.user in initial  # online at the start
    assert joins == [MemberJoinEvent(s.guild.id, joined_person, AT)]
    assert joined_bot not in {e.user_id for e in joins}
    assert presences == [s.user]


async def test_malformed_presences_are_counted_and_the_session_goes_on() -> None:
    async with live() as s:
        good = s.emu.world.presence_payload(s.guild, s.user, s.emu.now())
        await s.emu.dispatch_raw("PRESENCE_UPDATE", {**good, "activities": None}, s.guild.id)
        await s.emu.dispatch_raw("PRESENCE_UPDATE", {**good, "user": {}}, s.guild.id)
        await s.settle()
        assert s.source.stats()["malformed_payloads"] == 2 and s.source.status()["ready"]


def test_presences_without_the_members_intent_are_refused_at_load_saying_what_to_turn_on() -> None:
    text = "[source.discord.intents]\npresences = true\nmembers = false\n"
    with pytest.raises(ConfigError) as caught:
        parse_config(text, file="guildmind.toml", env={})
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("guildmind.toml: source.discord.intents.members: must be true")
    assert "members = true under [source.discord.intents]" in message
    assert "Server Members Intent in the Discord Developer Portal" in message
    assert "or set presences = false" in message
    with pytest.raises(ValueError, match=r"^intents\.members: must be true when presences is"):
        IntentsConfig(presences=True, members=False)
    for ok in ("presences = false\nmembers = false", "presences = false\nmembers = true"):
        parse_config(f"[source.discord.intents]\n{ok}\n", env={})
