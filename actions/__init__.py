"""The action system: *how* the bot speaks once the engine decided *when*.

Import the public names from here: ``from actions import BaseAction, ActionModifier, ...``.
See ``docs/actions.md`` for writing a plugin.
"""

from __future__ import annotations

from actions.base import ActionActivationType, BaseAction
from actions.budget import (
    BudgetedLLM,
    BudgetPolicy,
    GlobalLedger,
    LocalLedger,
    Reservation,
    TokenBudget,
)
from actions.builtin import (
    BUILTIN_ACTIONS,
    BreakSilence,
    EngageUser,
    EngineAction,
    FomoResponse,
    JoinConversation,
    Reply,
    ShareTweet,
)
from actions.content import ContentWriter, TemplateBank, Written, default_templates
from actions.context import ActionContext, ChatMessage, OutgoingMessage
from actions.feeds import Post, PostSource
from actions.judge import JudgeCache, JudgeStats, parse_judge_answer
from actions.llm import (
    Completion,
    LLMClient,
    LLMConfig,
    LLMError,
    LLMTimeout,
    MeteredLLMClient,
    OpenAICompatibleClient,
)
from actions.modifier import ActionModifier, ActivationReport, ExecutionResult
from actions.observer import ActionObserver, LLMReply, LLMRequest, RecordingObserver, ask_llm
from actions.planner import LLMPlanner, Planner, RulePlanner, make_planner
from actions.prompting import PromptPolicy, PromptView
from actions.reasoning import final_answer
from actions.registry import ENTRY_POINT_GROUP, ActionRegistry, LoadError, PluginError
from actions.repeats import RecentLines
from actions.words import says

__all__ = [
    "BUILTIN_ACTIONS",
    "ENTRY_POINT_GROUP",
    "ActionActivationType",
    "ActionContext",
    "ActionModifier",
    "ActionObserver",
    "ActionRegistry",
    "ActivationReport",
    "BaseAction",
    "BreakSilence",
    "BudgetPolicy",
    "BudgetedLLM",
    "ChatMessage",
    "Completion",
    "ContentWriter",
    "EngageUser",
    "EngineAction",
    "ExecutionResult",
    "FomoResponse",
    "GlobalLedger",
    "JoinConversation",
    "JudgeCache",
    "JudgeStats",
    "LLMClient",
    "LLMConfig",
    "LLMError",
    "LLMPlanner",
    "LLMReply",
    "LLMRequest",
    "LLMTimeout",
    "LoadError",
    "LocalLedger",
    "MeteredLLMClient",
    "OpenAICompatibleClient",
    "OutgoingMessage",
    "Planner",
    "PluginError",
    "Post",
    "PostSource",
    "PromptPolicy",
    "PromptView",
    "RecentLines",
    "RecordingObserver",
    "Reply",
    "Reservation",
    "RulePlanner",
    "ShareTweet",
    "TemplateBank",
    "TokenBudget",
    "Written",
    "ask_llm",
    "default_templates",
    "final_answer",
    "make_planner",
    "parse_judge_answer",
    "says",
]
