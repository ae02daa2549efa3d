"""`/guildmind …`: the slash commands a guild's admins steer the bot with; `/guildmind-forget-me`.

status · mood · channels · timezone · quiet-hours · pause · resume · chattiness · prompt ·
forget-member.
Hidden from members without Manage Server (`default_permissions`) and checked again when run (a
server can override the default). Each command calls the host that holds the guild (through the
gateway's routing); the host updates the engine, writes the change through to the state store,
and answers with the guild's new status. Answers are ephemeral: only the admin who asked sees
them.

`/guildmind-forget-me` is every member's: it erases what guildmind holds about them in every
guild it serves (memory, store, transcripts; the gateway's `forget_user`) and says so
ephemerally. It is a command of its own because Discord sets who sees a command per top-level
command: inside the admins' `/guildmind` group, members would never see it.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from actions import PromptPolicy
from engine import CHATTINESS_RANGE, MAX_PROMPT_LINES

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
    lines.append(chattiness_line(status.get("learned"), now))
    lines.append(prompt_line(status.get("prompt")))
    if (status.get("prompt") or {}).get("llm"):
        lines.append(tokens_line(status.get("llm_tokens")))
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


def chattiness_line(learned: dict[str, Any] | None, now: float) -> str:
    """How readily the bot speaks on its own here, and what last moved it, in a line."""
    if not learned:
        return "**Chattiness** 1.00 (nothing learned yet)"
    value, chosen = learned["chattiness"], learned["chattiness_set"]
    if chosen is not None:
        head = (
            f"**Chattiness** {value:.2f}, set by the admins (learned: "
            f"{learned['chattiness_learned']:.2f}; /guildmind chattiness auto to follow it)"
        )
    else:
        head = f"**Chattiness** {value:.2f}, learned (/guildmind chattiness sets it)"
    moved = ""
    if learned.get("moved_by"):
        ago = max(0.0, now - learned["moved_at"]) / 60
        moved = f" · last moved {ago:.0f} min ago: {learned['moved_why']}"
    fb = learned["feedback"]
    counts = (
        f" · {fb['answered']} remarks answered, {fb['ignored']} unanswered, "
        f"{fb['hushed']} asked to be quiet, {fb['paused']} pauses"
    )
    rhythm = (
        f" · this hour's rhythm ×{learned['rhythm_now']:.2f} "
        f"({learned['rhythm_trust'] * 100:.0f} % learned)"
    )
    return head + moved + counts + rhythm


def prompt_line(prompt: dict[str, Any] | None) -> str:
    """What an LLM prompt carries from the guild, in a line for its admins."""
    if not prompt:
        return "**The LLM sees** (unknown)"
    if not prompt["llm"]:
        return "**The LLM sees** nothing: no LLM is configured, templates write every message"
    policy = PromptPolicy(prompt["transcript"], prompt["lines"], prompt["max_age_s"],
                          prompt["names"])  # fmt: skip
    return (
        f"**The LLM sees** the persona, the mood and {policy.describe()} "
        "(change it: /guildmind prompt)"
    )


def tokens_line(tokens: dict[str, Any] | None) -> str:
    """The guild's LLM tokens today (UTC) against its daily budget, in a line for its admins."""
    if not tokens:
        return "**LLM tokens today** (unknown)"
    used, limit = tokens["used"], tokens["limit"]
    line = f"**LLM tokens today** (UTC) {used:,}"
    if limit:
        line += (
            f" of {limit:,} ({min(100.0, 100 * used / limit):.0f} %); a request that would "
            "not fit is not sent, templates write instead until 00:00 UTC"
        )
    else:
        line += ", no daily limit for this server"
    if tokens.get("global_limit"):
        line += f" · all servers share {tokens['global_limit']:,} a day"
    return line


