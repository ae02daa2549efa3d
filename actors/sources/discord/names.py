"""Is the bot called by its name? ("Miku, what do you think?", "ミク、どう思う？")

`says_name(text, names)` is pure and runs on every message in the bot's channels, so the usual
case (the name is not there) is one search with a compiled, cached pattern. It is the action
system's one phrase matcher (`actions.words.says`, also used for activation keywords), with the
names' one extra rule: the last letter may be drawn out.

The rules (see `actions.words` for the details):
- case-insensitive (Unicode case folding: "MIKU", "мику" = "Мику");
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

import re

from actions.words import phrase_pattern, says

__all__ = ["name_pattern", "says_name"]


def name_pattern(names: tuple[str, ...]) -> re.Pattern[str] | None:
    """The compiled pattern for `names` (None when there is no usable name); cached."""
    return phrase_pattern(names, False, True)


def says_name(text: str, names: tuple[str, ...]) -> bool:
    """True when `text` calls the bot by one of `names` (see the module's rules)."""
    return says(text, names, drawn_out=True)
