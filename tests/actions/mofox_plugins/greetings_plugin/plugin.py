"""A hello-world-shaped MoFox plugin: only the imports differ from MoFox-Bot's."""

import base64
from typing import Any, ClassVar

from actions.mofox import (
    ActionActivationType,
    BaseAction,
    BaseEventHandler,
    BasePlugin,
    BasePrompt,
    BaseTool,
    ChatType,
    CommandArgs,
    ComponentInfo,
    ConfigField,
    EventType,
    PlusCommand,
    ToolParamType,
    register_plugin,
)
from actions.mofox.apis import get_logger
from actions.mofox.base.base_event import HandlerResult
from actions.mofox.base.component_types import InjectionRule, InjectionType

logger = get_logger("greetings_plugin")

# a 1×1 transparent PNG, as MoFox's emoji manager hands out base64 stickers
STICKER = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
    )
).decode()


class StartupMessageHandler(BaseEventHandler):
    handler_name = "greetings_startup_handler"
    handler_description = "Logs a line when the bot starts."
    init_subscribe: ClassVar[list[EventType]] = [EventType.ON_START]

    async def execute(self, params: dict) -> HandlerResult:
        logger.info("greetings plugin ready")
        return HandlerResult(success=True, continue_process=True)


class HelloCommand(PlusCommand):
    command_name = "hello"
    command_description = "Say hello to the bot."
    command_aliases: ClassVar[list[str]] = ["hi"]
    chat_type_allow = ChatType.ALL

    async def execute(self, args: CommandArgs) -> tuple[bool, str | None, bool]:
        await self.send_text(str(self.get_config("greeting.message", "Hello!")))
        return True, "greeted", True


class ClockTool(BaseTool):
    name = "get_time"
    description = "The time of day."
    available_for_llm = True
    parameters: ClassVar = [("zone", ToolParamType.STRING, "A time zone.", False, None)]

    async def execute(self, function_args: dict[str, Any]) -> dict[str, Any]:
        return {"name": self.name, "content": "noon"}


class MottoPrompt(BasePrompt):
    prompt_name = "motto_prompt"
    prompt_description = "Adds the motto to the planner's prompt."
    injection_rules: ClassVar[list[InjectionRule]] = [
        InjectionRule(target_prompt="planner_prompt", injection_type=InjectionType.APPEND)
    ]

    async def execute(self) -> str:
        return "Be kind."


class GreetAction(BaseAction):
    """Greets whoever said hello, as a reply to their message (the guide's old signature)."""

    action_name = "greet"
    action_description = "Answer a greeting with the configured message."
    action_require: ClassVar[list[str]] = ["someone greets the chat"]
    associated_types: ClassVar[list[str]] = ["text"]
    priority = 30  # guildmind's rule planner: above its own reply (20)

    async def go_activate(self, chat_content: str = "", llm_judge_model=None) -> bool:
        return await self._keyword_match(
            chat_content, keywords=["hello", "你好", "hi"], case_sensitive=False
        )

    async def execute(self) -> tuple[bool, str]:
        reason = self.action_data.get("reason", "")
        logger.info(f"{self.log_prefix} greeting {self.user_nickname} ({reason})")
        message = self.get_config("greeting.message", "Hello!")
        signature = self.get_config("greeting.signature", "")
        text = f"{message} {signature}".strip()
        said = self.action_message.get("processed_plain_text", "")
        ok = await self.send_text(text, reply_to=f"{self.user_nickname}:{said}")
        return ok, f"greeted because {reason}"


class WaveAction(BaseAction):
    """Waves now and then (the legacy RANDOM type)."""

    action_name = "wave"
    action_description = "Wave at the chat."
    activation_type = ActionActivationType.RANDOM
    random_activation_probability = 0.5

    async def execute(self) -> tuple[bool, str]:
        ok = await self.send_emoji("👋")
        return ok, "waved"


class StickerAction(BaseAction):
    """Sends a sticker image, as MoFox's emoji action does."""

    action_name = "sticker"
    action_description = "Send a sticker."
    activation_type = ActionActivationType.KEYWORD
    activation_keywords: ClassVar[list[str]] = ["sticker"]
    priority = 25  # guildmind's rule planner: above its own reply (20), below greet

    async def execute(self) -> tuple[bool, str]:
        ok = await self.send_emoji(STICKER)
        await self.store_action_info(
            action_build_into_prompt=True, action_prompt_display="sent a sticker", action_done=ok
        )
        return ok, "sent a sticker" if ok else "the sticker was not sent"


class ReplyAction(BaseAction):
    """The plugin's own reply: its name is taken on guildmind, so it is namespaced."""

    action_name = "reply"
    action_description = "Answer the latest message."
    activation_type = ActionActivationType.KEYWORD
    activation_keywords: ClassVar[list[str]] = ["question"]

    async def execute(self) -> tuple[bool, str]:
        ok = await self.send_text("A good question!")
        return ok, ""


@register_plugin
class GreetingsPlugin(BasePlugin):
    """Greets, waves and sends stickers."""

    plugin_name = "greetings_plugin"
    enable_plugin = True
    dependencies: ClassVar = []
    python_dependencies: ClassVar = []
    config_file_name = "config.toml"

    config_section_descriptions: ClassVar = {"greeting": "What to say", "components": "On/off"}
    config_schema: ClassVar = {
        "plugin": {
            "enabled": ConfigField(type=bool, default=True, description="Load the plugin."),
            "config_version": ConfigField(type=str, default="1.0.0", description="Version."),
        },
        "greeting": {
            "message": ConfigField(type=str, default="Hello!", description="The greeting."),
            "signature": ConfigField(type=str, default="", description="Added after it."),
            "style": ConfigField(
                type=str, default="warm", description="Tone.", choices=["warm", "dry"]
            ),
        },
        "components": {
            "enable_greet": ConfigField(type=bool, default=True, description="greet"),
            "enable_wave": ConfigField(type=bool, default=True, description="wave"),
            "enable_sticker": ConfigField(type=bool, default=False, description="sticker"),
            "enable_reply": ConfigField(type=bool, default=True, description="reply"),
        },
    }

    def get_plugin_components(self) -> list[tuple[ComponentInfo, type]]:
        components: list[tuple[ComponentInfo, type]] = [
            (StartupMessageHandler.get_handler_info(), StartupMessageHandler),
            (HelloCommand.get_plus_command_info(), HelloCommand),
            (ClockTool.get_tool_info(), ClockTool),
            (MottoPrompt.get_prompt_info(), MottoPrompt),
        ]
        if self.get_config("components.enable_greet", True):
            components.append((GreetAction.get_action_info(), GreetAction))
        if self.get_config("components.enable_wave", True):
            components.append((WaveAction.get_action_info(), WaveAction))
        if self.get_config("components.enable_sticker", False):
            components.append((StickerAction.get_action_info(), StickerAction))
        if self.get_config("components.enable_reply", True):
            components.append((ReplyAction.get_action_info(), ReplyAction))
        return components
