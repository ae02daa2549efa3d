"""Every ```python block of docs/actions.md runs, in order, in one namespace."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "actions.md"


def blocks() -> list[str]:
    return re.findall(r"^```python\n(.*?)^```$", DOC.read_text(encoding="utf-8"), re.M | re.S)


def test_docs_have_python_blocks() -> None:
    assert len(blocks()) >= 6


def test_docs_blocks_run() -> None:
    namespace: dict[str, object] = {"__name__": "docs_actions"}
    for i, code in enumerate(blocks()):
        exec(compile(code, f"{DOC}:block{i}", "exec"), namespace)
    assert namespace["registry"].names == ["party"]  # type: ignore[attr-defined]
