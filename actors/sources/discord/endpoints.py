"""Point discord.py at another Discord: the emulator, a REST proxy, or a gateway proxy.

How it works (discord.py 2.7.1; read ``discord/http.py`` and ``discord/gateway.py``):

- REST: every request goes through ``discord.http.Route``, which builds its URL from the
  class attribute ``Route.BASE`` when the route is created. Setting ``Route.BASE`` moves
  every REST call, interaction callbacks and webhooks included (``discord.webhook`` imports
  the same ``Route``). discord.py offers no per-client base URL. Its private
  ``_set_api_version()`` rewrites ``Route.BASE`` too, so call this function after it.
- Gateway: a plain ``discord.Client`` does **not** ask ``GET /gateway/bot`` for the URL. It
  connects to the class attribute ``DiscordWebSocket.DEFAULT_GATEWAY`` (a ``yarl.URL``), and
  it falls back to that URL after a non-resumable INVALID_SESSION. ``AutoShardedClient``
  asks ``/gateway/bot`` (so it follows ``Route.BASE``) unless ``shard_count`` is given, in
  which case it also uses ``DEFAULT_GATEWAY``. So setting ``DEFAULT_GATEWAY`` is needed
  and, with ``Route.BASE``, enough. RESUME goes to the ``resume_gateway_url`` of READY,
  as on Discord: a gateway proxy must rewrite that field if resumes must pass through it.

Both are class attributes, so the setting is process-wide: it applies to every client in
the process, including clients created before the call (for routes built afterwards). Call
it before ``Client.start()``/``login()``. :func:`reset_discord_endpoints` restores the
defaults. The library's own ``?v=10&encoding=json&compress=...`` query is added to the
gateway URL by discord.py; do not put a query string in it.
"""

from __future__ import annotations

import logging
import os

import msgspec
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

_log = logging.getLogger(__name__)

API_BASE_ENV = "DISCORD_API_BASE"
GATEWAY_URL_ENV = "DISCORD_GATEWAY_URL"
DEFAULT_API_BASE: str = Route.BASE
DEFAULT_GATEWAY_URL: str = str(DiscordWebSocket.DEFAULT_GATEWAY)


class DiscordEndpoints(msgspec.Struct, frozen=True):
    """The REST base and gateway URL discord.py uses after configuration."""

    api_base: str
    gateway_url: str


def configure_discord_endpoints(
    api_base: str | None = None, gateway_url: str | None = None
) -> DiscordEndpoints:
    """Point discord.py's REST calls and gateway connection at the given URLs.

    Parameters
    ----------
    api_base:
        REST base including the version, like ``http://127.0.0.1:8080/api/v10``. When None,
        ``$DISCORD_API_BASE`` is used; when that is unset too, the REST base is left as is.
    gateway_url:
        Gateway websocket URL, like ``ws://127.0.0.1:8080/``. When None,
        ``$DISCORD_GATEWAY_URL`` is used; when that is unset too, it is left as is.

    Returns
    -------
    DiscordEndpoints
        The URLs now in effect.

    Raises
    ------
    ValueError
        If a URL has the wrong scheme, no host, or (gateway) a query string.
    """
    api_base = api_base if api_base is not None else os.environ.get(API_BASE_ENV) or None
    gateway_url = (
        gateway_url if gateway_url is not None else os.environ.get(GATEWAY_URL_ENV) or None
    )
    if api_base is not None:
        Route.BASE = _checked(api_base, ("http", "https"), "API base", API_BASE_ENV).rstrip("/")
    if gateway_url is not None:
        url = _checked(gateway_url, ("ws", "wss"), "gateway URL", GATEWAY_URL_ENV)
        if yarl.URL(url).query_string:
            raise ValueError(
                f"The gateway URL {gateway_url!r} has a query string; discord.py adds its own "
                f"(v, encoding, compress). Give the URL without one, like 'ws://127.0.0.1:8080/'."
            )
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)
    current = DiscordEndpoints(Route.BASE, str(DiscordWebSocket.DEFAULT_GATEWAY))
    _log.info("discord.py endpoints: REST %s, gateway %s.", current.api_base, current.gateway_url)
    return current


def reset_discord_endpoints() -> DiscordEndpoints:
    """Restore discord.py's own Discord URLs (as they were when this module was imported)."""
    Route.BASE = DEFAULT_API_BASE
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(DEFAULT_GATEWAY_URL)
    return DiscordEndpoints(DEFAULT_API_BASE, DEFAULT_GATEWAY_URL)


def _checked(url: str, schemes: tuple[str, ...], what: str, env: str) -> str:
    parsed = yarl.URL(url)
    if parsed.scheme not in schemes or not parsed.host:
        raise ValueError(
            f"The Discord {what} {url!r} (argument or ${env}) must be an absolute "
            f"{' or '.join(s + '://' for s in schemes)} URL with a host."
        )
    return url
