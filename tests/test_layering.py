"""Who may import whom: the layering of DESIGN §2, checked on every import statement.

Read from the source with `ast` (nothing is imported), so an import inside a function, a
`TYPE_CHECKING` block or a relative import counts the same as one at the top. The rules:

- top-level packages import only the ones `MAY_IMPORT` lists, and the graph they form has no cycle;
- inside `actors/`, each role folder imports only the roles `ACTORS_MAY_IMPORT` lists;
- Ray only in `actors/remote`, discord.py only in `actors/sources/discord`, prometheus_client only
  in `metrics/`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

MAY_IMPORT: dict[str, set[str]] = {
    "engine": set(),  # pure: stdlib and msgspec only (tests/engine/test_purity.py)
    "config": {"engine"},  # the configuration types: a leaf every layer may import
    "metrics": set(),
    "actions": {"engine", "config"},
    "plugins": {"actions"},
    "actors": {"engine", "actions", "metrics", "config"},
    "guildmind": {"engine", "actions", "actors", "metrics", "config"},
}
"""Top-level package → the packages of ours it may import."""

ACTORS_MAY_IMPORT: dict[str, set[str]] = {
    "clock": set(),
    "stores": set(),
    "routing": set(),
    "sources": {"clock", "routing"},
    "loop": {"clock", "routing", "stores"},
    "remote": {"clock", "routing", "stores", "sources", "loop"},
}
"""Role folder of `actors/` → the other roles it may import."""

ONLY_IN = {
    "ray": "actors.remote",
    "discord": "actors.sources.discord",
    "prometheus_client": "metrics",
}
"""Third-party packages only one part of guildmind may import."""


def modules() -> Iterator[tuple[str, Path]]:
    for package in MAY_IMPORT:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            yield ".".join(parts), path


def imports(name: str, path: Path) -> Iterator[tuple[str, int]]:
    """Every module `path` imports, absolute, with its line number."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            yield target, node.lineno
            for alias in node.names:  # `from actors import loop` imports actors.loop
                yield f"{target}.{alias.name}", node.lineno


ALL = list(modules())


def test_the_scan_sees_the_code() -> None:
    names = {name for name, _ in ALL}
    assert {"engine.engine", "actors.loop.guild_loop", "actors.remote.host", "config"} <= names
    found = {
        t for name, path in ALL if name == "actors.remote.host" for t, _ in imports(name, path)
    }
    assert {"ray", "actors.loop.assembly", "config"} <= found


def test_top_level_packages_import_only_what_the_layering_allows() -> None:
    wrong = []
    for name, path in ALL:
        top = name.split(".")[0]
        for target, line in imports(name, path):
            other = target.split(".")[0]
            if other in MAY_IMPORT and other != top and other not in MAY_IMPORT[top]:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    assert wrong == [], "\n".join(wrong)


def test_no_cycle_between_top_level_packages() -> None:
    graph: dict[str, set[str]] = {p: set() for p in MAY_IMPORT}
    for name, path in ALL:
        top = name.split(".")[0]
        for target, _ in imports(name, path):
            other = target.split(".")[0]
            if other in graph and other != top:
                graph[top].add(other)

    def cycle_from(start: str, path: list[str]) -> list[str] | None:
        for nxt in sorted(graph[path[-1]]):
            if nxt == start:
                return [*path, start]
            if nxt not in path:
                found = cycle_from(start, [*path, nxt])
                if found:
                    return found
        return None

    cycles = [c for p in graph if (c := cycle_from(p, [p]))]
    assert cycles == [], " ; ".join(" → ".join(c) for c in cycles)


def test_the_roles_inside_actors_import_only_what_the_layering_allows() -> None:
    wrong = []
    for name, path in ALL:
        parts = name.split(".")
        if parts[0] != "actors" or len(parts) < 2:
            continue
        role = parts[1]
        for target, line in imports(name, path):
            tparts = target.split(".")
            if tparts[0] != "actors" or len(tparts) < 2 or tparts[1] == role:
                continue
            if tparts[1] in ACTORS_MAY_IMPORT and tparts[1] not in ACTORS_MAY_IMPORT[role]:
                wrong.append(f"{path.relative_to(ROOT)}:{line} ({role}) imports {target}")
    assert wrong == [], "\n".join(wrong)


@pytest.mark.parametrize("package", sorted(ONLY_IN))
def test_frameworks_stay_in_their_shells(package: str) -> None:
    home = ONLY_IN[package]
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {target}"
        for name, path in ALL
        for target, line in imports(name, path)
        if target.split(".")[0] == package and not (name == home or name.startswith(home + "."))
    ]
    assert wrong == [], "\n".join(wrong)


def test_the_layering_table_itself_has_no_cycle() -> None:
    order: list[str] = []
    pending = dict(MAY_IMPORT)
    while pending:
        ready = [p for p, deps in pending.items() if deps <= set(order)]
        assert ready, f"the allowed imports form a cycle among {sorted(pending)}"
        order += sorted(ready)
        for p in ready:
            del pending[p]
