"""`says_name`: is the bot called by its name? (pure: no discord.py, no emulator)."""

from __future__ import annotations

import pytest

from actors.sources.discord.names import name_pattern, says_name

MIKU = ("Miku",)
NAMES = ("Miku", "ミク", "Мику", "初音", "미쿠", "มิกุ", "Hatsune Miku")


@pytest.mark.parametrize(
    "text",
    [
        "Miku, what do you think?",
        "what do you think, miku?",
        "MIKU!!!",
        "hey @Miku",  # typed, not a Discord mention
        "(Miku) agrees",
        "Miku-chan, sing!",
        "Miku's song",
        "miku",
        "mikuuu come here",  # a drawn-out call
        "Miku…",
        "Miku.",  # the end of a sentence
        "«Miku» said it",
        "ok\nMiku\nhelp",
        "is `x` bigger, Miku?",  # code elsewhere in the message
        "see https://example.com/x Miku",
        "<:wave:123> Miku",
    ],
)
def test_the_name_as_a_word_calls_the_bot(text: str) -> None:
    assert says_name(text, MIKU)


@pytest.mark.parametrize(
    "text",
    [
        "Mikuru is here",  # another name
        "Mikumiku dance",
        "kamiku",
        "Miku2 is a server",  # a digit makes another word
        "miku_fan said",
        "https://miku.example.com/song",
        "www.miku.example",
        "look at miku.png",  # a file, a domain, an attribute
        "`miku.sing()` fails",
        "```py\nmiku = Bot()\n```",
        "```\nunclosed miku",
        "<:miku:123456> lol",  # a custom emoji
        "<a:miku:123456>",
        "mail miku@example.com",
        "",
        "no one here",
    ],
)
def test_the_name_inside_other_words_code_links_or_markup_does_not(text: str) -> None:
    assert not says_name(text, MIKU)


@pytest.mark.parametrize(
    ("text", "calls"),
    [
        ("ミク、どう思う？", True),  # Japanese: no spaces, so a substring
        ("ミクさん、おはよう", True),
        ("初音ミクの歌", True),
        ("ミクル", True),  # the price of substring matching (documented)
        ("どう思う？", False),
        ("Мику, что думаешь?", True),  # Cyrillic: whole words, any case
        ("мику!", True),
        ("МИКУ", True),
        ("Микурин пришёл", False),
        ("初音さんはどう？", True),  # Chinese/Japanese Han
        ("我觉得初音很好", True),
        ("미쿠야 뭐해?", True),  # Korean: particles attach to the name
        ("มิกุคิดว่ายังไง", True),  # Thai: no spaces
        ("hatsune   MIKU, hi", True),  # any run of spaces inside a configured name
        ("Hatsune Mikuru", False),
        ("Mikuさん", True),  # a Latin name followed by Japanese
        ("xミクx", True),
    ],
)
def test_names_in_any_script(text: str, calls: bool) -> None:
    assert says_name(text, NAMES) is calls


def test_no_names_never_match_and_the_pattern_is_built_once() -> None:
    assert not says_name("Miku", ())
    assert not says_name("Miku", ("  ",))
    assert name_pattern(("  ",)) is None
    assert name_pattern(MIKU) is name_pattern(("Miku",))  # cached: compiled once


def test_the_longest_name_wins_and_names_are_literal() -> None:
    assert says_name("Hatsune Miku!", ("Miku", "Hatsune Miku"))
    assert says_name("hi c++", ("C++",))  # regex characters in a name are plain text
    assert not says_name("hi cpp", ("C++",))
    assert says_name("a.b", ("a.b",)) and not says_name("axb", ("a.b",))
