"""`DiscoveryServer`: the driver's HTTP endpoint for Prometheus: ``/sd`` and its own ``/metrics``.

    directory = TargetDirectory()
    sd = DiscoveryServer(directory, m.registry, host=cfg.metrics.host, port=cfg.metrics.port)
    sd.start()                                   # also lists the driver itself, role "driver"
    directory.add("host-0", "127.0.0.1:41234", role="host")     # as actors start
    ...
    sd.close()

Routes: ``GET /sd`` (the Prometheus ``http_sd`` JSON of `TargetDirectory.render()`),
``GET /metrics`` (the driver's registry) and ``GET /`` (a short index). A stdlib threaded HTTP
server on a daemon thread: it works the same from synchronous code and from the driver's asyncio
loop, and a busy or blocked loop never stalls a scrape.
"""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import CollectorRegistry

from metrics.exposition import POLL_S, WILDCARDS
from metrics.targets import TargetDirectory

logger = logging.getLogger(__name__)

SD_PATH = "/sd"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    directory: TargetDirectory
    registry: CollectorRegistry


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "guildmind-sd"

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == SD_PATH:
            body = json.dumps(self.server.directory.render()).encode()
            self._send(200, "application/json", body)
        elif path == "/metrics":
            encoder, content_type = choose_encoder(self.headers.get("Accept"))
            try:
                body = encoder(self.server.registry)
            except Exception:
                logger.exception("Collecting the driver's metrics failed.")
                self._send(500, "text/plain; charset=utf-8", b"collecting metrics failed\n")
                return
            self._send(200, content_type, body)
        elif path == "/":
            index = f'<a href="{SD_PATH}">{SD_PATH}</a> <a href="/metrics">/metrics</a>\n'
            self._send(200, "text/html; charset=utf-8", index.encode())
        else:
            self._send(404, "text/plain; charset=utf-8", b"not found\n")

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        logger.debug("%s %s", self.address_string(), format % args)


class DiscoveryServer:
    """Serves ``/sd`` for `directory` and ``/metrics`` for `registry` on `host`:`port`.

    Parameters
    ----------
    directory:
        The endpoints to list; the runtime adds and removes processes as they come and go.
    registry:
        The driver's own metrics.
    host, port:
        Where to listen (``metrics.host`` / ``metrics.port``; port 0 picks a free one).
    process, advertise_host:
        When `process` is set (default ``"driver"``), the server lists its own ``/metrics``
        under that name with role ``driver``, at `advertise_host` (default: `host`; required
        when `host` is a wildcard such as ``0.0.0.0``).
    """

    def __init__(
        self,
        directory: TargetDirectory,
        registry: CollectorRegistry,
        *,
        host: str = "127.0.0.1",
        port: int = 9464,
        process: str | None = "driver",
        advertise_host: str | None = None,
    ) -> None:
        self.directory = directory
        self.registry = registry
        self.host = host
        self.port = port
        self.process = process
        self.advertise_host = advertise_host
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> tuple[str, int]:
        """Bind and serve on a daemon thread; returns the bound (host, port).

        Raises
        ------
        OSError
            When the address cannot be bound (say which setting to change).
        RuntimeError
            When already started.
        """
        if self._httpd is not None:
            raise RuntimeError("The discovery server is already running.")
        advertise = self.advertise_host or self.host
        if self.process and advertise in WILDCARDS:
            raise ValueError(
                f"metrics.host is {self.host!r}; pass advertise_host (an address Prometheus "
                "can reach) so the driver can list its own endpoint."
            )
        try:
            httpd = _Server((self.host, self.port), _Handler)
        except OSError as e:
            raise OSError(
                e.errno,
                f"Cannot serve service discovery on {self.host}:{self.port}: "
                f"{e.strerror or e}; set metrics.host / metrics.port (port 0 picks a free one).",
            ) from None
        httpd.directory, httpd.registry = self.directory, self.registry
        self.port = httpd.server_address[1]
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, args=(POLL_S,), name="guildmind-sd", daemon=True
        )
        self._thread.start()
        if self.process:
            self.directory.add(self.process, _join(advertise, self.port), role="driver")
        return self.host, self.port

    @property
    def url(self) -> str:
        """The ``/sd`` URL (for ``http_sd_configs``)."""
        return f"http://{_join(self.advertise_host or self.host, self.port)}{SD_PATH}"

    def close(self) -> None:
        """Stop serving, release the socket and unlist the driver (idempotent)."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self.process:
            self.directory.remove(self.process, _join(self.advertise_host or self.host, self.port))

    def __enter__(self) -> DiscoveryServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _join(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
