"""MoFox's component types: the enums and the ``*Info`` records a plugin lists its components with.

The same names, fields and defaults as MoFox-Bot's ``src.plugin_system.base.component_types``, so
a plugin that builds them by hand or from its classes (``get_action_info()``) works unchanged.
`ActionActivationType` is guildmind's own enum (the same five values): a MoFox action's legacy
fields are read by guildmind's default activation.

Mapped onto a Discord guild channel:

- `ChatType`: a guild channel is a group chat; a ``PRIVATE``-only action is never offered.
- `ChatMode`: a round where someone addressed the bot is ``FOCUS`` (and ``PRIORITY``), any other
  round ``NORMAL``; one the engine decided on its own is also ``PROACTIVE``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from actions.base import ActionActivationType

__all__ = [
    "ActionActivationType",
    "ActionInfo",
    "ChatMode",
    "ChatType",
    "ChatterInfo",
    "CommandInfo",
    "ComponentInfo",
    "ComponentType",
    "EventHandlerInfo",
    "EventInfo",
    "EventType",
    "InjectionRule",
    "InjectionType",
    "InterestCalculatorInfo",
    "MaiMessages",
    "PermissionNodeField",
    "PluginInfo",
    "PlusCommandInfo",
    "PromptInfo",
    "PythonDependency",
    "ToolInfo",
    "ToolParamType",
]


class _Named(Enum):
    def __str__(self) -> str:
        return str(self.value)


class ComponentType(_Named):
    """What a plugin component is; guildmind runs ``ACTION`` components only."""

    ACTION = "action"
    COMMAND = "command"
    PLUS_COMMAND = "plus_command"
    TOOL = "tool"
    SCHEDULER = "scheduler"
    EVENT_HANDLER = "event_handler"
    CHATTER = "chatter"
    INTEREST_CALCULATOR = "interest_calculator"
    PROMPT = "prompt"


class ChatMode(_Named):
    """MoFox's chat modes (see the module docstring for what each is on Discord)."""

    FOCUS = "focus"
    NORMAL = "normal"
    PROACTIVE = "proactive"
    PRIORITY = "priority"
    ALL = "all"


class ChatType(_Named):
    """Where an action may run: a Discord guild channel is a ``GROUP`` chat."""

    PRIVATE = "private"
    GROUP = "group"
    ALL = "all"


class EventType(_Named):
    """MoFox's events (event handlers are loaded, never run, on guildmind)."""

    ON_START = "on_start"
    ON_STOP = "on_stop"
    ON_MESSAGE = "on_message"
    ON_PLAN = "on_plan"
    POST_LLM = "post_llm"
    AFTER_LLM = "after_llm"
    POST_SEND = "post_send"
    AFTER_SEND = "after_send"
    UNKNOWN = "unknown"


class ToolParamType(Enum):
    """The type of a tool parameter (tools are loaded, never run, on guildmind)."""

    STRING = "string"
    INTEGER = "integer"
    FLOAT = "number"
    BOOLEAN = "boolean"


class InjectionType(_Named):
    """How a prompt component injects into another prompt (not run on guildmind)."""

    PREPEND = "prepend"
    APPEND = "append"
    REPLACE = "replace"
    REMOVE = "remove"
    INSERT_AFTER = "insert_after"


@dataclass
class InjectionRule:
    """A prompt component's injection rule (kept, not run)."""

    target_prompt: str
    injection_type: InjectionType = InjectionType.PREPEND
    priority: int = 100
    target_content: str | None = None

    def __post_init__(self) -> None:
        needs_target = (InjectionType.REPLACE, InjectionType.REMOVE, InjectionType.INSERT_AFTER)
        if self.injection_type in needs_target and self.target_content is None:
            raise ValueError(
                f"InjectionRule of type {self.injection_type.value!r} needs target_content."
            )


@dataclass
class PythonDependency:
    """A Python package a plugin needs (guildmind installs nothing: install it yourself)."""

    package_name: str
    version: str = ""
    optional: bool = False
    description: str = ""
    install_name: str = ""

    def __post_init__(self) -> None:
        if not self.install_name:
            self.install_name = self.package_name

    def get_pip_requirement(self) -> str:
        return f"{self.install_name}{self.version}" if self.version else self.install_name


@dataclass
class PermissionNodeField:
    """A permission node a plugin declares (ignored: guildmind has no permission system)."""

    node_name: str
    description: str


@dataclass
class ComponentInfo:
    """One component of a plugin: its name, type and whether it is enabled."""

    name: str
    component_type: ComponentType
    description: str = ""
    enabled: bool = True
    plugin_name: str = ""
    is_built_in: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.metadata is None:
            self.metadata = {}


