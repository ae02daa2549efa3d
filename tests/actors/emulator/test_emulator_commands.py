"""Slash commands: sync through the bulk-overwrite routes, then invoke and answer."""

from __future__ import annotations

import discord
from discord import app_commands
from emulator_harness import Bot, running

from guildmind.emulator import Emulator


async def test_slash_command_sync_invoke_and_response(emu: Emulator) -> None:
    guild = emu.guilds[0]
    bot = Bot()
    tree = app_commands.CommandTree(bot)
    seen: list[tuple[int, str, bool]] = []

    @tree.command(name="mood", description="Set the bot's mood.", guild=discord.Object(guild.id))
    @app_commands.default_permissions(manage_guild=True)
    async def mood(interaction: discord.Interaction, name: str) -> None:
        perms = interaction.permissions.manage_guild
        seen.append((interaction.user.id, name, perms))
        await interaction.response.send_message(f"mood set to {name}", ephemeral=True)

    async with running(bot, emu.token):
        synced = await tree.sync(guild=discord.Object(guild.id))
        assert [c.name for c in synced] == ["mood"]
        assert [c["name"] for c in emu.commands[guild.id]] == ["mood"]
        owner = guild.owner_id
        await emu.invoke_command(
            guild.id,
            owner,
            "mood",
            [{"name": "name", "type": 3, "value": "bubbly"}],
            permissions=1 << 5,  # MANAGE_GUILD
        )
        await emu.wait_until(lambda: bool(emu.recorder.interaction_responses), timeout=2)
    assert seen == [(owner, "bubbly", True)]
    response = emu.recorder.interaction_responses[0]
    assert response["type"] == 4
    assert response["data"]["content"] == "mood set to bubbly"
    assert response["data"]["flags"] == 64  # ephemeral
