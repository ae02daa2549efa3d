"""A MoFox action's ``action_parameters``, filled by the LLM into its ``action_data``.

MoFox's planner is an LLM that picks an action and writes its parameters (``{"text": ...}``)
into ``action_data``. Guildmind's planner picks an action only; so before a MoFox action that
declares parameters executes, and when the round has an LLM, one request asks for them as a JSON
object (purpose ``"plan"``, reported to the round's observer, bounded by ``ctx.deadline``). No
LLM, a failed request or an unreadable answer: ``action_data`` holds no parameters, as the
action's own checks expect when the planner gave none.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import msgspec

from actions.observer import ask_llm
from actions.prompting import PromptView

if TYPE_CHECKING:
    from actions.context import ActionContext

logger = logging.getLogger(__name__)

PARAMETERS_SYSTEM = (
    "You fill in the parameters of the action a chat bot is about to take. Answer with one JSON "
    "object and nothing else."
)

_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.I)


def describe(parameters: Mapping[str, Any]) -> list[str]:
    """One line per parameter: MoFox writes ``name: description`` or ``name: {"type",
    "description", "required"}``."""
    lines = []
    for name, spec in parameters.items():
        if isinstance(spec, Mapping):
            kind = spec.get("type", "string")
            need = "required" if spec.get("required") else "optional"
            lines.append(f"- {name} ({kind}, {need}): {spec.get('description', '')}".rstrip())
        else:
            lines.append(f"- {name}: {spec}")
    return lines


def parameters_prompt(
    ctx: ActionContext,
    name: str,
    description: str,
    reason: str,
    parameters: Mapping[str, Any],
    view: PromptView | None = None,
) -> str:
    view = view or PromptView(ctx)  # as much of the chat as the guild lets a prompt carry
    if view.policy.transcript:
        lines = ["Recent chat (oldest first):", *(view.lines or ["(no messages)"])]
    else:
        lines = ["Recent chat: not shared by this server."]
    lines += ["", f"Action: {name}: {description}".rstrip(": ")]
    if reason:
        lines.append(f"Why now: {reason}")
    lines += ["Parameters:", *describe(parameters), ""]
    lines.append(
        "Answer with a JSON object holding these keys; leave out any you cannot tell from the chat."
    )
    return "\n".join(lines)


def read_parameters(answer: str, parameters: Mapping[str, Any]) -> dict[str, Any] | None:
    """The declared parameters of a JSON-object answer (strings, numbers, booleans), or None
    when the answer holds no JSON object."""
    text = _FENCE.sub("", answer.strip())
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end < start:
        return None
    try:
        data = msgspec.json.decode(text[start : end + 1])
    except msgspec.DecodeError:
        return None
    if not isinstance(data, dict):
        return None
    return {
        k: v
        for k, v in data.items()
        if k in parameters and isinstance(v, str | int | float | bool) and v != ""
    }


async def fill_parameters(
    ctx: ActionContext, name: str, description: str, reason: str, parameters: Mapping[str, Any]
) -> dict[str, Any]:
    """Ask the round's LLM for `parameters`; {} without an LLM or a readable answer."""
    llm = ctx.llm
    if llm is None or not parameters:
        return {}
    view = PromptView(ctx)
    reply = await ask_llm(
        llm, parameters_prompt(ctx, name, description, reason, parameters, view),
        system=PARAMETERS_SYSTEM, purpose="plan", observer=ctx.observer, deadline=ctx.deadline,
        budget=ctx.budget,
        grade=lambda text: "success" if read_parameters(text, parameters) is not None
        else ("garbage" if text.strip() else "empty"),
    )  # fmt: skip
    if reply.text is None:
        logger.debug("parameters for %r: no answer (%s)", name, reply.outcome)
        return {}
    found = read_parameters(reply.text, parameters)
    if found is None:
        logger.debug("parameters for %r: the answer held no JSON object", name)
        return {}
    logger.debug("parameters for %r: %s", name, sorted(found))
    # "user 2" in the answer is a member's alias in the prompt: the action gets who it is
    return {k: view.restore(v) if isinstance(v, str) else v for k, v in found.items()}
