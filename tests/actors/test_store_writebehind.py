"""WriteBehind: dirty tracking, pacing, batched saves, failures that lose nothing, write-through."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

import pytest

from actors.stores.base import FlushResult, MemoryStore, StoreError, WriteBehind


class FlakyStore(MemoryStore):
    """A memory store that fails while `down` is set, and counts save calls."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.calls: list[dict[int, bytes]] = []

    def save(self, items: Mapping[int, bytes]) -> None:
        if self.down:
            raise StoreError("memory: store is down")
        self.calls.append(dict(items))
        super().save(items)


def snap(state: dict[int, int]):
    return lambda gid: b"v%d" % state[gid]


def test_due_paces_writes() -> None:
    wb = WriteBehind()
    assert wb.interval_s == 2.0
    assert not wb.due(0.0)  # nothing dirty: nothing to do
    wb.mark_dirty(1)
    assert wb.due(0.0)
    assert not wb.due(1.9)  # at most once per interval
    assert wb.due(2.0)
    wb.take_dirty()
    assert not wb.due(10.0)


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), float("inf"), "2", True])
def test_bad_interval(bad: object) -> None:
    with pytest.raises(ValueError, match="interval_s must be a number > 0"):
        WriteBehind(bad)  # type: ignore[arg-type]


def test_flush_saves_the_dirty_guilds_in_one_call() -> None:
    state = {1: 10, 2: 20, 3: 30}
    store = FlakyStore()
    wb = WriteBehind(0.5)
    for gid in (1, 2, 2, 3):
        wb.mark_dirty(gid)
    assert wb.pending == 3 and wb.is_dirty(2)
    result = wb.flush(store, snap(state))
    assert isinstance(result, FlushResult)
    assert (result.saved, result.failed, result.error) == (3, 0, None)
    assert result.seconds >= 0.0
    assert store.calls == [{1: b"v10", 2: b"v20", 3: b"v30"}]
    assert wb.pending == 0
    assert wb.flush(store, snap(state)).saved == 0  # nothing dirty: no store call
    assert len(store.calls) == 1


def test_a_failed_flush_loses_nothing() -> None:
    state = {1: 1, 2: 2}
    store = FlakyStore()
    wb = WriteBehind()
    wb.mark_dirty(1)
    wb.mark_dirty(2)
    store.down = True
    result = wb.flush(store, snap(state))
    assert (result.saved, result.failed) == (0, 2)
    assert result.error == "StoreError: memory: store is down"
    assert wb.pending == 2  # still dirty: the next flush tries again
    state[1] = 100  # changed meanwhile: the retry writes the newest state
    store.down = False
    assert wb.flush(store, snap(state)).saved == 2
    assert store.load([1, 2]) == {1: b"v100", 2: b"v2"}


def test_snapshot_failures() -> None:
    store = FlakyStore()
    wb = WriteBehind()

    def snapshot(gid: int) -> bytes:
        if gid == 1:
            raise KeyError(gid)  # forgotten by the engine: nothing to write
        if gid == 2:
            raise RuntimeError("boom")
        return b"ok"

    for gid in (1, 2, 3):
        wb.mark_dirty(gid)
    result = wb.flush(store, snapshot)
    assert (result.saved, result.failed) == (1, 1)
    assert store.load([1, 2, 3]) == {3: b"ok"}
    assert wb.is_dirty(2) and not wb.is_dirty(1)


def test_collect_then_commit_while_new_changes_arrive() -> None:
    state = {1: 1}
    store = FlakyStore()
    wb = WriteBehind()
    wb.mark_dirty(1)
    batch = wb.collect(snap(state))
    state[1] = 2
    wb.mark_dirty(1)  # changed while the batch was being written
    wb.commit(store, batch)
    assert store.load([1]) == {1: b"v1"} and wb.is_dirty(1)
    wb.flush(store, snap(state))
    assert store.load([1]) == {1: b"v2"}


def test_write_behind_never_overwrites_a_newer_write_through() -> None:
    state = {1: 1, 2: 2}
    store = FlakyStore()
    wb = WriteBehind()
    wb.mark_dirty(1)
    wb.mark_dirty(2)
    batch = wb.collect(snap(state))  # a flush has snapshotted guild 1 …
    state[1] = 99  # … then the bot acts there and writes through before sending
    wb.save_now(store, 1, b"v99")
    result = wb.commit(store, batch)  # the older batch must not bring back the old state
    assert result.saved == 1
    assert store.load([1, 2]) == {1: b"v99", 2: b"v2"}
    assert wb.is_dirty(1)  # re-written on the next flush, from the current state
    wb.flush(store, snap(state))
    assert store.load([1]) == {1: b"v99"}


