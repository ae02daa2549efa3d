"""Real Ray nodes on this machine for the multi-node tests: `ray start --block`, one per node.

    with RayNodes() as nodes:
        head = nodes.start_head()                      # its own ports, temp dir, 1 CPU
        b = nodes.start_worker(head, resource="node_b")
        ...                                            # a driver joins head.address
        b.kill()                                       # the node dies (SIGKILL, no draining)

Each node is a ``ray start --block`` in a session (and process group) of its own, so its GCS,
raylet, agents and workers can be stopped without touching any other Ray on the machine: never
``ray stop``, which stops *every* local Ray (the test session's own included). Every port is
picked free and given explicitly; everything binds or advertises 127.0.0.1; usage stats are off.
Leaving the ``with`` kills every node's process group, then waits for (or kills, by pid) any
process still naming the cluster's temporary directory (Ray's workers have process groups of
their own), and checks nothing is left.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Self

from tests.fixtures.polling import wait_until

ROOT = Path(__file__).resolve().parents[2]
RAY = Path(sys.executable).parent / "ray"  # the test interpreter's own (make test: .venv/bin/ray)
# Fail fast on a dead node: the GCS marks it dead after ~3 missed 1 s health checks (not ~30 s).
FAST_FAILURE = {
    "RAY_health_check_period_ms": "1000",
    "RAY_health_check_timeout_ms": "1000",
    "RAY_health_check_failure_threshold": "3",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_range(n: int) -> int:
    """The first port of `n` consecutive free ports (for a node's worker processes)."""
    for _ in range(200):
        base = random.randrange(20_000, 30_000 - n)
        if all(_bindable(p) for p in range(base, base + n)):
            return base
    raise RuntimeError(f"no {n} consecutive free ports found")


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def ray_env(token: str) -> dict[str, str]:
    """The environment for `ray start` and for drivers joining the test cluster: token auth
    with the cluster's own token (never ~/.ray's, which other Rays on the machine may use)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env.update(FAST_FAILURE, RAY_USAGE_STATS_ENABLED="0", PYTHONPATH=str(ROOT))
    env.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=token)
    # A 1-CPU node starts one worker at a time by default; while it does, Ray spills an actor
    # placed there with a soft affinity to another node, so the hosts did not always spread.
    env.update(RAY_worker_maximum_startup_concurrency="8")
    return env


class RayNode:
    """One `ray start --block` process and its process group."""

    def __init__(
        self, name: str, command: list[str], args: list[str], env: dict[str, str], log: Path
    ) -> None:
        self.name, self.command, self.args, self.env, self.log = name, command, args, env, log
        self.port = 0  # the GCS port (head only)
        self.proc: subprocess.Popen[bytes] | None = None
        self._log_from = 0  # where this start's lines begin in the log

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        self._log_from = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [*self.command, "start", "--block", *self.args],
                stdout=out, stderr=subprocess.STDOUT, env=self.env,
                cwd=self.log.parent,  # not the project's directory: nothing imported from there
                start_new_session=True,  # its own process group: killed as one, alone
            )  # fmt: skip

    def wait_started(self, timeout: float = 60.0) -> None:
        def started() -> bool:
            if b"Ray runtime started" in self.log.read_bytes()[self._log_from :]:
                return True
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"ray node {self.name} exited:\n{self.tail()}")
            return False

        wait_until(started, what=f"ray node {self.name} to start", timeout_s=timeout,
                   interval_s=0.2, detail=self.tail)  # fmt: skip

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the node's whole process group (SIGKILL: a crash; nothing drains)."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)
        if sig == signal.SIGKILL:
            self.proc.wait(timeout=10)
            self.proc = None

    def tail(self, n: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-n:]


class RayNodes:
    """A Ray cluster of nodes on this machine, all stopped (and checked gone) on exit."""

    def __init__(self, python: Path | None = None) -> None:
        """`python`: the interpreter the nodes (and so their workers) run; the project's `ray`
        by default."""
        self.command = [str(RAY)] if python is None else [str(python), "-m", "ray.scripts.scripts"]
        # short: Ray's unix socket paths live under it and must stay under ~107 bytes
        self.temp_dir = Path(tempfile.mkdtemp(prefix="gmr", dir="/tmp"))
        self.nodes: list[RayNode] = []
        self.env = ray_env(secrets.token_hex(32))
        """For drivers joining this cluster (its token, fast failure detection)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_all()

    def _node(self, name: str, args: list[str]) -> RayNode:
        worker_ports = free_range(40)
        args = [
            "--node-ip-address=127.0.0.1",
            f"--node-manager-port={free_port()}",
            f"--object-manager-port={free_port()}",
            f"--min-worker-port={worker_ports}",
            f"--max-worker-port={worker_ports + 39}",
            f"--dashboard-agent-listen-port={free_port()}",
            f"--dashboard-agent-grpc-port={free_port()}",
            f"--runtime-env-agent-port={free_port()}",
            f"--metrics-export-port={free_port()}",
            "--object-store-memory=80000000",
            "--num-cpus=1",
            *args,
        ]
        log = self.temp_dir.with_suffix(f".{name}.log")
        node = RayNode(name, self.command, args, self.env, log)
        self.nodes.append(node)
        return node

    def start_head(self, resource: str = "node_a") -> RayNode:
        port = free_port()
        node = self._node("head", [
            "--head", f"--port={port}", "--include-dashboard=false",
            f"--dashboard-port={free_port()}", f"--temp-dir={self.temp_dir}",
            f"--resources={json.dumps({resource: 1})}",
        ])  # fmt: skip
        node.port = port
        node.start()
        node.wait_started()
        return node

    def start_worker(self, head: RayNode, resource: str) -> RayNode:
        node = self._node(resource, [
            f"--address={head.address}", f"--resources={json.dumps({resource: 1})}",
            f"--temp-dir={self.temp_dir}",
        ])  # fmt: skip
        node.start()
        node.wait_started()
        return node

    def restart(self, node: RayNode) -> None:
        """Start a stopped node again (same arguments: a node coming back)."""
        node.start()
        node.wait_started()

    def stop_all(self) -> None:
        for node in self.nodes:
            node.kill(signal.SIGKILL)
        for node in self.nodes:
            node.log.unlink(missing_ok=True)
        reap(self.temp_dir)


def naming(path: Path) -> list[int]:
    """Pids of live processes whose command line names `path` (a cluster's temporary dir)."""
    mark = str(path).encode()
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
            state = (proc / "stat").read_text().rsplit(") ", 1)[1][0]
        except (OSError, IndexError):
            continue
        if mark in cmdline and state != "Z":
            pids.append(int(proc.name))
    return pids


def reap(temp_dir: Path, grace: float = 5.0) -> None:
    """Make sure no process of the cluster living in `temp_dir` is left, then remove the dir.

    Ray starts its workers in process groups of their own; they exit when their raylet dies,
    and any still there after `grace` seconds is killed by pid (never by name)."""
    with contextlib.suppress(AssertionError):  # not gone by themselves: killed below
        wait_until(lambda: not naming(temp_dir), what="the cluster's processes to exit",
                   timeout_s=grace, interval_s=0.2)  # fmt: skip
    for pid in naming(temp_dir):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    time.sleep(0.2)
    left = naming(temp_dir)
    shutil.rmtree(temp_dir, ignore_errors=True)
    if left:
        raise RuntimeError(f"Ray processes of {temp_dir} still running: {left}")
