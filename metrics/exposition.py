"""Serve one process's registry on ``/metrics``, from a daemon thread (safe inside a Ray actor).

    server = start_metrics_server(m.registry)            # 127.0.0.1, any free port
    directory.add(server.target(), role="host", process="host-3")   # via the runtime
    ...
    server.close()

The server is prometheus_client's threaded WSGI app and server (as its ``start_http_server``,
with a short shutdown poll so closing is quick), so a scrape never waits for the process's event
loop. It binds 127.0.0.1 unless told otherwise: on a cluster, bind ``0.0.0.0``
(or the node address) and advertise the node's address with ``target(advertise_host=...)``.
"""

from __future__ import annotations

import socket
import threading
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer
from prometheus_client.registry import CollectorRegistry

WILDCARDS = ("0.0.0.0", "::", "")
POLL_S = 0.05  # how often serve_forever() checks for shutdown


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server4(ThreadingWSGIServer):
    address_family = socket.AF_INET


class _Server6(ThreadingWSGIServer):
    address_family = socket.AF_INET6


class MetricsServer:
    """A running ``/metrics`` endpoint: its bound ``host`` and ``port``, and `close()`."""

    def __init__(self, httpd: WSGIServer, thread: threading.Thread, host: str) -> None:
        self._httpd = httpd
        self._thread = thread
        self.host = host
        self.port: int = httpd.server_address[1]
        self.closed = False

    @property
    def address(self) -> tuple[str, int]:
        """The bound (host, port)."""
        return self.host, self.port

    def target(self, advertise_host: str | None = None) -> str:
        """``host:port`` for Prometheus: `advertise_host` (required when bound to a wildcard)."""
        host = advertise_host or self.host
        if host in WILDCARDS:
            raise ValueError(
                f"The metrics server is bound to {self.host!r}, which is not an address "
                "Prometheus can scrape; pass advertise_host (the node's address)."
            )
        return f"[{host}]:{self.port}" if ":" in host else f"{host}:{self.port}"

    def close(self) -> None:
        """Stop serving and release the socket (idempotent)."""
        if self.closed:
            return
        self.closed = True
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> MetricsServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "serving"
        return f"<MetricsServer {self.host}:{self.port} {state}>"


def start_metrics_server(
    registry: CollectorRegistry, host: str = "127.0.0.1", port: int = 0
) -> MetricsServer:
    """Serve `registry` on ``http://host:port/metrics`` (port 0: any free port) from a daemon
    thread; returns the running server (read ``.port`` for the port it got).

    Raises
    ------
    OSError
        When the address cannot be bound (in use, or not an address of this machine).
    """
    server_class = _Server6 if ":" in host else _Server4
    try:
        httpd = make_server(host, port, make_wsgi_app(registry), server_class, _Quiet)
    except OSError as e:
        raise OSError(
            e.errno, f"Cannot serve metrics on {host}:{port}: {e.strerror or e}; "
            "choose another metrics host or port (0 picks a free one)."
        ) from None  # fmt: skip
    thread = threading.Thread(
        target=httpd.serve_forever, args=(POLL_S,), name="guildmind-metrics", daemon=True
    )
    thread.start()
    return MetricsServer(httpd, thread, host)
