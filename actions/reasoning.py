"""Reasoning models think out loud: keep only the final answer.

Models such as DeepSeek-R1 or QwQ (and servers that pass their output through) answer
``<think>…</think>`` followed by the reply. The reasoning must never reach Discord or a judge's
verdict: `final_answer()` removes it, and `actions.observer.ask_llm` applies it to every answer
(content, judge, planner) before anything reads it. The OpenAI-compatible ``reasoning_content``
field of a message is never read at all (`actions.llm`).

The rules:
- ``<think>``, ``<thinking>`` and ``<reasoning>`` blocks (any case, attributes allowed) are
  removed, however many there are;
- an unclosed block runs to the end: the answer was cut while thinking, so there is no final
  answer after it (what remains may be empty, and then a template speaks);
- a closing tag with no opening one (some servers strip the opening tag) ends reasoning that
  began at the start of the answer: everything before it goes.
"""

from __future__ import annotations

import re

__all__ = ["final_answer"]

_TAG = re.compile(r"<(/?)\s*(?:think|thinking|reasoning)\b[^<>]*>", re.IGNORECASE)


def final_answer(text: str) -> str:
    """`text` without its reasoning blocks, stripped of surrounding whitespace."""
    if "<" not in text:  # the usual answer: nothing to look for
        return text.strip()
    kept: list[str] = []
    start = 0  # where the text after the last tag begins
    depth = 0  # open reasoning blocks
    for tag in _TAG.finditer(text):
        closing = tag.group(1) == "/"
        if depth == 0:
            if closing:
                kept.clear()  # a lone closing tag: everything so far was reasoning
            else:
                kept.append(text[start : tag.start()])
                depth = 1
        elif closing:
            depth -= 1
        else:
            depth += 1  # a block inside a block
        start = tag.end()
    if depth == 0:
        kept.append(text[start:])
    return "".join(kept).strip()
