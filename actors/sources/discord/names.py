"""Is the bot called by its name? ("Miku, what do you think?", "ミク、どう思う？")

`says_name(text, names)` is pure and runs on every message in the bot's channels, so the usual
case (the name is not there) is one search with a compiled, cached pattern.

The rules:
- case-insensitive (Unicode simple case folding: "MIKU", "мику" = "Мику");
- a whole word in scripts that separate words with spaces (Latin, Cyrillic, Greek, Arabic…):
  "Mikuru" and "Miku2" do not call "Miku"; "@Miku", "Miku-chan", "(Miku)" do;
- a plain substring for a name written in a script without word separators (Han, Hiragana,
  Katakana, Thai, Lao, Khmer, Myanmar, Tibetan) or in Korean, whose particles attach to the
  name ("미쿠야"): it is found anywhere ("ミクさん", "初音ミク"); the price is that "ミクル"
  calls "ミク" too. Letters of those scripts never end a word either: "Mikuさん" calls "Miku";
- the name's last letter may be drawn out ("mikuuu!", "Rinnn"), which is how people call someone
  in chat; any other letter after the name makes it a different word;
- spaces inside a configured name match any run of whitespace ("Hatsune  Miku");
- what is not words said to the bot does not count: code (`miku.sing()`, ``` blocks), links
  (https://…, www.…), e-mail addresses, Discord's <…> markup (emoji such as <:miku:123>,
  mentions, timestamps), and dotted names (miku.png, miku.example.com).
"""

from __future__ import annotations

import functools
import re

__all__ = ["name_pattern", "says_name"]

# Scripts written without spaces between words (and Hangul, whose particles attach to a name):
# a name in them is matched as a substring, so their letters never make a word boundary.
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
# A letter of a spaced script: next to the name, it makes the name part of another word.
_WORD = rf"[^\W{_UNSPACED}]"
_SPACED = re.compile(_WORD)

# What is not said to anyone: code, links, addresses, Discord markup. Only looked at when the
# name is there at all, so its cost is paid by few messages.
_NOT_SPEECH = re.compile(
    r"```.*?(?:```|\Z)"  # code blocks (an unclosed one runs to the end)
    r"|`[^`]*`"  # inline code
    r"|<[^<>\s]+>"  # <:emoji:id>, <@id>, <#id>, <t:…>, <https://…>
    r"|\b\w[\w+.-]*://\S*"  # links with a scheme
    r"|\bwww\.\S*"
    r"|\S+@\S+\.\w\S*",  # e-mail addresses
    re.DOTALL,
)


@functools.lru_cache(maxsize=64)
def name_pattern(names: tuple[str, ...]) -> re.Pattern[str] | None:
    """The compiled pattern for `names` (None when there is no usable name)."""
    parts = []
    for name in sorted({n.strip() for n in names if n.strip()}, key=len, reverse=True):
        body = r"\s+".join(re.escape(word) for word in name.split())
        if _SPACED.match(name[-1]):
            # may be drawn out ("mikuuu"); not before another letter, nor before ".x" (miku.png)
            body += rf"{re.escape(name[-1])}*(?!{_WORD}|\.\w)"
        if _SPACED.match(name[0]):
            body = rf"(?<!{_WORD}){body}"  # not after a letter
        parts.append(body)
    if not parts:
        return None
    return re.compile("|".join(parts), re.IGNORECASE)


def says_name(text: str, names: tuple[str, ...]) -> bool:
    """True when `text` calls the bot by one of `names` (see the module's rules)."""
    pattern = name_pattern(names)
    if pattern is None or pattern.search(text) is None:
        return False
    return pattern.search(_NOT_SPEECH.sub(" ", text)) is not None
