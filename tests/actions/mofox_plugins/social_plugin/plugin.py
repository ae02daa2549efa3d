"""A social-toolkit-shaped MoFox plugin: poke, comfort, remind."""

from typing import ClassVar

from actions.mofox import (
    ActionActivationType,
    BaseAction,
    BasePlugin,
    ComponentInfo,
    ConfigField,
    register_plugin,
)
from actions.mofox.apis import llm_api
from actions.mofox.base.component_types import ChatMode, ChatType


class PokeAction(BaseAction):
    """Pokes a user (a QQ adapter command)."""

    action_name = "poke_user"
    action_description = "Poke someone for fun."
    activation_type = ActionActivationType.KEYWORD
    activation_keywords: ClassVar[list[str]] = ["poke"]
    parallel_action = True

    async def execute(self) -> tuple[bool, str]:
        user_id = self.action_data.get("user_id") or self.user_id
        await self.send_command("SEND_POKE", args={"qq_id": str(user_id)}, display_message="poke")
        await self.store_action_info(action_prompt_display="poked", action_done=True)
        return True, f"poked {user_id}"


class ComfortAction(BaseAction):
    """Comforts someone who feels low; the judge decides, with no prompt of its own."""

    action_name = "comfort"
    action_description = "Comfort someone who feels low."
    action_require: ClassVar[list[str]] = ["someone is sad", "someone needs support"]
    mode_enable = ChatMode.FOCUS

    async def go_activate(self, llm_judge_model=None) -> bool:
        return await self._llm_judge_activation(llm_judge_model=llm_judge_model)

    async def execute(self) -> tuple[bool, str]:
        await self.send_text(self.get_config("comfort.words", "There, there."))
        return True, "comforted"


class RemindAction(BaseAction):
    """Sets a reminder; parses the time with MoFox's LLM API."""

    action_name = "set_reminder"
    action_description = "Set a reminder."
    activation_type = ActionActivationType.KEYWORD
    activation_keywords: ClassVar[list[str]] = ["remind me", "提醒"]

    async def execute(self) -> tuple[bool, str]:
        models = llm_api.get_available_models()
        return True, f"{len(models)} models"


class WhisperAction(BaseAction):
    """Private chats only (never offered in a guild channel)."""

    action_name = "whisper"
    action_description = "Whisper in private."
    chat_type_allow = ChatType.PRIVATE

    async def execute(self) -> tuple[bool, str]:
        await self.send_text("psst")
        return True, "whispered"


@register_plugin
class SocialPlugin(BasePlugin):
    plugin_name: str = "social_plugin"
    enable_plugin: bool = True
    config_file_name: str = "config.toml"  # there is none: the defaults apply

    config_schema: ClassVar[dict] = {
        "components": {
            "action_poke_enable": ConfigField(type=bool, default=True, description="poke"),
            "action_comfort_enable": ConfigField(type=bool, default=True, description="comfort"),
            "action_remind_enable": ConfigField(type=bool, default=True, description="remind"),
        },
        "comfort": {"words": ConfigField(type=str, default="Sending a hug.", description="")},
    }

    def get_plugin_components(self) -> list[tuple[ComponentInfo, type]]:
        enable = []
        if self.get_config("components.action_poke_enable"):
            enable.append((PokeAction.get_action_info(), PokeAction))
        if self.get_config("components.action_comfort_enable"):
            enable.append((ComfortAction.get_action_info(), ComfortAction))
        if self.get_config("components.action_remind_enable"):
            enable.append((RemindAction.get_action_info(), RemindAction))
        enable.append((WhisperAction.get_action_info(), WhisperAction))
        return enable
