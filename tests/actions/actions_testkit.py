"""Test helpers for tests/actions (a uniquely named module, so no conftest collides)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any

from actions import ActionContext, ChatMessage
from engine.decision import Decision


class FakeLLM:
    """An LLMClient that answers from a function or a fixed string and records each call."""

    def __init__(
        self, answer: str | Callable[[str, str | None, str], Any] = "yes", delay: float = 0.0
    ) -> None:
        self.answer = answer
        self.delay = delay
        self.calls: list[tuple[str, str | None, str]] = []

    async def complete(
        self, prompt: str, *, system: str | None = None, purpose: str = "content"
    ) -> str:
        self.calls.append((prompt, system, purpose))
        if self.delay:
            await asyncio.sleep(self.delay)
        if callable(self.answer):
            result = self.answer(prompt, system, purpose)
            if isinstance(result, BaseException):
                raise result
            return result
        return self.answer


def make_ctx(
    *texts: str, seed: int = 1, decision: Decision | None = None, **kw: Any
) -> ActionContext:
    messages = [
        ChatMessage(f"user{i}", t, at=1000.0 + i, message_id=100 + i) for i, t in enumerate(texts)
    ]
    return ActionContext(
        guild_id=1,
        channel_id=2,
        mood=kw.pop("mood", "neutral"),
        messages=messages,
        decision=decision,
        rng=random.Random(seed),
        now=kw.pop("now", 2000.0),
        **kw,
    )


def decision(action: str | None, **kw: Any) -> Decision:
    return Decision(
        guild_id=1,
        at=2000.0,
        action=action,
        reason=kw.pop("reason", "a test rule"),
        mood=kw.pop("mood", "neutral"),
        **kw,
    )
