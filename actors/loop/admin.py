"""What a guild's admins (and the gateway) may change in a guild a host holds, without Ray.

The slash commands and the gateway's "this guild's default channel is…" go through here: each
change updates the engine, is written through to the state store at once (so it survives a
restart), and returns the guild's new status. Bad values are `ValueError`s whose message is a
sentence for the admin who typed them.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import msgspec

from engine import GuildSettings, QuietHours

if TYPE_CHECKING:
    from actors.loop.host_core import HostCore

CHANGEABLE = (
    "channels",
    "timezone",
    "quiet_hours",
    "paused",
    "prompt_transcript",
    "prompt_lines",
    "prompt_max_age_s",
    "prompt_names",
    "chattiness",
)


def ensure(core: HostCore, guild_id: int, at: float) -> None:
    """Adopt a guild this host has not seen yet (its configured settings and mood)."""
    if guild_id not in core.engine and core.loop.adopt is not None:
        core.loop.adopt(core.engine, guild_id, at)
        core.write_behind.mark_dirty(guild_id)


def status(core: HostCore, guild_id: int) -> dict[str, Any] | None:
    """Mood, settings, signals, the LLM tokens used today (UTC) and the last decision that
    acted (with its reason)."""
    st = core.engine.state(guild_id)
    if st is None:
        return None
    last = core.last_decision.get(guild_id)
    s = st.settings
    return {
        "mood": st.mood,
        "last_action": st.last_action,
        "last_action_at": st.last_action_at,
        "messages_since_appearance": st.messages_since_appearance,
        "signals": core.engine.signals(guild_id, at=core.clock.now()),
        "learned": core.engine.learned(guild_id, at=core.clock.now()),
        "last_decision": msgspec.to_builtins(last) if last else None,
        "settings": {
            "channels": sorted(s.channels),
            "default_channel": s.default_channel,
            "counted": sorted(s.counted()),
            "timezone": s.timezone,
            "quiet_hours": [s.quiet_hours.start, s.quiet_hours.end] if s.quiet_hours else None,
            "paused": s.paused,
        },
        "llm_tokens": {  # this UTC day's LLM tokens and the daily budget (0: no limit)
            "used": core.runner.budget.used(st, core.clock.now()),
            "limit": core.runner.budget.guild_daily_tokens,
            "global_limit": core.runner.budget.global_daily_tokens,
        },
        "prompt": {  # what an LLM prompt may carry from this guild (nothing without an LLM)
            "llm": core.runner.writer.llm is not None,
            "transcript": s.prompt_transcript,
            "lines": s.prompt_lines,
            "max_age_s": s.prompt_max_age_s,
            "names": s.prompt_names,
        },
    }


async def _persist(core: HostCore, guild_id: int) -> None:
    seq = core.write_behind.stamp()
    data = core.engine.snapshot(guild_id)
    await asyncio.to_thread(core.write_behind.save_now, core.store, guild_id, data, seq)
    core.loop.schedule(guild_id, core.clock.now())  # new settings may move the next wake


async def set_default_channel(core: HostCore, guild_id: int, channel_id: int) -> list[int]:
    """The gateway sees the guild (available, or the bot joined it) and found its default
    channel (0: none); returns the channels that count. A guild the bot had left resumes."""
    now = core.clock.now()
    ensure(core, guild_id, now)
    st = core.engine.state(guild_id)
    assert st is not None
    changed = core.loop.rejoined(guild_id, now)
    if channel_id and st.settings.default_channel != channel_id:
        settings = msgspec.structs.replace(st.settings, default_channel=channel_id)
        core.engine.configure(guild_id, settings)
        changed = True
    if changed:
        await _persist(core, guild_id)
    return sorted(st.settings.counted())


async def left(core: HostCore, guild_id: int) -> bool:
    """The bot was removed from the guild (not an outage): its members' data goes now, the
    guild itself after the grace period (`GuildLoop.left`). False when this host has not got it.
    """
    if not core.loop.left(guild_id, core.clock.now()):
        return False
    await _persist(core, guild_id)
    return True


async def set_mood(core: HostCore, guild_id: int, mood: str) -> dict[str, Any]:
    """Set the guild's mood now (until the next rotation); ValueError naming the known moods."""
    if mood not in core.engine.moods:
        known = ", ".join(sorted(core.engine.moods.names()))
        raise ValueError(f"{mood!r} is not a mood; the moods are: {known}.")
    now = core.clock.now()
    ensure(core, guild_id, now)
    core.engine.update_mood(guild_id, mood, at=now)
    await _persist(core, guild_id)
    core.count_moods()
    found = status(core, guild_id)
    assert found is not None
    return found


async def configure(core: HostCore, guild_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    """Change some of channels (ids; [] = the default channel), timezone, quiet_hours
    ([start, end] as 'HH:MM', or None for none), paused (pausing also lowers the learned
    chattiness), chattiness (a number in `engine.CHATTINESS_RANGE`, or None: learned), and what
    an LLM prompt may carry: prompt_transcript, prompt_lines, prompt_max_age_s, prompt_names."""
    unknown = sorted(set(changes) - set(CHANGEABLE))
    if unknown:
        raise ValueError(f"cannot change {', '.join(unknown)}; only {', '.join(CHANGEABLE)}.")
    now = core.clock.now()
    ensure(core, guild_id, now)
    st = core.engine.state(guild_id)
    assert st is not None
    fields = {f: getattr(st.settings, f) for f in GuildSettings.__struct_fields__}
    if "channels" in changes:
        fields["channels"] = frozenset(int(c) for c in changes["channels"])
    if "timezone" in changes:
        fields["timezone"] = str(changes["timezone"])
    if "quiet_hours" in changes:
        quiet = changes["quiet_hours"]
        fields["quiet_hours"] = None if quiet is None else QuietHours(str(quiet[0]), str(quiet[1]))
    if "paused" in changes:
        fields["paused"] = bool(changes["paused"])
    for key in ("prompt_transcript", "prompt_names"):
        if key in changes:
            fields[key] = bool(changes[key])
    if "prompt_lines" in changes:
        fields["prompt_lines"] = int(changes["prompt_lines"])
    if "prompt_max_age_s" in changes:
        fields["prompt_max_age_s"] = float(changes["prompt_max_age_s"])
    if "chattiness" in changes:
        chosen = changes["chattiness"]
        fields["chattiness"] = None if chosen is None else float(chosen)
    pausing = fields["paused"] and not st.settings.paused
    core.engine.configure(guild_id, GuildSettings(**fields))  # validates: ValueError
    if pausing:  # the admins wanted less of it: the learned chattiness goes down too
        core.engine.feedback(guild_id, "paused", at=now)
    await _persist(core, guild_id)
    found = status(core, guild_id)
    assert found is not None
    return found
