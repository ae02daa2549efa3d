"""State stores: URLs, round trips of real engine snapshots, restarts, concurrency, errors."""

from __future__ import annotations

import random
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from actors.stores.base import MemoryStore, StateStore, StoreError, mask_url, open_store
from actors.stores.sqlite_store import SqliteStore
from engine import AutonomousEngine

T0 = 1_700_000_000.0
GUILDS = [1_000 + i for i in range(12)]


def busy_engine(seed: int = 1) -> AutonomousEngine:
    """An engine whose guilds have seen two hours of mixed traffic, moods and one bot action."""
    engine = AutonomousEngine(rng=random.Random(0), started_at=T0)
    feed = random.Random(seed)
    moods = ["bubbly", "shy", "silly", "serious", "curious", "neutral"]
    for gid in GUILDS:
        engine.update_mood(gid, moods[gid % len(moods)], at=T0)
    t = T0
    while t < T0 + 7200:
        t += feed.expovariate(1 / 4)
        gid = feed.choice(GUILDS)
        kind = feed.random()
        if kind < 0.8:
            engine.track_message(gid, at=t, channel_id=7, author_id=feed.randrange(1, 30))
        elif kind < 0.97:
            engine.track_presence(gid, feed.randrange(1, 30), at=t, activity="Tetris")
        else:
            engine.track_member_join(gid, feed.randrange(100, 200), at=t)
    engine.record_action(GUILDS[0], "join_conversation", at=T0 + 7000)
    return engine


def decisions(engine: AutonomousEngine, seed: int) -> list[tuple[str | None, str]]:
    engine.rng = random.Random(seed)
    out = []
    for at in (T0 + 7300, T0 + 9000, T0 + 14000):
        for gid in GUILDS:
            for by_message in (False, True):
                d = engine.decide(gid, at=at, triggered_by_message=by_message)
                out.append((d.action, d.reason))
    return out


@pytest.fixture(params=["sqlite", "redis"])
def reopen(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], StateStore]]:
    """Opens the same durable store again each call (a new object: a restarted process)."""
    url = "sqlite:" if request.param == "sqlite" else request.getfixturevalue("redis_url")
    opened: list[StateStore] = []

    def make() -> StateStore:
        store = open_store(url, data_dir=tmp_path)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


def test_engine_snapshots_survive_a_restart(reopen: Callable[[], StateStore]) -> None:
    engine = busy_engine()
    store = reopen()
    store.save({gid: engine.snapshot(gid) for gid in GUILDS})
    store.close()

    again = reopen()  # "the host was restarted"
    loaded = again.load([*GUILDS, 999])
    assert sorted(loaded) == GUILDS  # 999 was never saved: absent, not an error
    fresh = AutonomousEngine(rng=random.Random(0), started_at=T0)
    for gid, data in loaded.items():
        fresh.restore(gid, data)
    for gid in GUILDS:
        assert fresh.snapshot(gid) == engine.snapshot(gid)
        assert fresh.state(gid) == engine.state(gid)
    assert decisions(fresh, seed=5) == decisions(engine, seed=5)
    assert any(action for action, _ in decisions(engine, seed=5))  # the check is not vacuous


def test_store_basics(reopen: Callable[[], StateStore]) -> None:
    store = reopen()
    assert isinstance(store, StateStore)
    assert store.load([]) == {} and store.load([1, 2]) == {}
    store.save({})  # nothing to do
    store.save({1: b"one", 2: b"two", 2**63 - 1: b"max"})
    store.save({2: b"TWO", 3: bytearray(b"three")})
    assert store.load([1, 2, 3, 4, 2**63 - 1]) == {
        1: b"one", 2: b"TWO", 3: b"three", 2**63 - 1: b"max",
    }  # fmt: skip
    assert sorted(store.guild_ids()) == [1, 2, 3, 2**63 - 1]
    store.delete([2, 42])
    store.delete([])
    assert store.load([1, 2, 3]) == {1: b"one", 3: b"three"}
    store.close()
    store.close()  # twice is fine
    with pytest.raises(StoreError, match="closed"):
        store.load([1])


def test_big_batches(reopen: Callable[[], StateStore]) -> None:
    store = reopen()
    items = {gid: gid.to_bytes(8, "big") * 20 for gid in range(1, 2_501)}
    store.save(items)
    assert store.load(range(1, 2_501)) == items
    assert len(set(store.guild_ids())) == 2_500
    store.delete(range(2, 2_501, 2))
    assert sorted(store.load(range(1, 2_501))) == list(range(1, 2_501, 2))


@pytest.mark.parametrize("bad", ["1", 1.5, True, -1, 0, 2**63, 2**64 + 1])
def test_bad_guild_ids_are_rejected(bad: object, tmp_path: Path) -> None:
    for store in (MemoryStore(), open_store("sqlite:", data_dir=tmp_path)):
        with pytest.raises(ValueError, match=r"guild ids must be snowflakes, ints with 0 < id"):
            store.save({bad: b"x"})  # type: ignore[dict-item]
        with pytest.raises(ValueError, match="guild ids must be snowflakes"):
            store.load([bad])  # type: ignore[list-item]
        with pytest.raises(ValueError, match="snapshot must be bytes, got str"):
            store.save({1: "text"})  # type: ignore[dict-item]
        store.close()


