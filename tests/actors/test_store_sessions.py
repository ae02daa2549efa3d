"""Gateway sessions in the state stores: a record per shard id, beside the guilds, kept apart.

The discord source keeps each shard's session (cold resume) under its shard id; the stores keep
the bytes as they are, across a restart, and never mix them with guild snapshots.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import msgspec
import pytest

from actors.sources.discord.resume import ShardSession, decode_session
from actors.stores.base import MemoryStore, StateStore, open_store

RECORD = ShardSession(
    shard_id=3, shard_count=4, session_id="abc123", sequence=4_711,
    resume_url="wss://gateway-us-east1-b.discord.gg", bot_id=1_000_000_000_000_001,
    saved_at=1_900_000_000.5,
)  # fmt: skip


@pytest.fixture(params=["memory", "sqlite", "redis"])
def reopen(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], StateStore]]:
    """The same store again each call (a restarted gateway); memory: one object (no restart)."""
    if request.param == "memory":
        one = MemoryStore()
        yield lambda: one
        return
    url = "sqlite:" if request.param == "sqlite" else request.getfixturevalue("redis_url")
    opened: list[StateStore] = []

    def make() -> StateStore:
        store = open_store(url, data_dir=tmp_path)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


def encoded(record: ShardSession) -> bytes:
    return msgspec.msgpack.encode(record)


def test_a_shards_session_survives_a_restart(reopen: Callable[[], StateStore]) -> None:
    store = reopen()
    store.save_sessions({3: encoded(RECORD), 0: b"other"})
    store.save({3: b"a guild snapshot"})  # guild 3 and shard 3: apart
    again = reopen()
    loaded = again.load_sessions([0, 3, 9])
    assert sorted(loaded) == [0, 3]  # 9 was never saved: absent
    assert decode_session(loaded[3]) == RECORD
    assert again.load([3]) == {3: b"a guild snapshot"}
    assert list(again.guild_ids()) == [3]  # a session is not a guild

    again.save_sessions({3: encoded(msgspec.structs.replace(RECORD, sequence=5_000))})
    record = decode_session(reopen().load_sessions([3])[3])
    assert record is not None and record.sequence == 5_000  # replaced, not added
    again.delete_sessions([3, 77])
    assert reopen().load_sessions([0, 3]) == {0: b"other"}
    assert reopen().load([3]) == {3: b"a guild snapshot"}  # the guild's snapshot stays


@pytest.mark.parametrize("bad", [-1, 2**31, "3", 1.0, None, True])
def test_bad_shard_ids_are_one_sentence(bad: object, tmp_path: Path) -> None:
    for store in (MemoryStore(), open_store("sqlite:", data_dir=tmp_path)):
        for call in (store.load_sessions, store.delete_sessions):
            with pytest.raises(ValueError, match=r"shard ids must be ints with 0 <= id < 2\*\*31"):
                call([bad])  # type: ignore[list-item]
        with pytest.raises(ValueError, match="shard ids must be"):
            store.save_sessions({bad: b"x"})  # type: ignore[dict-item]
        with pytest.raises(ValueError, match="shard 1: a session must be bytes, got str"):
            store.save_sessions({1: "x"})  # type: ignore[dict-item]
        assert store.load_sessions([1]) == {}  # nothing half-written
        store.close()


def test_a_record_that_cannot_be_read_is_none() -> None:
    assert decode_session(b"\xc1") is None
    assert decode_session(encoded(RECORD)[:-3]) is None
    newer = msgspec.structs.replace(RECORD, version=2)
    assert decode_session(encoded(newer)) is None  # a newer format: identify, do not guess
