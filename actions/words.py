"""Does a text say a word or a phrase? The one matcher of keywords and of the bot's names.

`says(text, phrases)` is pure and cheap in the usual case (nothing matches): one search with a
compiled, cached pattern. `BaseAction._keyword_match` uses it for activation keywords, and the
Discord source (`actors.sources.discord.names.says_name`) for the bot's names.

The rules:
- a whole word in scripts that separate words with spaces (Latin, Cyrillic, Greek, Arabic…):
  "hi" is not in "this", "which", "shipping", "chill" or "Archive"; "Hi!", "(hi)", "@hi",
  "hi-ya" say it. A digit or an underscore next to it makes another word ("hi2", "hi_there");
- a plain substring for a phrase written in a script without word separators (Han, Hiragana,
  Katakana, Thai, Lao, Khmer, Myanmar, Tibetan) or in Korean, whose particles attach to a word:
  "你好" is in "你好啊", "嗨" in "大家嗨". Letters of those scripts never end a word either, so
  "hiさん" says "hi";
- a phrase of several words matches them with any run of whitespace between ("good  morning");
- case: with ``case_sensitive=False`` both sides are case-folded (`str.casefold`: "HELLO" says
  "hello", "STRASSE" says "straße"); with True the text must have the phrase's exact letters;
- ``drawn_out=True`` lets the phrase's last letter repeat ("mikuuu", "Rinnn"), which is how people
  call someone in chat; it is for names, not keywords ("to" is not "too");
- what is not words people say does not count: code (`x = 1`, ``` blocks), links (https://…,
  www.…), e-mail addresses, Discord's <…> markup (custom emoji such as <:hi:123>, mentions,
  timestamps), and dotted names (hello.png, hi.example.com).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

__all__ = ["phrase_pattern", "says"]

# Scripts written without spaces between words (and Hangul, whose particles attach to a word):
# a phrase in them is matched as a substring, so their letters never make a word boundary.
_UNSPACED = (
    "\u0e00-\u0eff"  # Thai, Lao
    "\u0f00-\u0fff"  # Tibetan
    "\u1000-\u109f"  # Myanmar
    "\u1100-\u11ff"  # Hangul Jamo
    "\u1780-\u17ff"  # Khmer
    "\u2e80-\u2fdf"  # CJK radicals
    "\u3005-\u3007\u3021-\u3029\u3038-\u303b"  # 々〆〇, Suzhou numerals
    "\u3040-\u30ff"  # Hiragana, Katakana
    "\u3130-\u318f"  # Hangul compatibility Jamo
    "\u31f0-\u31ff"  # Katakana phonetic extensions
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # CJK ideographs
    "\uac00-\ud7af"  # Hangul syllables
    "\uff66-\uff9f"  # halfwidth Katakana
    "\U00020000-\U0003134f"  # CJK ideographs, extensions B-G
)
# A letter (or digit, or "_") of a spaced script: next to a phrase, it makes it part of another
# word.
_WORD = rf"[^\W{_UNSPACED}]"
_SPACED = re.compile(_WORD)

# What is not said by anyone: code, links, addresses, Discord markup. Only looked at when the
# phrase is there at all, so its cost is paid by few messages.
_NOT_SPEECH = re.compile(
    r"```.*?(?:```|\Z)"  # code blocks (an unclosed one runs to the end)
    r"|`[^`]*`"  # inline code
    r"|<[^<>\s]+>"  # <:emoji:id>, <@id>, <#id>, <t:…>, <https://…>
    r"|\b\w[\w+.-]*://\S*"  # links with a scheme
    r"|\bwww\.\S*"
    r"|\S+@\S+\.\w\S*",  # e-mail addresses
    re.DOTALL,
)


@functools.lru_cache(maxsize=256)
def phrase_pattern(
    phrases: tuple[str, ...], case_sensitive: bool = False, drawn_out: bool = False
) -> re.Pattern[str] | None:
    """The compiled pattern for `phrases` (None when none is usable: empty or blank ones only).

    Without `case_sensitive` the phrases are case-folded and the pattern ignores case, so it
    matches case-folded text (what `says` searches) and, by simple case folding, the raw text.
    """
    parts = []
    cleaned = {p.strip() if case_sensitive else p.strip().casefold() for p in phrases}
    for phrase in sorted(cleaned - {""}, key=lambda p: (-len(p), p)):
        body = r"\s+".join(re.escape(word) for word in phrase.split())
        if _SPACED.match(phrase[-1]):
            last = re.escape(phrase[-1]) + "*" if drawn_out else ""
            # not before another letter, nor before ".x" (hello.png, hi.example.com)
            body += rf"{last}(?!{_WORD}|\.\w)"
        if _SPACED.match(phrase[0]):
            body = rf"(?<!{_WORD}){body}"  # not after a letter
        parts.append(body)
    if not parts:
        return None
    return re.compile("|".join(parts), 0 if case_sensitive else re.IGNORECASE)


def says(
    text: str, phrases: Iterable[str], *, case_sensitive: bool = False, drawn_out: bool = False
) -> bool:
    """True when `text` says one of `phrases` (see the module's rules)."""
    pattern = phrase_pattern(_key(phrases), case_sensitive, drawn_out)
    if pattern is None:
        return False
    if not case_sensitive:
        text = text.casefold()
    if pattern.search(text) is None:
        return False
    return pattern.search(_NOT_SPEECH.sub(" ", text)) is not None


def _key(phrases: Iterable[str]) -> tuple[str, ...]:
    # a tuple is the cache's key as it is; a lone string is one phrase, not its letters
    if isinstance(phrases, str):
        return (phrases,)
    return phrases if isinstance(phrases, tuple) else tuple(phrases)
