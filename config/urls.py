"""`mask_url()`: a store URL fit to print (passwords hidden); every message naming a URL uses it."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_SECRET_PARAMS = {"password", "pass", "passwd", "secret", "token", "ssl_password"}


def mask_url(url: str) -> str:
    """`url` with any password (in the user info or the query) replaced by ``***``; `url`
    itself, character for character, when it holds none (so ``mask_url(url) != url`` says that
    it holds one: ``sqlite:///x.db`` is not rewritten to ``sqlite:/x.db``)."""
    try:
        parts = urlsplit(url)
        netloc, secret = parts.netloc, False
        if "@" in netloc:
            userinfo, _, hostport = netloc.rpartition("@")
            user, colon, _ = userinfo.partition(":")
            netloc, secret = (f"{user}:***@{hostport}", True) if colon else (netloc, secret)
        query = parts.query
        if query:
            pairs = parse_qsl(query, keep_blank_values=True)
            if any(k.lower() in _SECRET_PARAMS for k, _ in pairs):
                secret = True
                query = urlencode(
                    [(k, "***" if k.lower() in _SECRET_PARAMS else v) for k, v in pairs], safe="*:"
                )
        if not secret:
            return url
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    except ValueError:  # unparseable (a bad port, say): show only the scheme
        return url.partition(":")[0] + ":***"
