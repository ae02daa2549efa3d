"""The examples of the "Action activation" guide, corrected for guildmind.

Corrections to the guide: `go_activate()` takes only ``llm_judge_model`` (there is no
``chat_content`` argument: the transcript is ``self.ctx.messages``); randomness comes from
``self.ctx.rng`` and time from ``self.ctx.now``, never from `random` or `datetime.now()`.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from actions import ActionActivationType, BaseAction, LLMClient


class GreetingAction(BaseAction):
    """Example 1: answer a greeting, activated by keywords."""

    action_name = "greeting"
    action_description = "Answer a user's greeting."
    priority = -10

    async def go_activate(self, llm_judge_model: LLMClient | None = None) -> bool:
        return await self._keyword_match(
            keywords=["你好", "hello", "hi", "嗨"], case_sensitive=False
        )

    async def execute(self) -> tuple[bool, str]:
        await self.send_text("Hello! Nice to see you! 👋")
        return True, "sent a greeting"


class ComfortAction(BaseAction):
    """Example 2: comfort a sad user, activated by the LLM judge."""

    action_name = "comfort"
    action_description = "Offer comfort and support."
    action_require = ("a user feels low", "a user needs comfort")
    priority = -10

    async def go_activate(self, llm_judge_model: LLMClient | None = None) -> bool:
        return await self._llm_judge_activation(
            judge_prompt=(
                "Does a user express any of these: feeling sad, down or lost; negative "
                "feelings; a need for comfort or encouragement? Answer yes or no."
            ),
            llm_judge_model=llm_judge_model,
        )

    async def execute(self) -> tuple[bool, str]:
        await self.send_text("Looks like you're having a rough time. Sending you a hug! 🤗💕")
        return True, "sent comfort"


class RandomEmojiAction(BaseAction):
    """Example 3: a random emoji, 10 % of the time."""

    action_name = "random_emoji"
    action_description = "Send a random emoji for fun."
    priority = -10
    emojis = ("😊", "😂", "👍", "🎉", "🤔", "🤖")

    async def go_activate(self, llm_judge_model: LLMClient | None = None) -> bool:
        return await self._random_activation(0.1)

    async def execute(self) -> tuple[bool, str]:
        await self.send_emoji(self.ctx.rng.choice(self.emojis))
        return True, "sent an emoji"


class FlexibleAction(BaseAction):
    """Example 4: combined conditions (20 % random, or a keyword)."""

    action_name = "flexible"
    action_description = "Shows combined activation conditions."
    priority = -10

    async def go_activate(self, llm_judge_model: LLMClient | None = None) -> bool:
        if await self._random_activation(0.2):
            return True
        return await self._keyword_match(["表情", "emoji"], case_sensitive=False)

    async def execute(self) -> tuple[bool, str]:
        await self.send_text("A flexible activation example! ✨")
        return True, "sent"


class AdvancedAction(BaseAction):
    """Example 5: working hours, a long enough message, a keyword, then the LLM judge.

    Config (``ctx.config["advanced"]``): ``start_hour`` (9), ``end_hour`` (18), ``timezone``
    ("UTC"), ``min_length`` (10).
    """

    action_name = "advanced"
    action_description = "Offer help during working hours."
    priority = -10

    def in_working_hours(self) -> bool:
        tz = ZoneInfo(self.get_config("timezone", "UTC"))
        hour = datetime.fromtimestamp(self.ctx.now or 0.0, tz).hour
        return self.get_config("start_hour", 9) <= hour < self.get_config("end_hour", 18)

    async def go_activate(self, llm_judge_model: LLMClient | None = None) -> bool:
        if not self.in_working_hours():
            return False
        last = self.ctx.last_message
        if last is None or len(last.content) < self.get_config("min_length", 10):
            return False
        if await self._keyword_match(["帮助", "help", "求助"], case_sensitive=False):
            return await self._llm_judge_activation(
                judge_prompt="Does the user really need help?", llm_judge_model=llm_judge_model
            )
        return False

    async def execute(self) -> tuple[bool, str]:
        await self.send_text("I'm here to help!")
        return True, "offered help"


class AlwaysActiveAction(BaseAction):
    """Example 6a: always offered."""

    action_name = "always_active"
    action_description = "This action is always offered."
    priority = -20

    async def go_activate(self, llm_judge_model: LLMClient | None = None) -> bool:
        return True

    async def execute(self) -> tuple[bool, str]:
        await self.send_text("I'm always available!")
        return True, "sent"


class NeverActiveAction(BaseAction):
    """Example 6b: never offered (useful to switch an action off)."""

    action_name = "never_active"
    action_description = "This action is never offered."

    async def go_activate(self, llm_judge_model: LLMClient | None = None) -> bool:
        return False

    async def execute(self) -> tuple[bool, str]:
        return False, "not executed"


class OldStyleAction(BaseAction):
    """Example 7a: the old, declarative style; the default `go_activate()` reads these fields."""

    action_name = "old_style"
    action_description = "An old-style action."
    priority = -10
    activation_type = ActionActivationType.KEYWORD
    activation_keywords = ("你好", "hello")
    keyword_case_sensitive = False

    async def execute(self) -> tuple[bool, str]:
        return True, "executed"


class NewStyleAction(BaseAction):
    """Example 7b: the same activation, new style."""

    action_name = "new_style"
    action_description = "A new-style action."
    priority = -10

    async def go_activate(self, llm_judge_model: LLMClient | None = None) -> bool:
        return await self._keyword_match(keywords=["你好", "hello"], case_sensitive=False)

    async def execute(self) -> tuple[bool, str]:
        return True, "executed"


EXAMPLES: tuple[type[BaseAction], ...] = (
    GreetingAction,
    ComfortAction,
    RandomEmojiAction,
    FlexibleAction,
    AdvancedAction,
    AlwaysActiveAction,
    NeverActiveAction,
    OldStyleAction,
    NewStyleAction,
)
