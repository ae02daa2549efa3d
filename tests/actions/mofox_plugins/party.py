"""A native guildmind plugin beside the MoFox ones."""

from actions import BaseAction


class Party(BaseAction):
    action_name = "party"
    action_description = "Celebrate."

    async def go_activate(self, llm_judge_model=None) -> bool:
        return await self._keyword_match(["party"])

    async def execute(self) -> tuple[bool, str]:
        await self.send_text("🎉")
        return True, "partied"


def setup(registry):
    registry.register(Party)
