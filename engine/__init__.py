"""guildmind's decision engine: when the bot should speak, from signals and mood.

Pure: no I/O, no Ray, no discord, no asyncio, no clock, no global randomness. Imports only the
standard library and msgspec.
"""

from .baseline import V1Policy
from .check import Check
from .config import (
    CHATTINESS_RANGE,
    FIXED,
    MAX_PROMPT_LINES,
    GuildSettings,
    LearningConfig,
    QuietHours,
    RuleConfig,
)
from .decision import Decision
from .engine import AutonomousEngine
from .events import MAX_ID, Event, MemberJoinEvent, MessageEvent, PresenceEvent, Snowflake, valid_id
from .moods import ASLEEP, BUILTIN_MOODS, MoodBook, MoodProfile, parse_moods
from .rules import ACTIONS, RULES
from .state import GuildSnapshot, GuildState
from .table import Rule, RuleTable

__all__ = [
    "ACTIONS",
    "ASLEEP",
    "BUILTIN_MOODS",
    "CHATTINESS_RANGE",
    "FIXED",
    "MAX_ID",
    "MAX_PROMPT_LINES",
    "RULES",
    "AutonomousEngine",
    "Check",
    "Decision",
    "Event",
    "GuildSettings",
    "GuildSnapshot",
    "GuildState",
    "LearningConfig",
    "MemberJoinEvent",
    "MessageEvent",
    "MoodBook",
    "MoodProfile",
    "PresenceEvent",
    "QuietHours",
    "Rule",
    "RuleConfig",
    "RuleTable",
    "Snowflake",
    "V1Policy",
    "parse_moods",
    "valid_id",
]