def test_memory_store() -> None:
    store = open_store("memory:")
    assert isinstance(store, MemoryStore) and isinstance(store, StateStore)
    store.save({5: b"x"})
    assert store.load([5, 6]) == {5: b"x"} and list(store.guild_ids()) == [5]
    store.delete([5])
    assert store.load([5]) == {}
    assert repr(store) == "MemoryStore(0 guilds)"
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.save({1: b""})


def test_sqlite_urls(tmp_path: Path) -> None:
    default = open_store("sqlite:", data_dir=tmp_path / "data")
    assert isinstance(default, SqliteStore)
    assert default.path == tmp_path / "data" / "guildmind.sqlite3" and default.path.exists()
    relative = open_store("sqlite:sub/x.db", data_dir=tmp_path)
    absolute = open_store(f"sqlite:{tmp_path}/abs.db", data_dir="/nonexistent")
    assert relative.path == tmp_path / "sub" / "x.db"  # type: ignore[attr-defined]
    assert absolute.path == tmp_path / "abs.db"  # type: ignore[attr-defined]
    assert repr(absolute) == f"SqliteStore({str(tmp_path / 'abs.db')!r})"
    for store in (default, relative, absolute):
        store.close()
    with pytest.raises(ValueError, match="without '//'"):
        open_store("sqlite:///x.db", data_dir=tmp_path)


def test_sqlite_uses_wal_and_one_table(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "s.db") as store:
        store.save({1: b"a"})
        db = sqlite3.connect(tmp_path / "s.db")
        try:
            assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
            rows = db.execute("SELECT guild_id, data, saved_at FROM guild_snapshots").fetchall()
        finally:
            db.close()
    assert rows[0][:2] == (1, b"a") and abs(rows[0][2] - time.time()) < 60


def test_sqlite_cannot_open_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(StoreError, match="cannot open the SQLite store"):
        open_store("sqlite:", data_dir=tmp_path / "file")
    (tmp_path / "junk.db").write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="cannot set up the SQLite store"):
        open_store("sqlite:junk.db", data_dir=tmp_path)


WRITER = """
import sys
from actors.stores.base import open_store
path, base = sys.argv[1], int(sys.argv[2])
store = open_store("sqlite:" + path, data_dir=".")
for i in range(150):
    # each writer owns some guilds and shares others (the last writer wins those)
    store.save({base + i: b"mine", 10_000 + i % 20: b"shared %d" % base})
store.close()
print("ok")
"""


def test_two_processes_write_one_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    open_store(f"sqlite:{path}").close()  # create the schema once, like a first host would
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), str(base)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for base in (1, 1_001)
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert out.strip() == "ok"
    with SqliteStore(path) as store:
        data = store.load(store.guild_ids())
    assert len(data) == 150 + 150 + 20
    assert all(data[1 + i] == b"mine" and data[1_001 + i] == b"mine" for i in range(150))
    assert {data[10_000 + i] for i in range(20)} <= {b"shared 1", b"shared 1001"}


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("redis://:s3cret@host:6379/0", "redis://:***@host:6379/0"),
        ("redis://user:s3cret@host/1?prefix=x:", "redis://user:***@host/1?prefix=x:"),
        ("rediss://user@host:6380", "rediss://user@host:6380"),
        ("redis://host/0?password=s3cret&prefix=p", "redis://host/0?password=***&prefix=p"),
        ("postgres://u:s3cret@db/x", "postgres://u:***@db/x"),
        ("sqlite:/tmp/x.db", "sqlite:/tmp/x.db"),
        # nothing to hide: the URL comes back character for character, never normalised
        ("sqlite:///tmp/x.db", "sqlite:///tmp/x.db"),
        ("redis://host:6379/0?", "redis://host:6379/0?"),
        ("REDIS://Host:6379/0#x", "REDIS://Host:6379/0#x"),
        ("redis://:s3cret@host:notaport/0", "redis://:***@host:notaport/0"),
    ],
)
def test_mask_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked
    assert "s3cret" not in mask_url(url)


@pytest.mark.parametrize(
    "url", ["postgres://u:s3cret@db/x", "nothing", "memory:x", "mysql://root:s3cret@x", ""]
)
def test_unknown_store_url(url: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="is not one this runtime knows") as info:
        open_store(url, data_dir=tmp_path)
    assert "s3cret" not in str(info.value)
    with pytest.raises(ValueError, match="must be a string"):
        open_store(None, data_dir=tmp_path)  # type: ignore[arg-type]


OPENER = """
import sys
from actors.stores.base import open_store
for path in sys.argv[1:]:
    open_store("sqlite:" + path, data_dir=".").close()  # several hosts starting at once
print("ok")
"""


def test_processes_setting_up_a_new_sqlite_file_at_once_all_succeed(tmp_path: Path) -> None:
    # Switching a fresh file to WAL takes a lock SQLite's busy timeout does not wait for: hosts
    # starting together once failed with "database is locked".
    paths = [str(tmp_path / f"new-{i}.db") for i in range(15)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", OPENER, *paths],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert out.strip() == "ok"
