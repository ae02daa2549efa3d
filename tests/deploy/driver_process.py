"""`cluster_driver.py` run in a process of its own, and the JSON reports it prints.

driver = Driver(config_path, env)
report = driver.wait_for(lambda r: r["stats"]["applied"] > 300, what="events applied")
sent = driver.close()          # stdin closes: the runtime stops; what the bot sent
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.deploy.raynodes import ROOT
from tests.fixtures.polling import wait_until

DRIVER = Path(__file__).with_name("cluster_driver.py")
MARK = "@gm "


class Driver:
    """The driver process and the JSON reports it prints."""

    def __init__(self, config: Path, env: dict[str, str], cwd: Path = ROOT) -> None:
        # its log (and Ray's lines) in a file of its own: on one pipe with the reports, a long
        # report could be split by another writer's line
        self.log = config.with_name(f"driver-{time.monotonic_ns()}.log")
        with self.log.open("w") as log:
            self.proc = subprocess.Popen(
                [sys.executable, str(DRIVER), str(config)],
                cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=log, text=True, start_new_session=True,
            )  # fmt: skip
        self.reports: queue.Queue[dict] = queue.Queue()
        self.lines: list[str] = []  # anything else on stdout (Ray's lines), for failures
        self.last: dict = {}
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def logged(self) -> str:
        """What it logged (and printed besides the reports), for failures and checks."""
        return "".join(self.lines) + self.log.read_text(errors="replace")

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith(MARK):
                self.reports.put(json.loads(line[len(MARK) :]))
            else:
                self.lines.append(line)
        self.proc.stdout.close()
        self.reports.put({"exited": self.proc.wait()})

    def wait_for(self, check: Callable[[dict], bool], *, what: str, timeout: float = 60) -> dict:
        """The first report (from now on) for which `check` is true."""

        def matching() -> dict | None:  # the reports printed since the last look, in order
            while True:
                try:
                    report = self.reports.get_nowait()
                except queue.Empty:
                    return None
                if "exited" in report:
                    pytest.fail(f"the driver exited ({report}):\n{self.logged()[-6000:]}")
                if "hosts" in report:
                    self.last = report
                if check(report):
                    return report

        return wait_until(
            matching, what=what, timeout_s=timeout, interval_s=0.1,
            detail=lambda: f"last report: {self.last}\n{self.logged()[-3000:]}",
        )  # fmt: skip

    def close(self) -> list[list]:
        """Stop the runtime (stdin closes); what the bot sent."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        sent = self.wait_for(lambda r: "sent" in r, what="final sent log", timeout=60)
        self.wait_for(lambda r: "stopped" in r, what="clean stop", timeout=60)
        return sent["sent"]

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self._reader.join(timeout=10)
