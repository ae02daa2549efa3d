"""guildmind's decision engine: when the bot should speak, from signals and mood.

Pure: no I/O, no Ray, no discord, no asyncio, no clock, no global randomness. Imports only the
standard library and msgspec.
"""

from .baseline import V1Policy
from .config import GuildSettings, QuietHours, RuleConfig
from .decision import ACTIONS, Decision
from .engine import AutonomousEngine
from .events import Event, MemberJoinEvent, MessageEvent, PresenceEvent
from .moods import ASLEEP, BUILTIN_MOODS, MoodBook, MoodProfile, parse_moods
from .state import GuildSnapshot, GuildState

__all__ = [
    "ACTIONS",
    "ASLEEP",
    "BUILTIN_MOODS",
    "AutonomousEngine",
    "Decision",
    "Event",
    "GuildSettings",
    "GuildSnapshot",
    "GuildState",
    "MemberJoinEvent",
    "MessageEvent",
    "MoodBook",
    "MoodProfile",
    "PresenceEvent",
    "QuietHours",
    "RuleConfig",
    "V1Policy",
    "parse_moods",
]
