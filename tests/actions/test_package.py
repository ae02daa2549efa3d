"""The package surface: explicit exports, and no forbidden imports."""

from __future__ import annotations

import subprocess
import sys
import types

import actions


def test_all_matches_public_names() -> None:
    public = {n for n in dir(actions) if not n.startswith("_")}
    # the submodules (`actions.words`, ...) are attributes of the package, not its exports
    modules = {n for n in public if isinstance(getattr(actions, n), types.ModuleType)}
    assert set(actions.__all__) == public - modules - {"annotations"}
    assert {
        "BaseAction",
        "ActionActivationType",
        "ActionContext",
        "ChatMessage",
        "ActionModifier",
    } <= set(actions.__all__)


def test_no_ray_discord_or_prometheus() -> None:
    code = (
        "import sys, actions, plugins.hello_world; "
        "bad = [m for m in ('ray', 'discord', 'prometheus_client') if m in sys.modules]; "
        "print(bad)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "[]"


def test_outgoing_message_crosses_boundaries() -> None:
    import msgspec

    msg = actions.OutgoingMessage(guild_id=1, channel_id=2, text="hi", action="reply", reply_to=3)
    assert msgspec.msgpack.decode(msgspec.msgpack.encode(msg), type=actions.OutgoingMessage) == msg
    assert hash(msg) == hash(
        actions.OutgoingMessage(guild_id=1, channel_id=2, text="hi", action="reply", reply_to=3)
    )


def test_context_keeps_a_bounded_transcript() -> None:
    msgs = [actions.ChatMessage("a", f"m{i}") for i in range(50)]
    ctx = actions.ActionContext(1, 2, "neutral", messages=msgs, max_messages=5)
    assert [m.content for m in ctx.messages] == ["m45", "m46", "m47", "m48", "m49"]
    assert "m49" not in repr(ctx) and "m49" not in repr(ctx.messages[-1])
