"""`/guildmind …`: the slash commands a guild's admins steer the bot with.

status · mood · channels · timezone · quiet-hours · pause · resume. Hidden from members without
Manage Server (`default_permissions`) and checked again when run (a server can override the
default). Each command calls the host that holds the guild (through the gateway's routing); the
host updates the engine, writes the change through to the state store, and answers with the
guild's new status. Answers are ephemeral: only the admin who asked sees them.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

if TYPE_CHECKING:
    from actors.sources.discord.source import DiscordSource

log = logging.getLogger(__name__)

_ID = re.compile(r"\d{15,20}")


def describe(status: dict[str, Any], now: float) -> str:
    """An admin-readable summary of a host's `status()` answer."""
    s, signals = status["settings"], status.get("signals") or {}
    if s["channels"]:
        where = " ".join(f"<#{c}>" for c in s["channels"])
    elif s["default_channel"]:
        where = f"<#{s['default_channel']}> (the default)"
    else:
        where = "every channel"
    quiet = "–".join(s["quiet_hours"]) if s["quiet_hours"] else "none"
    lines = [
        f"**Mood** {status['mood']} · momentum {signals.get('momentum', 0):.2f} · "
        f"{status['messages_since_appearance']} messages since the bot last spoke",
        f"**Lives in** {where} · time zone {s['timezone']} · quiet hours {quiet} · "
        + ("**paused**" if s["paused"] else "speaking on its own"),
    ]
    last = status.get("last_decision")
    if last:
        ago = max(0.0, now - last["at"])
        lines.append(
            f"**Last decision** {last['action']} {ago / 60:.0f} min ago "
            f"({last['trigger']}): {last['reason']}"
        )
    else:
        lines.append("**Last decision** none yet: the bot has not spoken here since it started")
    return "\n".join(lines)


def command_tree(client: discord.Client, source: DiscordSource) -> app_commands.CommandTree:
    """The `/guildmind` group on a new command tree for `client`."""
    tree = app_commands.CommandTree(client)
    group = app_commands.Group(
        name="guildmind",
        description="Steer the bot in this server",
        guild_only=True,
        default_permissions=discord.Permissions(manage_guild=True),
    )

    async def answer(interaction: discord.Interaction, method: str, *args: Any) -> None:
        if not interaction.permissions.manage_guild:
            await interaction.response.send_message(
                "Only members with the Manage Server permission can steer guildmind here.",
                ephemeral=True,
            )
            return
        gid = interaction.guild_id
        assert gid is not None  # guild_only
        try:
            if source.call_host is None:
                raise RuntimeError("no hosts attached")
            found = await source.call_host(gid, method, *args)
        except Exception as e:
            log.error("discord: a slash command could not reach its host: %s", type(e).__name__)
            found = {"error": "guildmind could not reach this server's state just now; try again"}
        if found is None:
            text = "guildmind has not seen anything in this server yet."
        elif "error" in found:
            text = f"Not changed: {found['error']}"
        else:
            source.set_channels(gid, found["settings"]["counted"])
            text = describe(found, source.clock.now())
        await interaction.response.send_message(text, ephemeral=True)

    @group.command(name="status", description="Mood, signals and the last decision, with why")
    async def status(interaction: discord.Interaction) -> None:
        await answer(interaction, "status")

    moods = [app_commands.Choice(name=m, value=m) for m in source.moods[:25]]

    @group.command(name="mood", description="Set the bot's mood here (until it changes on its own)")
    @app_commands.describe(name="the mood")
    @app_commands.choices(name=moods)
    async def mood(interaction: discord.Interaction, name: str) -> None:
        await answer(interaction, "set_mood", name)

    @group.command(name="channels", description="Where the bot speaks on its own")
    @app_commands.describe(channels="channel mentions or ids; 'default' for the system channel")
    async def channels(interaction: discord.Interaction, channels: str) -> None:
        ids = [int(i) for i in _ID.findall(channels)]
        guild = interaction.guild
        unknown = [i for i in ids if guild is not None and guild.get_channel(i) is None]
        if unknown or (not ids and channels.strip().lower() != "default"):
            await interaction.response.send_message(
                "Not changed: name channels of this server (#mentions or ids), or 'default'.",
                ephemeral=True,
            )
            return
        await answer(interaction, "configure", {"channels": ids})

    @group.command(name="timezone", description="The server's time zone (for quiet hours)")
    @app_commands.describe(zone="an IANA time zone, like Europe/Paris")
    async def timezone(interaction: discord.Interaction, zone: str) -> None:
        await answer(interaction, "configure", {"timezone": zone.strip()})

    @group.command(name="quiet-hours", description="When the bot never speaks on its own")
    @app_commands.describe(start="HH:MM (leave both out for none)", end="HH:MM")
    async def quiet_hours(
        interaction: discord.Interaction, start: str | None = None, end: str | None = None
    ) -> None:
        if (start is None) != (end is None):
            await interaction.response.send_message(
                "Not changed: give both start and end (like 23:00 and 07:00), or neither.",
                ephemeral=True,
            )
            return
        hours = None if start is None else [start.strip(), (end or "").strip()]
        await answer(interaction, "configure", {"quiet_hours": hours})

    @group.command(name="pause", description="Stop speaking on its own (replies go on)")
    async def pause(interaction: discord.Interaction) -> None:
        await answer(interaction, "configure", {"paused": True})

    @group.command(name="resume", description="Speak on its own again")
    async def resume(interaction: discord.Interaction) -> None:
        await answer(interaction, "configure", {"paused": False})

    tree.add_command(group)
    return tree


__all__ = ["command_tree", "describe"]
