"""Keywords and names match whole words where words are spaced, substrings where they are not.

One matcher (`actions.words.says`) serves `BaseAction._keyword_match` and the Discord source's
`says_name`; the shipped `GreetingAction` (hello / hi / 你好 / 嗨) is the example people copy.
"""

from __future__ import annotations

import pytest

from actions import ActionContext, ActionModifier, ActionRegistry, BaseAction, ChatMessage
from actions.words import phrase_pattern, says
from actors.sources.discord import names
from plugins.hello_world.examples import GreetingAction
from tests.actions.actions_testkit import make_ctx

GREETINGS = ("你好", "hello", "hi", "嗨")


async def greets(*texts: str) -> bool:
    return await GreetingAction(make_ctx(*texts)).go_activate()


@pytest.mark.parametrize(
    "text",
    [
        # the reported ones: "hi" inside other words
        "this is fine",
        "which one",
        "shipping",
        "I think so",
        "chill vibe",
        "Archive",
        # their neighbours
        "hiya",  # a different word
        "Hindi",
        "othello",
        "hellohello",
        "hi2 is a server",  # a digit or "_" makes another word
        "hi_there",
        "ship it!",
        "THIS",
        "nothing to see",
        "你们好",  # 你 and 好, not 你好
        # not words anyone says: links, addresses, code, markup, file names
        "https://hi.example.com/path",
        "see www.hello.org",
        "http://example.com/hello-world",
        "<https://example.com/hi>",
        "mail hi@example.com",
        "`hi()` returns None",
        "```\nprint('hello')\n```",
        "<:hi:123456789> lol",  # a custom emoji
        "look at hello.png",
        "",
    ],
)
async def test_greeting_does_not_activate_inside_words_or_non_speech(text: str) -> None:
    assert not await greets(text)
    assert not says(text, GREETINGS)


@pytest.mark.parametrize(
    "text",
    [
        "Hi!",
        "hello, world",
        "HELLO",
        "oh hi there",
        "你好啊",
        "大家嗨",
        "hi",
        "Hello?!",
        "(hi)",
        "«hello»",
        "hi-five, everyone",  # a hyphen ends a word
        "@hi",
        "hi👋",  # emoji are not letters
        "👋hi👋",
        "say hi 🎉",
        "hi\nthere",
        "hello… anyone?",
        "hiさん",  # a letter of an unspaced script ends a spaced word
        "大家好，hi",
        "see https://example.com then say hi",  # a link elsewhere in the message
        "`code` and hello",
    ],
)
async def test_greeting_activates_on_the_words(text: str) -> None:
    assert await greets(text)
    assert says(text, GREETINGS)


@pytest.mark.parametrize(
    ("text", "keyword", "case_sensitive", "expected"),
    [
        ("HELLO", "hello", False, True),
        ("HELLO", "hello", True, False),
        ("HELLO", "HELLO", True, True),
        ("Hello", "hello", True, False),
        ("hello", "Hello", False, True),
        ("STRASSE", "straße", False, True),  # full case folding
        ("Straße", "STRASSE", False, True),
        ("Привет всем", "привет", False, True),  # Cyrillic is spaced: whole words
        ("приветствие", "привет", False, False),
        ("ΓΕΙΑ σου", "γεια", False, True),
    ],
)
def test_case_folding_follows_the_flag(
    text: str, keyword: str, case_sensitive: bool, expected: bool
) -> None:
    assert says(text, (keyword,), case_sensitive=case_sensitive) is expected


@pytest.mark.parametrize(
    ("text", "phrase", "expected"),
    [
        ("Good morning!", "good morning", True),
        ("good   morning", "good morning", True),  # any run of whitespace
        ("good\nmorning", "good morning", True),
        ("goodmorning", "good morning", False),
        ("good mornings", "good morning", False),
        ("a good morning-ish", "good morning", True),
        ("皆さんこんにちは!", "こんにちは", True),  # Japanese: substrings
        ("สวัสดีครับ", "สวัสดี", True),  # Thai
        ("안녕하세요", "안녕", True),  # Korean: particles attach
        ("c++ rocks", "c++", True),  # a phrase is literal text, not a pattern
        ("cpp rocks", "c++", False),
        ("party 🎉🎉", "🎉", True),
        ("party time", "🎉", False),
        ("hi", "", False),  # an empty keyword never matches
        ("hi", "   ", False),
    ],
)
def test_phrases_and_scripts(text: str, phrase: str, expected: bool) -> None:
    assert says(text, (phrase,)) is expected


async def test_the_helper_reads_every_human_message_and_no_bot_message() -> None:
    class Probe(BaseAction):
        action_name = "probe"

    ctx = ActionContext(
        1,
        2,
        "neutral",
        messages=[
            ChatMessage("ana", "hello there"),
            ChatMessage("bo", "what's up"),
            ChatMessage("bot", "hi everyone", is_bot=True),
        ],
    )
    assert await Probe(ctx)._keyword_match(["hello"]) is True  # an earlier message
    assert await Probe(ctx)._keyword_match(["hi", "everyone"]) is False  # only the bot said it
    assert await Probe(ctx)._keyword_match("hello") is True  # one keyword as a string


async def test_one_messages_code_does_not_hide_the_next_messages_words() -> None:
    """An unclosed ``` block runs to the end of its own message only."""
    assert await greets("```py\nx = 1", "hi all")
    assert not await greets("```py\nhi = 1")


async def test_phrases_across_two_messages_are_not_one_phrase() -> None:
    class Morning(BaseAction):
        action_name = "morning"

    assert await Morning(make_ctx("good", "morning"))._keyword_match(["good morning"]) is False
    assert await Morning(make_ctx("good morning"))._keyword_match(["good morning"]) is True


async def test_the_shipped_plugin_through_the_registry_and_modifier() -> None:
    registry = ActionRegistry()
    registry.register(GreetingAction)
    modifier = ActionModifier(registry)
    assert (await modifier.activate(make_ctx("I think so"))).activated == []
    assert (await modifier.activate(make_ctx("oh hi there"))).activated == ["greeting"]


def test_names_use_the_same_matcher() -> None:
    """`says_name` is `says` with drawn-out names: one matcher, not two copies."""
    call = ("Miku", "ミク")
    assert names.name_pattern(call) is phrase_pattern(call, False, True)
    for text in ["Miku, hi", "mikuuu", "ミクさん", "Mikuru", "miku.png", "`miku`", "x"]:
        assert names.says_name(text, call) is says(text, call, drawn_out=True)
    # keywords are not drawn out: "too" is not "to", "hiii" is not "hi"
    assert not says("too late", ("to",)) and says("toooo", ("to",), drawn_out=True)
    assert not says("hiii", ("hi",))


def test_the_pattern_is_compiled_once() -> None:
    assert phrase_pattern(GREETINGS) is phrase_pattern(GREETINGS)
    assert phrase_pattern(("", " ")) is None
