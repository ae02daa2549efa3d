"""The SQLite state store: one WAL-mode file, one table, upserts in one transaction per call.

Several processes on one machine (several guild hosts) may open the same file: WAL lets readers
go on while one writer commits, and a busy timeout makes a writer wait for another's commit
instead of failing at once.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path

from actors.stores.base import StoreError, check_ids, check_items, check_sessions, check_shards

_CHUNK = 500  # ids per IN (...) query, well below SQLite's bound-variable limit

_SCHEMA = """
CREATE TABLE IF NOT EXISTS guild_snapshots (
    guild_id INTEGER PRIMARY KEY,
    data     BLOB NOT NULL,
    saved_at REAL NOT NULL
)
"""
_SESSIONS_SCHEMA = """
CREATE TABLE IF NOT EXISTS gateway_sessions (
    shard_id INTEGER PRIMARY KEY,
    data     BLOB NOT NULL,
    saved_at REAL NOT NULL
)
"""
_TOKENS_SCHEMA = """
CREATE TABLE IF NOT EXISTS llm_tokens (
    day    INTEGER PRIMARY KEY,
    tokens INTEGER NOT NULL
)
"""
_TOKENS_KEPT_DAYS = 7  # older days' counts are deleted (nothing reads them)
_UPSERT = """
INSERT INTO guild_snapshots (guild_id, data, saved_at) VALUES (?, ?, ?)
ON CONFLICT (guild_id) DO UPDATE SET data = excluded.data, saved_at = excluded.saved_at
"""
_UPSERT_SESSION = """
INSERT INTO gateway_sessions (shard_id, data, saved_at) VALUES (?, ?, ?)
ON CONFLICT (shard_id) DO UPDATE SET data = excluded.data, saved_at = excluded.saved_at
"""


class SqliteStore:
    """Guild snapshots in a SQLite file (WAL mode), safe to share between processes.

    Parameters
    ----------
    path:
        The database file; its folder is created if missing.
    busy_timeout_s:
        How long a write waits for another process's transaction before failing.
    """

    def __init__(self, path: Path | str, *, busy_timeout_s: float = 10.0) -> None:
        self.path = Path(path)
        self.url = f"sqlite:{self.path}"
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # autocommit mode (isolation_level=None): transactions are explicit below.
            # check_same_thread=False: the host calls us from asyncio.to_thread's pool; the lock
            # serialises use of the one connection.
            self._db: sqlite3.Connection | None = sqlite3.connect(
                self.path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as e:
            raise StoreError(f"cannot open the SQLite store {str(self.path)!r}: {e}") from e
        deadline = time.monotonic() + busy_timeout_s
        while True:
            try:
                self._set_up(busy_timeout_s)
                break
            except sqlite3.OperationalError as e:
                # Two processes setting up a new file at once: switching it to WAL takes a lock
                # that SQLite's busy timeout does not wait for. Try again for a while.
                if "locked" in str(e) and time.monotonic() < deadline:
                    time.sleep(0.05)
                    continue
                self._fail_setup(e)
            except sqlite3.Error as e:
                self._fail_setup(e)

    def _set_up(self, busy_timeout_s: float) -> None:
        db = self._conn()
        db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        db.execute("PRAGMA journal_mode = WAL")
        # NORMAL in WAL mode: a commit survives a process crash; only power loss may drop the
        # newest commits. The bot-spoke record must survive a crashed host, which this gives.
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute(_SCHEMA)
        db.execute(_TOKENS_SCHEMA)
        db.execute(_SESSIONS_SCHEMA)

    def _fail_setup(self, e: sqlite3.Error) -> None:
        self._conn().close()
        self._db = None
        raise StoreError(f"cannot set up the SQLite store {str(self.path)!r}: {e}") from e

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise StoreError(f"the SQLite store {str(self.path)!r} is closed")
        return self._db

    def load(self, guild_ids: Iterable[int]) -> dict[int, bytes]:
        ids = check_ids(guild_ids)
        found: dict[int, bytes] = {}
        with self._lock:
            db = self._conn()
            try:
                for i in range(0, len(ids), _CHUNK):
                    chunk = ids[i : i + _CHUNK]
                    marks = ",".join("?" * len(chunk))
                    rows = db.execute(
                        f"SELECT guild_id, data FROM guild_snapshots WHERE guild_id IN ({marks})",
                        chunk,
                    )
                    found.update(rows)
            except sqlite3.Error as e:
                raise StoreError(f"reading {len(ids)} guilds from {self.url!r} failed: {e}") from e
        return found

    def save(self, items: Mapping[int, bytes]) -> None:
        items = check_items(items)
        if not items:
            return
        now = time.time()
        rows = [(gid, data, now) for gid, data in items.items()]
        with self._lock:
            try:
                self._transaction(lambda db: db.executemany(_UPSERT, rows))
            except sqlite3.Error as e:
                raise StoreError(f"saving {len(rows)} guilds to {self.url!r} failed: {e}") from e

    def delete(self, guild_ids: Iterable[int]) -> None:
        ids = check_ids(guild_ids)

        def run(db: sqlite3.Connection) -> None:
            for i in range(0, len(ids), _CHUNK):
                chunk = ids[i : i + _CHUNK]
                marks = ",".join("?" * len(chunk))
                db.execute(f"DELETE FROM guild_snapshots WHERE guild_id IN ({marks})", chunk)

        with self._lock:
            try:
                self._transaction(run)
            except sqlite3.Error as e:
                raise StoreError(f"deleting {len(ids)} guilds from {self.url!r} failed: {e}") from e

    def _transaction(self, body: Callable[[sqlite3.Connection], object]) -> None:
        db = self._conn()
        db.execute("BEGIN IMMEDIATE")  # take the write lock now, not halfway through
        try:
            body(db)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
            raise

    def add_tokens(self, day: int, tokens: int, limit: int | None = None) -> bool:
        """Add `tokens` (negative: give back; the count stays ≥ 0) to UTC `day`'s LLM token
        count if it stays ≤ `limit` (None: always); whether it did. One write transaction, so
        every process sharing the file sees one count (`actions.GlobalLedger`)."""
        added = False

        def run(db: sqlite3.Connection) -> None:
            nonlocal added
            row = db.execute("SELECT tokens FROM llm_tokens WHERE day = ?", (day,)).fetchone()
            now = row[0] if row else 0
            if limit is not None and now + tokens > limit:
                return
            if row is None:
                db.execute("DELETE FROM llm_tokens WHERE day < ?", (day - _TOKENS_KEPT_DAYS,))
            db.execute(
                "INSERT INTO llm_tokens (day, tokens) VALUES (?, ?) "
                "ON CONFLICT (day) DO UPDATE SET tokens = excluded.tokens",
                (day, max(0, now + tokens)),
            )
            added = True

        with self._lock:
            try:
                self._transaction(run)
            except sqlite3.Error as e:
                raise StoreError(f"counting LLM tokens in {self.url!r} failed: {e}") from e
        return added

    def tokens(self, day: int) -> int:
        """UTC `day`'s LLM token count (0: none yet)."""
        with self._lock:
            try:
                row = (
                    self._conn()
                    .execute("SELECT tokens FROM llm_tokens WHERE day = ?", (day,))
                    .fetchone()
                )
            except sqlite3.Error as e:
                raise StoreError(f"reading LLM tokens from {self.url!r} failed: {e}") from e
        return row[0] if row else 0

    def guild_ids(self) -> Iterator[int]:
        with self._lock:
            try:
                rows = self._conn().execute("SELECT guild_id FROM guild_snapshots").fetchall()
            except sqlite3.Error as e:
                raise StoreError(f"listing the guilds in {self.url!r} failed: {e}") from e
        return (gid for (gid,) in rows)

    def load_sessions(self, shard_ids: Iterable[int]) -> dict[int, bytes]:
        ids = check_shards(shard_ids)
        found: dict[int, bytes] = {}
        with self._lock:
            db = self._conn()
            try:
                for i in range(0, len(ids), _CHUNK):
                    chunk = ids[i : i + _CHUNK]
                    marks = ",".join("?" * len(chunk))
                    rows = db.execute(
                        f"SELECT shard_id, data FROM gateway_sessions WHERE shard_id IN ({marks})",
                        chunk,
                    )
                    found.update(rows)
            except sqlite3.Error as e:
                what = f"reading {len(ids)} sessions from {self.url!r}"
                raise StoreError(f"{what} failed: {e}") from e
        return found

    def save_sessions(self, items: Mapping[int, bytes]) -> None:
        items = check_sessions(items)
        if not items:
            return
        now = time.time()
        rows = [(sid, data, now) for sid, data in items.items()]
        with self._lock:
            try:
                self._transaction(lambda db: db.executemany(_UPSERT_SESSION, rows))
            except sqlite3.Error as e:
                raise StoreError(f"saving {len(rows)} sessions to {self.url!r} failed: {e}") from e

    def delete_sessions(self, shard_ids: Iterable[int]) -> None:
        ids = check_shards(shard_ids)

        def run(db: sqlite3.Connection) -> None:
            for i in range(0, len(ids), _CHUNK):
                chunk = ids[i : i + _CHUNK]
                marks = ",".join("?" * len(chunk))
                db.execute(f"DELETE FROM gateway_sessions WHERE shard_id IN ({marks})", chunk)

        with self._lock:
            try:
                self._transaction(run)
            except sqlite3.Error as e:
                what = f"deleting {len(ids)} sessions from {self.url!r}"
                raise StoreError(f"{what} failed: {e}") from e

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SqliteStore({str(self.path)!r})"
