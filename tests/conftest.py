"""Suite-wide fixtures: one Ray for the whole session, started only if a test asks for it."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def ray_session() -> Iterator[None]:
    """A light local Ray (2 CPUs, no dashboard, small object store) shared by every Ray test."""
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    import ray

    from actors.remote.host import NAMESPACE

    ray.init(
        address="local",  # a Ray of its own, even if another one runs on this machine
        num_cpus=2, include_dashboard=False, object_store_memory=80 * 1024**2,
        namespace=NAMESPACE, log_to_driver=False, configure_logging=False,
    )  # fmt: skip
    yield
    ray.shutdown()
