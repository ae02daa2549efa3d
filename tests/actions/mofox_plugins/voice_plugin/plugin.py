"""A TTS-plugin-shaped MoFox plugin (deep imports, the legacy two-mode activation types)."""

import re
from typing import ClassVar

from actions.mofox.apis.logging_api import get_logger
from actions.mofox.apis.plugin_register_api import register_plugin
from actions.mofox.base.base_action import ActionActivationType, BaseAction, ChatMode
from actions.mofox.base.base_plugin import BasePlugin
from actions.mofox.base.component_types import ComponentInfo
from actions.mofox.base.config_types import ConfigField

logger = get_logger("tts")


class TTSAction(BaseAction):
    """Speaks a text: the LLM judges in focus chat, keywords in normal chat."""

    focus_activation_type = ActionActivationType.LLM_JUDGE
    normal_activation_type = ActionActivationType.KEYWORD
    mode_enable = ChatMode.ALL
    parallel_action = False

    action_name = "tts_action"
    action_description = "Turn text into speech for the chat."
    activation_keywords: ClassVar[list[str]] = ["语音", "tts", "read it aloud"]
    keyword_case_sensitive = False
    action_parameters: ClassVar[dict] = {"text": "The text to speak."}
    action_require: ClassVar[list] = ["someone asks the bot to speak"]
    associated_types: ClassVar[list[str]] = ["tts_text"]

    async def execute(self) -> tuple[bool, str]:
        logger.info(f"{self.log_prefix} TTS: {self.reasoning}")
        text = self.action_data.get("text") or self.get_config("tts.fallback_text", "")
        if not text:
            return False, "no text to speak"
        text = re.sub(r"([!?,.;:。！？，、；：])\1+", r"\1", text)
        await self.send_custom(message_type="tts_text", content=text)
        await self.store_action_info(
            action_build_into_prompt=True,
            action_prompt_display="sent a voice message",
            action_done=True,
        )
        return True, "TTS done"


@register_plugin
class TTSPlugin(BasePlugin):
    plugin_name: str = "voice_plugin"
    enable_plugin: bool = True
    dependencies: ClassVar[list[str]] = []
    python_dependencies: ClassVar[list[str]] = []
    config_file_name: str = "config.toml"

    config_schema: ClassVar[dict] = {
        "plugin": {
            "name": ConfigField(type=str, default="voice", description="name", required=True),
            "enabled": ConfigField(type=bool, default=True, description="enabled"),
        },
        "components": {"enable_tts": ConfigField(type=bool, default=True, description="TTS")},
        "tts": {
            "fallback_text": ConfigField(type=str, default="Hello!!", description="said when none"),
            "level": ConfigField(
                type=str, default="INFO", description="log level", choices=["DEBUG", "INFO"]
            ),
        },
    }

    def get_plugin_components(self) -> list[tuple[ComponentInfo, type]]:
        components = []
        if self.get_config("components.enable_tts", True):
            components.append((TTSAction.get_action_info(), TTSAction))
        return components