def test_save_now_failure_is_raised() -> None:
    store = FlakyStore()
    store.down = True
    wb = WriteBehind()
    with pytest.raises(StoreError, match="down"):
        wb.save_now(store, 1, b"x")  # the caller must not send the message


def test_forget() -> None:
    wb = WriteBehind()
    wb.mark_dirty(1)
    wb.save_now(MemoryStore(), 1, b"x")
    wb.forget(1)
    wb.forget(2)
    assert wb.pending == 0


class Recorder:
    """Only the StateStore methods WriteBehind uses."""

    def __init__(self) -> None:
        self.saved: list[Mapping[int, bytes]] = []

    def save(self, items: Mapping[int, bytes]) -> None:
        self.saved.append(items)

    def load(self, guild_ids: Iterable[int]) -> dict[int, bytes]:
        return {}

    def delete(self, guild_ids: Iterable[int]) -> None: ...

    def guild_ids(self) -> Iterator[int]:
        return iter(())

    def close(self) -> None: ...


def test_many_guilds_one_call() -> None:
    store = Recorder()
    wb = WriteBehind()
    for gid in range(10_000):
        wb.mark_dirty(gid)
    assert wb.flush(store, lambda gid: b"x").saved == 10_000  # type: ignore[arg-type]
    assert len(store.saved) == 1 and len(store.saved[0]) == 10_000


def test_a_write_through_older_than_the_stores_copy_is_skipped() -> None:
    # an erasure written through must not be undone by a snapshot taken before it that was
    # still on its way to the store (the bot's action, say, committed in another thread)
    store = FlakyStore()
    wb = WriteBehind()
    before = wb.stamp()  # snapshotted then: still holds the member
    after = wb.stamp()  # snapshotted after the erasure
    wb.save_through(store, {1: b"erased"}, after)
    wb.save_through(store, {1: b"holds the member", 2: b"other"}, before)
    assert store.load([1, 2]) == {1: b"erased", 2: b"other"}
    # the same for a write-behind batch written meanwhile: newer than an older write-through
    wb.mark_dirty(3)
    old = wb.stamp()
    wb.flush(store, lambda gid: b"new")
    wb.save_now(store, 3, b"old", old)
    assert store.load([3]) == {3: b"new"}


def test_a_deleted_guild_is_deleted_at_the_next_flush_and_never_written_back() -> None:
    store = FlakyStore()
    store.save({1: b"v1", 2: b"v2"})
    wb = WriteBehind()
    wb.mark_dirty(1)
    batch = wb.collect(lambda gid: b"v1 again")  # a flush snapshotted it …
    taken = wb.stamp()  # … and so did a write-through still on its way
    wb.mark_deleted(1)  # then its grace ran out
    assert wb.pending == 1 and not wb.is_dirty(1)
    assert wb.commit(store, batch).saved == 0  # the older batch does not write it
    wb.save_now(store, 1, b"v1 through", taken)  # nor the older write-through
    assert store.load([1]) == {1: b"v1"}  # (not deleted yet: the next flush does it)
    result = wb.flush(store, lambda gid: (_ for _ in ()).throw(KeyError(gid)))
    assert result.error is None and store.load([1, 2]) == {2: b"v2"} and wb.pending == 0


def test_a_failed_deletion_is_tried_again() -> None:
    class NoDelete(FlakyStore):
        def delete(self, guild_ids: Iterable[int]) -> None:
            if self.down:
                raise StoreError("memory: store is down")
            super().delete(guild_ids)

    store = NoDelete()
    store.save({1: b"v1"})
    wb = WriteBehind()
    wb.mark_deleted(1)
    store.down = True
    assert wb.flush(store, snap({})).error == "StoreError: memory: store is down"
    assert wb.pending == 1 and store.load([1]) == {1: b"v1"}
    store.down = False
    assert wb.flush(store, snap({})).error is None
    assert store.load([1]) == {} and wb.pending == 0


def test_a_guild_back_before_its_deletion_was_flushed_is_kept() -> None:
    store = FlakyStore()
    wb = WriteBehind()
    wb.mark_deleted(1)
    wb.mark_dirty(1)  # the bot was invited again: the guild lives, with a new state
    wb.flush(store, lambda gid: b"new life")
    assert store.load([1]) == {1: b"new life"}
