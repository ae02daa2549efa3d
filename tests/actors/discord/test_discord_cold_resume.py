"""Cold resume end to end: the gateway's process SIGKILLed while people talk.

The whole runtime on Ray (the real discord.py client against the emulator); Ray restarts the
gateway, which RESUMEs the session it stored: every message sent during the outage is applied
once (the guild's count is exactly what was sent), no IDENTIFY is spent, the mention sent during
the outage and the one after it are each answered once. The control: the same kill with
`cold_resume = false` identifies and loses what was sent meanwhile.
"""

from __future__ import annotations

import pytest
from cold_resume_kit import kill_while_talking, world

pytestmark = [pytest.mark.usefixtures("ray_session")]


async def test_a_killed_gateway_resumes_and_every_message_is_applied_once(tmp_path) -> None:
    async with world(str(tmp_path), cold=True) as (emu, rt, cfg):
        out = await kill_while_talking(emu, rt, cfg)
        stats = await rt.gateway.stats.remote()
    assert out.identifies == 0 and out.resumes == 1, out  # no identify spent
    assert out.replayed > 0  # Discord (the emulator) replayed what the session missed
    assert out.applied == len(out.sent), out  # none lost, none applied twice
    assert out.replies_in_outage == 1 and out.replies_after == 1, out  # each answered, once
    assert out.doubled_replies == 0, out
    assert stats["sessions_resumed"] == 1 and "sessions_refused" not in stats, stats


async def test_without_cold_resume_the_same_kill_identifies_and_loses_messages(tmp_path) -> None:
    """The control: what the test above rules out does happen without cold resume."""
    async with world(str(tmp_path), cold=False) as (emu, rt, cfg):
        out = await kill_while_talking(emu, rt, cfg, settle_s=8.0)
    assert out.identifies == 1 and out.resumes == 0, out
    assert out.lost > 0 and out.doubled == 0, out  # what was sent while it was down is gone
    assert out.replies_after == 1, out  # and it works again