def erased(result: dict[str, Any], whose: str) -> str:
    """The answer to an erasure (the gateway's `forget_user` result)."""
    if result.get("failed"):
        return (
            f"guildmind could not reach all of its state just now; {whose} data was erased "
            "where it could be. Run the command again in a minute to finish."
        )
    return (
        f"Done: guildmind erased what it held about {whose} ({result.get('guilds', 0)} "
        "server(s) held something: who was online, a game just started, recent messages in "
        "memory). It never stores message text. What is written from now on is seen like "
        "anyone's, and forgotten on the same schedule."
    )


async def erase(
    interaction: discord.Interaction, source: DiscordSource, user_id: int, guild_id: int | None
) -> None:
    """Erase a member (everywhere, or in one guild) and answer ephemerally. The answer is
    deferred first: an erasure waits for the events on their way, and may take seconds."""
    await interaction.response.defer(ephemeral=True, thinking=True)
    whose = "you" if user_id == interaction.user.id else f"<@{user_id}>"
    try:
        if source.forget is None:
            raise RuntimeError("no gateway attached")
        result = await source.forget(user_id, guild_id)
    except Exception as e:
        log.error("discord: an erasure could not run: %s", type(e).__name__)
        result = {"failed": 1}
    await interaction.followup.send(erased(result, whose), ephemeral=True)


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

    lo, hi = CHATTINESS_RANGE

    @group.command(name="chattiness", description="How readily the bot speaks on its own here")
    @app_commands.describe(value=f"a factor from {lo:g} (quiet) to {hi:g} (chatty), or auto")
    async def chattiness(interaction: discord.Interaction, value: str) -> None:
        text = value.strip().lower()
        chosen: float | None = None
        if text != "auto":
            try:
                chosen = float(text.replace(",", "."))
            except ValueError:
                chosen = -1.0
            if not lo <= chosen <= hi:  # (NaN too)
                await interaction.response.send_message(
                    f"Not changed: give a number from {lo:g} to {hi:g} (1 is the usual), or "
                    "auto to let it follow how people answer.",
                    ephemeral=True,
                )
                return
        await answer(interaction, "configure", {"chattiness": chosen})

    @group.command(name="prompt", description="What the LLM may see of this server")
    @app_commands.describe(
        transcript="send the recent messages (true), or only why the bot speaks (false)",
        lines="at most this many recent messages (1 to 12)",
        minutes="none older than this many minutes",
        names="authors' display names (true), or 'user 1', 'user 2' (false)",
    )
    async def prompt(
        interaction: discord.Interaction,
        transcript: bool | None = None,
        lines: app_commands.Range[int, 1, MAX_PROMPT_LINES] | None = None,
        minutes: app_commands.Range[int, 1, 7 * 24 * 60] | None = None,
        names: bool | None = None,
    ) -> None:
        changes: dict[str, Any] = {}
        if transcript is not None:
            changes["prompt_transcript"] = transcript
        if lines is not None:
            changes["prompt_lines"] = lines
        if minutes is not None:
            changes["prompt_max_age_s"] = minutes * 60.0
        if names is not None:
            changes["prompt_names"] = names
        await answer(interaction, "configure", changes)

    @group.command(
        name="forget-member", description="Erase what guildmind holds about a member here"
    )
    @app_commands.describe(member="the member whose data goes (in this server)")
    async def forget_member(interaction: discord.Interaction, member: discord.User) -> None:
        if not interaction.permissions.manage_guild:
            await interaction.response.send_message(
                "Only members with the Manage Server permission can erase another member's "
                "data here; anyone can erase their own with /guildmind-forget-me.",
                ephemeral=True,
            )
            return
        await erase(interaction, source, member.id, interaction.guild_id)

    tree.add_command(group)

    @tree.command(
        name="guildmind-forget-me",
        description="Erase what guildmind holds about you, in every server it serves",
    )
    async def forget_me(interaction: discord.Interaction) -> None:
        await erase(interaction, source, interaction.user.id, None)

    return tree


__all__ = ["chattiness_line", "command_tree", "describe", "erased", "prompt_line"]
