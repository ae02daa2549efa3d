"""The code reaches Ray's workers through `runtime_env` (`runtime.ship_code`), not an install.

A one-node Ray runs on a Python that has Ray and guildmind's dependencies but not guildmind: a
bare venv whose one extra path is the project venv's site-packages, without the editable install's
import hook (a path line in a ``.pth`` file adds a directory; the ``.pth`` files in it are not
read). Its workers cannot import guildmind from anywhere, which is checked first, with the paths
Ray adds to a job's workers (the driver script's directory and the driver's working directory).
The driver, started outside the project's directory, joins with ``ship_code = true`` and starts
the real `Runtime`: its hosts apply synthetic events and the bot speaks, so the workers run the
packages the driver sent, unpacked by the node's runtime-env agent.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

from tests.deploy.driver_process import DRIVER, Driver
from tests.deploy.raynodes import RayNodes

CONFIG = """
[runtime]
address = "{address}"
speed = 60
hosts = 2
data_dir = "{data}"
ship_code = true
[state]
url = "sqlite:"
write_behind_s = 0.5
[metrics]
port = 0
[defaults]
quiet_hours = false
[source.synthetic]
guilds = 20
rate = 20
seed = 5
"""


def bare_python(root: Path) -> Path:
    """A venv with the project venv's packages on its path but not guildmind's import hook."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    site = next((root / "lib").glob("python3*/site-packages"))
    (site / "project-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return root / "bin" / "python"


def test_workers_run_the_packages_the_driver_ships(tmp_path: Path) -> None:
    python = bare_python(tmp_path / "venv")
    work = tmp_path / "work"  # the driver's working directory: not the project's
    work.mkdir()
    with RayNodes(python=python) as nodes:
        nodes.env.pop("PYTHONPATH")  # nothing of the project on the nodes' or driver's path
        probe = subprocess.run(
            [python, "-c", "import sys; sys.path[:0] = sys.argv[1:]; import ray, msgspec, redis, "
             "discord, prometheus_client; import actors", str(DRIVER.parent), str(work)],
            cwd=work, env=nodes.env, capture_output=True, text=True,
        )  # fmt: skip
        assert probe.returncode == 1 and "No module named 'actors'" in probe.stderr, probe.stderr

        head = nodes.start_head()
        config = work / "guildmind.toml"
        config.write_text(CONFIG.format(address=head.address, data=work))
        driver = Driver(config, nodes.env, cwd=work)
        try:
            driver.wait_for(lambda r: "started" in r, what="driver start")
            report = driver.wait_for(
                lambda r: (
                    "stats" in r
                    and r["stats"]["applied"] > 300
                    and r["stats"]["delivered"] > 0
                    and all(i.get("guilds", 0) > 0 for i in r["hosts"].values())
                ),
                what="events applied and messages sent by hosts on the bare Python",
            )
            assert len(report["hosts"]) == 2
            assert report["stats"]["host_errors"] == 0 and report["stats"]["malformed"] == 0
            # the node's runtime-env agent unpacked the shipped packages for the workers
            unpacked = {
                p.name
                for p in nodes.temp_dir.glob("session_*/runtime_resources/py_modules_files/*/*")
            }
            assert {"config", "engine", "actions", "actors", "metrics"} <= unpacked, unpacked
            driver.close()
            assert driver.proc.wait(timeout=30) == 0
        finally:
            driver.kill()
