"""State stores: where each guild's engine snapshot lives between restarts.

A store maps an int guild id to the bytes of `AutonomousEngine.snapshot(guild_id)`: counters, times,
mood and settings, never message content. Beside them it keeps each gateway shard's session (an
int shard id → the bytes of the discord source's session record: session id, sequence number,
resume URL; nothing personal), so a restarted gateway resumes instead of identifying ("cold
resume", see `actors.sources.discord.resume`). Three kinds, chosen by URL with `open_store()`:

====================================  =========================================================
``memory:``                           a dict in this process (tests)
``sqlite:`` / ``sqlite:PATH``         a WAL-mode SQLite file (``DATA_DIR/guildmind.sqlite3``)
``redis://[:PASSWORD@]HOST:PORT/DB``  one key per guild, ``PREFIX + "guild:" + id`` (a shard's
                                      session: ``PREFIX + "session:" + shard id``)
``rediss://…`` (TLS), ``?prefix=…``   (the prefix defaults to ``guildmind:``)
====================================  =========================================================

The API is synchronous on purpose: every call is one short round trip, and the guild host calls it
from a worker thread (`asyncio.to_thread`), which keeps sqlite3 and redis-py (both blocking) simple
and lets the host's event loop go on applying events meanwhile. Stores are thread-safe.

Exceptions::

    StoreError      the store cannot be reached or refused a read or write; names the store's
                    URL with any password masked

`mask_url()` hides passwords; every message and repr of this package uses it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from config import mask_url
from engine import valid_id

if TYPE_CHECKING:
    from config import Config

__all__ = [
    "FlushResult",
    "MemoryStore",
    "StateStore",
    "StoreError",
    "TokenCounter",
    "WriteBehind",
    "check_ids",
    "mask_url",
    "open_configured",
    "open_store",
]

SQLITE_FILE = "guildmind.sqlite3"


class StoreError(Exception):
    """A state store could not be reached, or refused a read or write."""


def check_ids(guild_ids: Iterable[int]) -> list[int]:
    """The ids as a list; ValueError naming the first one that is not a snowflake (an int with
    0 < id < 2**63: `engine.valid_id`, the rule the engine and the wire use too)."""
    ids = list(guild_ids)
    for gid in ids:
        if not valid_id(gid):
            raise ValueError(f"guild ids must be snowflakes, ints with 0 < id < 2**63, got {gid!r}")
    return ids


MAX_SHARD = 2**31
"""Shard ids are 0 <= id < 2**31 (Discord's shard count is an int; ours is at most 100,000)."""


def check_shards(shard_ids: Iterable[int]) -> list[int]:
    """The shard ids as a list; ValueError naming the first that is not 0 <= id < 2**31."""
    ids = list(shard_ids)
    for sid in ids:
        if type(sid) is not int or not 0 <= sid < MAX_SHARD:
            raise ValueError(f"shard ids must be ints with 0 <= id < 2**31, got {sid!r}")
    return ids


def check_sessions(items: Mapping[int, bytes]) -> dict[int, bytes]:
    """The session records as a dict; ValueError naming a bad shard id or a value not bytes."""
    check_shards(items)
    for sid, data in items.items():
        if not isinstance(data, bytes | bytearray | memoryview):
            raise ValueError(f"shard {sid}: a session must be bytes, got {type(data).__name__}")
    return {sid: bytes(data) for sid, data in items.items()}


def check_items(items: Mapping[int, bytes]) -> dict[int, bytes]:
    """The items as a dict; ValueError naming a bad id or a value that is not bytes."""
    check_ids(items)
    for gid, data in items.items():
        if not isinstance(data, bytes | bytearray | memoryview):
            raise ValueError(f"guild {gid}: a snapshot must be bytes, got {type(data).__name__}")
    return {gid: bytes(data) for gid, data in items.items()}


@runtime_checkable
class StateStore(Protocol):
    """Per-guild snapshot bytes keyed by guild id. Every method may raise `StoreError`."""

    url: str  # masked: safe to print

    def load(self, guild_ids: Iterable[int]) -> dict[int, bytes]:
        """The stored snapshots of these guilds; guilds with none are absent."""
        ...

    def save(self, items: Mapping[int, bytes]) -> None:
        """Store these snapshots, all or none (one transaction), replacing older ones."""
        ...

    def delete(self, guild_ids: Iterable[int]) -> None:
        """Forget these guilds' snapshots; unknown ids are fine."""
        ...

    def guild_ids(self) -> Iterator[int]:
        """Every stored guild id, in no particular order (a restarted host picks its own)."""
        ...

    def load_sessions(self, shard_ids: Iterable[int]) -> dict[int, bytes]:
        """The stored gateway sessions of these shards; shards with none are absent."""
        ...

    def save_sessions(self, items: Mapping[int, bytes]) -> None:
        """Store these shards' sessions (all or none), replacing older ones."""
        ...

    def delete_sessions(self, shard_ids: Iterable[int]) -> None:
        """Forget these shards' sessions; unknown ids are fine."""
        ...

    def close(self) -> None:
        """Release connections; closing twice is fine."""
        ...


@runtime_checkable
class TokenCounter(Protocol):
    """A store that also keeps the day's LLM token count for every host sharing it (all three
    kinds do): the global token budget's ledger (`actors.stores.ledger.StoreLedger`)."""

    def add_tokens(self, day: int, tokens: int, limit: int | None = None) -> bool:
        """Add `tokens` (negative: give back; the count stays ≥ 0) to UTC `day`'s count if it
        stays ≤ `limit` (None: always); whether it did. Atomic. May raise `StoreError`."""
        ...

    def tokens(self, day: int) -> int:
        """UTC `day`'s count (0: none yet). May raise `StoreError`."""
        ...


class MemoryStore:
    """A process-local dict; for tests. Its contents die with the process."""

    url = "memory:"

    def __init__(self) -> None:
        self._tokens: dict[int, int] = {}
        self._data: dict[int, bytes] = {}
        self._sessions: dict[int, bytes] = {}
        self._lock = threading.Lock()
        self.closed = False

    def _open(self) -> None:
        if self.closed:
            raise StoreError("memory: store is closed")

    def load(self, guild_ids: Iterable[int]) -> dict[int, bytes]:
        ids = check_ids(guild_ids)
        with self._lock:
            self._open()
            return {gid: self._data[gid] for gid in ids if gid in self._data}

    def save(self, items: Mapping[int, bytes]) -> None:
        items = check_items(items)
        with self._lock:
            self._open()
            self._data.update(items)

    def delete(self, guild_ids: Iterable[int]) -> None:
        ids = check_ids(guild_ids)
        with self._lock:
            self._open()
            for gid in ids:
                self._data.pop(gid, None)

    def guild_ids(self) -> Iterator[int]:
        with self._lock:
            self._open()
            return iter(list(self._data))

    def add_tokens(self, day: int, tokens: int, limit: int | None = None) -> bool:
        with self._lock:
            self._open()
            now = self._tokens.get(day, 0)
            if limit is not None and now + tokens > limit:
                return False
            self._tokens[day] = max(0, now + tokens)
            return True

    def tokens(self, day: int) -> int:
        with self._lock:
            self._open()
            return self._tokens.get(day, 0)

    def load_sessions(self, shard_ids: Iterable[int]) -> dict[int, bytes]:
        ids = check_shards(shard_ids)
        with self._lock:
            self._open()
            return {sid: self._sessions[sid] for sid in ids if sid in self._sessions}

    def save_sessions(self, items: Mapping[int, bytes]) -> None:
        items = check_sessions(items)
        with self._lock:
            self._open()
            self._sessions.update(items)

    def delete_sessions(self, shard_ids: Iterable[int]) -> None:
        ids = check_shards(shard_ids)
        with self._lock:
            self._open()
            for sid in ids:
                self._sessions.pop(sid, None)

    def close(self) -> None:
        self.closed = True

    def __repr__(self) -> str:
        return f"MemoryStore({len(self._data)} guilds)"


def open_configured(config: Config, env: Mapping[str, str] | None = None) -> StateStore:
    """The store `config.state` names (`runtime.data_dir` anchoring SQLite), with the Redis
    password from the environment variable `state.password_env` names: `env`, by default this
    process's own, so the secret is read where it is used and never travels as an argument."""
    env = os.environ if env is None else env
    name = config.state.password_env
    return open_store(
        config.state.url,
        data_dir=config.runtime.data_dir,
        password=env.get(name) if name else None,
    )


def open_store(
    url: str, *, data_dir: Path | str = "data", password: str | None = None
) -> StateStore:
    """Open the store that `url` names (see the module docstring for the forms).

    `data_dir` holds the default SQLite file and anchors a relative ``sqlite:PATH``; it is created
    if missing. `password` (from the environment, never the config file) is used by Redis when the
    URL has none. Raises `ValueError` naming the (masked) URL for an unknown form, and `StoreError`
    when the store cannot be opened or reached.
    """
    if not isinstance(url, str):
        raise ValueError(f"a store URL must be a string, got {type(url).__name__}")
    scheme, colon, rest = url.partition(":")
    if not colon:
        scheme = ""
    if scheme == "memory" and rest == "":
        return MemoryStore()
    if scheme == "sqlite":
        from actors.stores.sqlite_store import SqliteStore

        if rest.startswith("//"):
            raise ValueError(
                f"store URL {mask_url(url)!r}: write sqlite:/absolute/path.db or "
                "sqlite:relative.db, without '//'"
            )
        path = Path(rest) if rest else Path(SQLITE_FILE)
        if not path.is_absolute():
            path = Path(data_dir) / path
        return SqliteStore(path)
    if scheme in ("redis", "rediss"):
        from actors.stores.redis_store import RedisStore

        return RedisStore(url, password=password)
    raise ValueError(
        f"store URL {mask_url(url)!r} is not one this runtime knows; use 'sqlite:' (default), "
        "'sqlite:PATH', 'memory:' or 'redis://HOST:PORT/DB'"
    )


from actors.stores.writebehind import FlushResult, WriteBehind  # noqa: E402  (it needs StoreError)
