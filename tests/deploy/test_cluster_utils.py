"""Two nodes from `ray.cluster_utils.Cluster`: a node is removed, its guilds come back on another.

The cluster and the runtime run in `cluster_utils_driver.py`, a process (and session, and process
group) of its own with its own Ray temporary directory: this test process keeps its session Ray.
Afterwards every process of that cluster is gone (waited for, or killed by pid).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.deploy.raynodes import ROOT, ray_env, reap

DRIVER = Path(__file__).with_name("cluster_utils_driver.py")


def test_a_removed_nodes_guilds_come_back_on_another_node(tmp_path: Path) -> None:
    temp_dir = Path(tempfile.mkdtemp(prefix="gmc", dir="/tmp"))  # short: Ray's socket paths
    env = dict(ray_env(os.urandom(32).hex()), RAY_TMPDIR=str(temp_dir))
    proc = subprocess.Popen(
        [sys.executable, str(DRIVER), str(tmp_path)], cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        out, _ = proc.communicate(timeout=150)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
        reap(temp_dir)
    lines = [line[4:] for line in out.splitlines() if line.startswith("@gm ")]
    assert proc.returncode == 0 and lines, out[-4000:]
    result = json.loads(lines[-1])
    head, b, on_b = result["head"], result["b"], result["on_b"]
    assert {i["node"] for i in result["before"].values()} == {head, b}  # spread over both
    assert on_b
    for name in on_b:
        before, after = result["before"][name], result["after"][name]
        assert after["node"] == head and after["pid"] != before["pid"]
        assert after["loaded"] >= before["guilds"] > 0  # its guilds, from the SQLite store
        assert result["restarts"][name] == 1
    assert result["stats"]["host_errors"] == 0 and result["stats"]["dropped"] == {}