@dataclass
class ActionInfo(ComponentInfo):
    """An action component. Its ``name``, ``description`` and ``enabled`` are what guildmind
    registers; activation is the class's (`BaseAction.go_activate()` and its legacy fields)."""

    component_type: ComponentType = ComponentType.ACTION
    action_parameters: dict[str, Any] = field(default_factory=dict)
    action_require: list[str] = field(default_factory=list)
    associated_types: list[str] = field(default_factory=list)
    focus_activation_type: ActionActivationType = ActionActivationType.ALWAYS
    normal_activation_type: ActionActivationType = ActionActivationType.ALWAYS
    activation_type: ActionActivationType = ActionActivationType.ALWAYS
    random_activation_probability: float = 0.0
    llm_judge_prompt: str = ""
    activation_keywords: list[str] = field(default_factory=list)
    keyword_case_sensitive: bool = False
    mode_enable: ChatMode = ChatMode.ALL
    parallel_action: bool = False
    chat_type_allow: ChatType = ChatType.ALL
    is_two_step_action: bool = False
    step_one_description: str = ""
    sub_actions: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("activation_keywords", "action_require", "associated_types", "sub_actions"):
            if getattr(self, name) is None:
                setattr(self, name, [])
        if self.action_parameters is None:
            self.action_parameters = {}
        self.component_type = ComponentType.ACTION


@dataclass
class CommandInfo(ComponentInfo):
    """A command component (loaded, not run: guildmind's commands are its slash commands)."""

    component_type: ComponentType = ComponentType.COMMAND
    command_pattern: str = ""
    chat_type_allow: ChatType = ChatType.ALL

    def __post_init__(self) -> None:
        super().__post_init__()
        self.component_type = ComponentType.COMMAND


@dataclass
class PlusCommandInfo(ComponentInfo):
    """An enhanced command component (loaded, not run)."""

    component_type: ComponentType = ComponentType.PLUS_COMMAND
    command_aliases: list[str] = field(default_factory=list)
    priority: int = 0
    chat_type_allow: ChatType = ChatType.ALL
    intercept_message: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.command_aliases is None:
            self.command_aliases = []
        self.component_type = ComponentType.PLUS_COMMAND


@dataclass
class ToolInfo(ComponentInfo):
    """A tool component (loaded, not run: guildmind's LLM calls no tools)."""

    component_type: ComponentType = ComponentType.TOOL
    tool_parameters: list[tuple[str, ToolParamType, str, bool, list[str] | None]] = field(
        default_factory=list
    )
    tool_description: str = ""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.component_type = ComponentType.TOOL


@dataclass
class EventHandlerInfo(ComponentInfo):
    """An event handler component (loaded, not run)."""

    component_type: ComponentType = ComponentType.EVENT_HANDLER
    event_type: EventType = EventType.ON_MESSAGE
    intercept_message: bool = False
    weight: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        self.component_type = ComponentType.EVENT_HANDLER


EventInfo = EventHandlerInfo


@dataclass
class ChatterInfo(ComponentInfo):
    """A chatter component (loaded, not run: the engine decides when the bot speaks)."""

    component_type: ComponentType = ComponentType.CHATTER
    chat_type_allow: ChatType = ChatType.ALL

    def __post_init__(self) -> None:
        super().__post_init__()
        self.component_type = ComponentType.CHATTER


@dataclass
class InterestCalculatorInfo(ComponentInfo):
    """An interest calculator component (loaded, not run)."""

    component_type: ComponentType = ComponentType.INTEREST_CALCULATOR
    enabled_by_default: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        self.component_type = ComponentType.INTEREST_CALCULATOR


@dataclass
class PromptInfo(ComponentInfo):
    """A prompt component (loaded, not run: guildmind builds its own prompts)."""

    component_type: ComponentType = ComponentType.PROMPT
    injection_rules: list[InjectionRule] = field(default_factory=list)
    injection_point: str | list[str] | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        self.component_type = ComponentType.PROMPT
        if self.injection_point and not self.injection_rules:
            points = (
                [self.injection_point]
                if isinstance(self.injection_point, str)
                else list(self.injection_point)
            )
            self.injection_rules = [InjectionRule(target_prompt=p) for p in points]
        self.injection_point = None


@dataclass
class PluginInfo:
    """What a loaded plugin is: its names, version and the components guildmind took."""

    display_name: str
    name: str
    description: str
    version: str = "1.0.0"
    author: str = ""
    enabled: bool = True
    is_built_in: bool = False
    components: list[ComponentInfo] = field(default_factory=list)
    dependencies: list[str] = field(default_factory=list)
    python_dependencies: list[str | PythonDependency] = field(default_factory=list)
    config_file: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    license: str = ""
    homepage_url: str = ""
    repository_url: str = ""
    keywords: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)


@dataclass
class MaiMessages:
    """MoFox's message record for event handlers (event handlers are not run on guildmind)."""

    message_segments: list[Any] = field(default_factory=list)
    message_base_info: dict[str, Any] = field(default_factory=dict)
    plain_text: str = ""
    raw_message: str | None = None
    is_group_message: bool = False
    is_private_message: bool = False
    stream_id: str | None = None
    llm_prompt: str | None = None
    llm_response_content: str | None = None
    llm_response_reasoning: str | None = None
    llm_response_model: str | None = None
    llm_response_tool_call: list[Any] | None = None
    action_usage: list[str] | None = None
    additional_data: dict[Any, Any] = field(default_factory=dict)
