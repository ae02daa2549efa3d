"""`TargetDirectory`: the runtime's list of ``/metrics`` endpoints, in Prometheus ``http_sd`` form.

Every runtime process (driver, gateways, guild hosts) serves its own ``/metrics`` on a port it
picked; the runtime keeps this directory up to date as processes come, go and restart, and the
`DiscoveryServer` serves it on ``/sd`` so one Prometheus scrape config finds them all.

Entries are keyed by *process name* (``"host-3"``): a restarted actor registers its new
address under the same name, replacing the old one. A late `remove()` from the process that was
replaced names its old target and so cannot remove its successor. Thread-safe.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from typing import NamedTuple

LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
TARGET = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+):\d{1,5}$")
ROLE = re.compile(r"^[a-z][a-z_]*$")


class Target(NamedTuple):
    """One registered endpoint."""

    process: str
    target: str
    role: str
    labels: tuple[tuple[str, str], ...] = ()


class TargetDirectory:
    """The ``/metrics`` endpoints of the runtime's processes, by process name."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._targets: dict[str, Target] = {}
        self.version = 0
        """Bumped on every change (lets a caller see that something changed)."""

    def add(
        self,
        process: str,
        target: str,
        *,
        role: str,
        labels: Mapping[str, str] | None = None,
    ) -> bool:
        """Register (or re-register) `process` at `target` (``host:port``) with `role`
        (``driver``, ``gateway``, ``host``, ...) and optional extra target `labels`.

        Returns True when this replaced a *different* target for the same process (it
        restarted); re-adding the same target is a harmless no-op returning False.

        Raises
        ------
        ValueError
            For a malformed target, role, process name or label.
        """
        entry = Target(process, target, role, _check(process, target, role, labels or {}))
        with self._lock:
            old = self._targets.get(process)
            if old == entry:
                return False
            self._targets[process] = entry
            self.version += 1
            return old is not None and old.target != target

    def remove(self, process: str, target: str | None = None) -> bool:
        """Forget `process` (only if still at `target`, when given); True if it was removed."""
        with self._lock:
            old = self._targets.get(process)
            if old is None or (target is not None and old.target != target):
                return False
            del self._targets[process]
            self.version += 1
            return True

    def targets(self) -> list[Target]:
        """The registered endpoints, by process name."""
        with self._lock:
            return sorted(self._targets.values())

    def render(self) -> list[dict[str, object]]:
        """The ``http_sd`` document: one target group per process, labelled with its role,
        process name and extra labels, sorted by process name."""
        return [
            {
                "targets": [t.target],
                "labels": {**dict(t.labels), "role": t.role, "process": t.process},
            }
            for t in self.targets()
        ]

    def __len__(self) -> int:
        with self._lock:
            return len(self._targets)

    def __contains__(self, process: object) -> bool:
        with self._lock:
            return process in self._targets


def _check(
    process: str, target: str, role: str, labels: Mapping[str, str]
) -> tuple[tuple[str, str], ...]:
    if not isinstance(process, str) or not process or len(process) > 100:
        raise ValueError(f"A process name must be a short non-empty string, got {process!r}.")
    if not isinstance(target, str) or not TARGET.match(target):
        raise ValueError(f"{process}: target {target!r} is not 'host:port'.")
    if not 0 < int(target.rsplit(":", 1)[1]) < 65536:
        raise ValueError(f"{process}: target {target!r} has no valid port.")
    if not isinstance(role, str) or not ROLE.match(role):
        raise ValueError(f"{process}: role {role!r} must be a lowercase word like 'host'.")
    for name, value in labels.items():
        if not LABEL_NAME.match(name) or name.startswith("__") or name in ("role", "process"):
            raise ValueError(
                f"{process}: {name!r} cannot be a target label (a Prometheus label name, "
                "not 'role', 'process' or a reserved '__' name)."
            )
        if not isinstance(value, str):
            raise ValueError(f"{process}: label {name!r} must be a string, got {value!r}.")
    return tuple(sorted(labels.items()))
