"""The Redis store against a real redis-server: prefixes, server restarts, passwords, failures."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from actors.stores.base import StoreError, open_store
from actors.stores.redis_store import RedisStore


def test_prefixes_keep_deployments_apart(redis_server: Any) -> None:
    a = open_store(f"{redis_server.url}?prefix=alpha:")
    b = open_store(f"{redis_server.url}?prefix=be*ta[1]:")  # glob characters are escaped
    c = open_store(f"{redis_server.url}?prefix=be")
    try:
        a.save({1: b"a1", 2: b"a2"})
        b.save({1: b"b1"})
        c.save({7: b"c7"})
        assert a.load([1, 2]) == {1: b"a1", 2: b"a2"}
        assert b.load([1, 2]) == {1: b"b1"}
        assert sorted(a.guild_ids()) == [1, 2]
        assert sorted(b.guild_ids()) == [1]
        assert sorted(c.guild_ids()) == [7]
        assert repr(a) == f"RedisStore('{redis_server.url}?prefix=alpha:')"
    finally:
        for store in (a, b, c):
            store.delete(store.guild_ids())
            store.close()


def test_default_prefix(redis_server: Any) -> None:
    store = open_store(redis_server.url)
    try:
        assert isinstance(store, RedisStore) and store.prefix == "guildmind:"
        store.save({3: b"x"})
        assert store.load([3]) == {3: b"x"}
    finally:
        store.delete([3])
        store.close()


def test_data_survives_a_server_restart(make_redis_server: Callable[..., Any]) -> None:
    server = make_redis_server(persistent=True)
    server.start()
    store = open_store(server.url + "?prefix=p:")
    items = {gid: b"snapshot %d" % gid for gid in range(1, 101)}
    store.save(items)
    store.close()
    server.stop()
    server.start()
    store = open_store(server.url + "?prefix=p:")
    try:
        assert store.load(range(1, 101)) == items
    finally:
        store.close()


class ClosingListener:
    """A TCP port that accepts each connection and closes it at once, counting them: a Redis
    server that is there but never answers. Every attempt the store makes is one connection."""

    def __init__(self, port: int = 0) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:  # closed: the test is over
                return
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() (close alone won't)
        self.sock.close()
        self._thread.join(timeout=5)


def bounded(call: Callable[[], Any]) -> Any:
    """`call()` in a thread, so a store that retried forever fails the test instead of hanging
    the suite (the timeout is a guard, not the property under test)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(call).result(timeout=60)


def test_a_server_that_goes_away_is_a_store_error_after_one_retry(
    make_redis_server: Callable[..., Any],
) -> None:
    """Every call has at most one retry: two connection attempts, then a StoreError (never an
    endless reconnect loop)."""
    server = make_redis_server()
    server.start()
    store = open_store(server.url)
    try:
        store.save({1: b"x"})
        server.stop()
        gone = ClosingListener(server.port)  # the server's port now drops every connection
        try:
            with pytest.raises(
                StoreError, match=r"saving 1 guilds to 'redis://127\.0\.0\.1:\d+/0'"
            ):
                bounded(lambda: store.save({1: b"y"}))
            saving = gone.accepted
            assert saving in (1, 2)  # reached the port, and tried again at most once
            with pytest.raises(StoreError, match="reading 1 guilds"):
                bounded(lambda: store.load([1]))
            assert gone.accepted - saving in (1, 2)
        finally:
            gone.close()
    finally:
        store.close()


def test_an_unreachable_server_is_a_store_error_that_masks_the_password(closed_port: int) -> None:
    url = f"redis://:s3cret@127.0.0.1:{closed_port}/0"
    with pytest.raises(StoreError, match="cannot reach the Redis store") as info:
        bounded(lambda: open_store(url))
    assert "s3cret" not in str(info.value)
    assert ":***@127.0.0.1" in str(info.value)
    silent = ClosingListener()  # a server that is there but never answers: one retry, then up
    try:
        with pytest.raises(StoreError, match="cannot reach the Redis store"):
            bounded(lambda: open_store(f"redis://:s3cret@127.0.0.1:{silent.port}/0"))
        assert silent.accepted in (1, 2)
    finally:
        silent.close()


def test_password_in_url_or_from_the_environment(
    make_redis_server: Callable[..., Any],
) -> None:
    server = make_redis_server(password="s3cret")
    server.start()
    with_url = open_store(server.url)
    assert "s3cret" not in repr(with_url) and "s3cret" not in with_url.url
    with_url.save({1: b"x"})
    with_url.close()
    bare = f"redis://127.0.0.1:{server.port}/0"
    from_env = open_store(bare, password="s3cret")
    assert from_env.load([1]) == {1: b"x"}
    from_env.close()
    with pytest.raises(StoreError, match="cannot reach") as info:
        open_store(f"redis://:wrong-s3cret@127.0.0.1:{server.port}/0")
    assert "s3cret" not in str(info.value)


def test_malformed_redis_url() -> None:
    with pytest.raises(ValueError, match="is not a valid Redis URL") as info:
        open_store("redis://:s3cret@host:99999999/0")
    assert "s3cret" not in str(info.value)
