"""Write-behind bookkeeping: which guilds changed, when to write them, and what came of it.

A plain class with no thread or timer of its own; the guild host drives it::

    wb.mark_dirty(guild_id)                       # after applying events to a guild
    if wb.due(time.monotonic()):                  # on the host's tick
        batch = wb.collect(engine.snapshot)       # on the event loop: snapshots are consistent
        result = await asyncio.to_thread(wb.commit, store, batch)   # the I/O off the loop
    wb.save_now(store, gid, engine.snapshot(gid)) # the bot acted: write through before sending

`flush(store, snapshot_fn)` is `commit(store, collect(snapshot_fn))` in one call.

Nothing is lost on failure: a batch that could not be written goes back into the dirty set for
the next try. And no write ever replaces a newer one: every snapshot is stamped with a sequence
number when it is taken (`collect` stamps its batch; a write-through takes `stamp()` before it
snapshots, on the same event loop), and a write older than the guild's last one skips the guild.
So a crash after the bot spoke can never bring back a state in which it had not spoken yet, and
an erasure written through is never undone by a snapshot taken before it that was still on its
way to the store.

Deleting a guild (`mark_deleted`: the bot left it and its grace ran out) goes the same way: it
is stamped when asked, so nothing taken before can write the guild back, and the next flush
deletes it from the store (again on the next flush if the store failed).

One guild never blocks the others: when a write of several guilds fails, they are written one by
one. A guild the store refuses for good (a `ValueError`: an id that is not a snowflake, a
snapshot that is not bytes) is counted as failed, logged once and not retried; the first other
failure (the store itself failing) stops there, and what was not written stays dirty.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from actors.stores.base import StateStore

log = logging.getLogger(__name__)


class Batch(NamedTuple):
    """Snapshots collected for one write, and the sequence number they were collected at."""

    seq: int
    items: dict[int, bytes]
    failed: int = 0  # guilds whose snapshot could not be taken (they stay dirty)
    deletes: frozenset[int] = frozenset()  # guilds to delete from the store


class FlushResult(NamedTuple):
    """The outcome of one write: guilds saved, guilds that failed (still dirty), real seconds."""

    saved: int
    failed: int
    seconds: float
    error: str | None = None  # the failure, one line; None when all went well


class WriteBehind:
    """Tracks dirty guilds and writes them to a store at most every `interval_s` seconds.

    `due(now)` takes `now` in whatever seconds the caller ticks in; use real (monotonic) time, as
    the interval protects the store, which lives in real time whatever the runtime clock's speed.
    What each write did comes back as a `FlushResult` (the host records it as metrics).
    """

    def __init__(self, interval_s: float = 2.0) -> None:
        if (
            isinstance(interval_s, bool)
            or not isinstance(interval_s, int | float)
            or not (0 < interval_s < float("inf"))
        ):
            raise ValueError(f"write-behind interval_s must be a number > 0, got {interval_s!r}")
        self.interval_s = float(interval_s)
        self._dirty: set[int] = set()
        self._deleting: set[int] = set()  # guilds to delete from the store at the next flush
        self._next_at = float("-inf")
        self._seqs = itertools.count(1)  # next() is atomic: stamps are taken on any thread
        self._written: dict[int, int] = {}  # guild → stamp of its last write-through or deletion
        self._lock = threading.Lock()  # commit and save_now may run in worker threads
        self.refused: set[int] = set()  # guilds the store refused for good (logged once each)

    # bookkeeping ------------------------------------------------------------------------------
    def stamp(self) -> int:
        """A sequence number for snapshots taken now (pass it to `save_through`)."""
        return next(self._seqs)

    def mark_dirty(self, guild_id: int) -> None:
        self._dirty.add(guild_id)

    def mark_deleted(self, guild_id: int) -> None:
        """Delete the guild from the store at the next flush; nothing snapshotted before this
        call writes it back (and it is no longer dirty)."""
        self._dirty.discard(guild_id)
        self._deleting.add(guild_id)
        self._written[guild_id] = self.stamp()

    def forget(self, guild_id: int) -> None:
        """The guild left this host: stop tracking it (save it first if it matters)."""
        self._dirty.discard(guild_id)
        self._written.pop(guild_id, None)

    @property
    def pending(self) -> int:
        """Guilds waiting to be written or deleted."""
        return len(self._dirty) + len(self._deleting)

    def is_dirty(self, guild_id: int) -> bool:
        return guild_id in self._dirty

    def due(self, now: float) -> bool:
        """True, at most once per `interval_s`, when there is something to write."""
        if not (self._dirty or self._deleting) or now < self._next_at:
            return False
        self._next_at = now + self.interval_s
        return True

    def take_dirty(self) -> set[int]:
        """The dirty guilds, leaving none; the caller now owns writing them."""
        dirty, self._dirty = self._dirty, set()
        return dirty

    # writing ----------------------------------------------------------------------------------
    def collect(self, snapshot_fn: Callable[[int], bytes], limit: int | None = None) -> Batch:
        """Snapshot every dirty guild (at most `limit` of them; the rest stay dirty). A guild
        `snapshot_fn` no longer knows (KeyError) is dropped; one whose snapshot fails otherwise
        stays dirty."""
        if limit is None or len(self._dirty) <= limit:
            ids = self.take_dirty()
        else:
            ids = {self._dirty.pop() for _ in range(limit)}
        deletes, self._deleting = frozenset(self._deleting), set()
        seq = self.stamp()
        items: dict[int, bytes] = {}
        failed = 0
        for gid in ids:
            try:
                items[gid] = snapshot_fn(gid)
            except KeyError:
                if gid not in deletes:  # (a deletion's stamp must outlive it)
                    self._written.pop(gid, None)  # gone from this host: nothing to write
            except Exception:
                log.exception("guild %s: snapshot failed; will retry", gid)
                self._dirty.add(gid)
                failed += 1
        return Batch(seq, items, failed, deletes - items.keys())  # (back since: it lives)

    def commit(self, store: StateStore, batch: Batch) -> FlushResult:
        """Write a collected batch in one `store.save` call; on failure its guilds stay dirty."""
        start = time.perf_counter()
        with self._lock:
            items = batch.items
            newer = [gid for gid in items if self._written.get(gid, 0) > batch.seq]
            if newer:  # written through since we collected: ours is older, don't overwrite
                items = {gid: data for gid, data in items.items() if gid not in newer}
                self._dirty.update(newer)  # …but whatever changed since gets written next time
            # a deletion asked after this batch was collected is the newer word
            deletes = [gid for gid in batch.deletes if self._written.get(gid, 0) <= batch.seq]
            error = None
            written, refused, failure = self._save(store, items)
            for gid in written:  # a write-through snapshotted before this must not follow
                self._written[gid] = batch.seq
            if failure is None and deletes:
                try:
                    store.delete(deletes)
                except Exception as e:
                    failure = e
            if failure is not None:
                done = set(written).union(refused)
                self._dirty.update(gid for gid in items if gid not in done)
                self._deleting.update(deletes)
                error = f"{type(failure).__name__}: {failure}"
                log.warning(
                    "write-behind of %d guilds (%d deleted) failed (will retry): %s",
                    len(items) - len(done), len(deletes), error,
                )  # fmt: skip
        seconds = time.perf_counter() - start
        failed = batch.failed + len(items) - len(written)
        return FlushResult(len(written), failed, seconds, error)

    def _save(
        self, store: StateStore, items: Mapping[int, bytes]
    ) -> tuple[list[int], list[int], Exception | None]:
        """Write `items`: (the guilds written, those the store refuses for good, the failure
        that stopped it or None). One call; if that fails for several guilds, one by one."""
        if not items:
            return [], [], None
        try:
            store.save(items)
            return list(items), [], None
        except ValueError as e:
            if len(items) == 1:
                return [], self._refused(items, e), None
        except Exception as e:
            if len(items) == 1:
                return [], [], e
        written: list[int] = []
        refused: list[int] = []
        for gid, data in items.items():
            try:
                store.save({gid: data})
            except ValueError as e:
                refused += self._refused({gid: data}, e)
            except Exception as e:  # the store itself: what is left stays dirty
                return written, refused, e
            else:
                written.append(gid)
        return written, refused, None

    def _refused(self, items: Mapping[int, bytes], error: ValueError) -> list[int]:
        for gid in items:
            if gid not in self.refused:
                self.refused.add(gid)
                log.error("guild %r: the store refuses its snapshot, not retried: %s", gid, error)
        return list(items)

    def flush(self, store: StateStore, snapshot_fn: Callable[[int], bytes]) -> FlushResult:
        """Snapshot the dirty guilds and save them in one call (`collect` then `commit`)."""
        return self.commit(store, self.collect(snapshot_fn))

    def save_now(
        self, store: StateStore, guild_id: int, data: bytes, seq: int | None = None
    ) -> None:
        """Write one guild through, synchronously: the bot is about to speak there.

        `seq` is the `stamp()` taken before the snapshot was (None: now). Raises whatever the
        store raises (a `StoreError`): then the caller must not send, since a crash would forget
        that the bot spoke and it could speak twice.
        """
        if self.save_through(store, {guild_id: data}, seq):
            raise ValueError(f"the store refuses guild {guild_id!r}'s snapshot (see the log)")

    def save_through(
        self, store: StateStore, items: Mapping[int, bytes], seq: int | None = None
    ) -> set[int]:
        """`save_now` for several guilds in one store write (a group commit); returns the
        guilds the store refuses for good (written without them: one bad guild costs no other).

        A guild written (or deleted) since `seq` is skipped: its snapshot here is older than
        the store's, and everything it says is in the newer one. Raises what the store raises
        when it fails otherwise (the guilds written until then stay written)."""
        if seq is None:
            seq = self.stamp()
        with self._lock:
            items = {gid: data for gid, data in items.items() if self._written.get(gid, 0) < seq}
            written, refused, failure = self._save(store, items)
            for guild_id in written:
                self._written[guild_id] = seq
            if failure is not None:
                raise failure
            return set(refused)
