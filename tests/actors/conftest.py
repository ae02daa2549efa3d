"""Fixtures for the actors' building blocks: a real redis-server, started and always stopped.

Missing `redis-server` is a test failure telling how to install it, never a skip: `make test`
installs it (scripts/system-deps.sh).
"""

from __future__ import annotations

import itertools
import shutil
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.fixtures.polling import wait_until

INSTALL_HINT = (
    "redis-server is not on PATH; the Redis store tests need a real server: run "
    "`make test` (scripts/system-deps.sh installs it) or `apt-get install -y redis-server`"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ping(port: int, password: str | None) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as s:
            if password is not None:
                s.sendall(f"AUTH {password}\r\n".encode())
                s.recv(64)
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """One `redis-server` process; `start()`/`stop()` may be called again (a server restart)."""

    def __init__(
        self,
        workdir: Path,
        *,
        persistent: bool = False,
        password: str | None = None,
        tls: tuple[Path, Path] | None = None,
    ) -> None:
        self.workdir = workdir
        self.persistent = persistent
        self.password = password
        self.tls = tls  # (certificate, key): also serve TLS on `tls_port`
        self.port = free_port()
        self.tls_port = free_port() if tls else 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            pytest.fail(INSTALL_HINT, pytrace=False)
        args = [exe, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.workdir)]
        args += ["--save", "", "--daemonize", "no", "--loglevel", "warning"]
        if self.persistent:
            args += ["--appendonly", "yes", "--appendfsync", "always"]
        else:
            args += ["--appendonly", "no"]
        if self.password:
            args += ["--requirepass", self.password]
        if self.tls:
            cert, key = self.tls
            args += ["--tls-port", str(self.tls_port), "--tls-cert-file", str(cert)]
            args += ["--tls-key-file", str(key), "--tls-ca-cert-file", str(cert)]
            args += ["--tls-auth-clients", "no"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

        def answers() -> bool:
            if _ping(self.port, self.password):
                return True
            if self.proc is not None and self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                self.proc.stderr and self.proc.stderr.close()
                self.proc = None
                pytest.fail(f"redis-server exited at start: {err.strip()}", pytrace=False)
            return False

        try:
            wait_until(answers, what=f"redis-server to answer PING on port {self.port}",
                       timeout_s=10.0, interval_s=0.02)  # fmt: skip
        except AssertionError:
            self.stop()
            raise

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        proc.terminate()  # SIGTERM: redis finishes writing its append-only file, then exits
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


_prefixes = itertools.count()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A throwaway server (no persistence) shared by the session's Redis tests."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> Iterator[str]:
    """The shared server's URL with a key prefix of this test's own, so tests never collide."""
    yield f"{redis_server.url}?prefix=t{next(_prefixes)}:"


@pytest.fixture
def make_redis_server(tmp_path: Path) -> Iterator[Callable[..., RedisServer]]:
    """Build servers of one's own (persistent, with a password); all stopped after the test."""
    servers: list[RedisServer] = []

    def make(*, persistent: bool = False, password: str | None = None, tls=None) -> RedisServer:
        server = RedisServer(tmp_path / f"redis{len(servers)}", persistent=persistent,
                             password=password, tls=tls)  # fmt: skip
        server.workdir.mkdir()
        servers.append(server)
        return server

    try:
        yield make
    finally:
        for server in servers:
            server.stop()


@pytest.fixture
def closed_port() -> int:
    """A 127.0.0.1 port with (almost certainly) nothing listening on it."""
    return free_port()
