"""The engine stays pure: no I/O frameworks loaded, public names exported on purpose."""

from __future__ import annotations

import inspect
import subprocess
import sys

import engine


def test_importing_the_engine_loads_no_io_framework() -> None:
    code = (
        "import sys, engine; "
        "bad = [m for m in ('ray', 'discord', 'prometheus_client', 'asyncio', 'aiohttp', "
        "'socket', 'sqlite3', 'redis', 'actions', 'actors', 'metrics', 'guildmind') "
        "if m in sys.modules]; print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_all_lists_exactly_the_public_names() -> None:
    public = {
        name
        for name, value in vars(engine).items()
        if not name.startswith("_") and not inspect.ismodule(value)
    }
    assert set(engine.__all__) == public


def test_engine_source_never_touches_the_clock_or_global_random() -> None:
    from pathlib import Path

    for path in Path(engine.__file__).parent.glob("*.py"):
        text = path.read_text()
        assert "import time" not in text and "time.time(" not in text, path
        assert "random.random(" not in text and "random.choice(" not in text, path
        assert "open(" not in text and "print(" not in text, path
