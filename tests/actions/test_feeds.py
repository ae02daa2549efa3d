"""share_tweet's posts: RSS and Atom feeds over HTTP, files, and the shipped list."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from actions import Post, PostSource
from actions.feeds import default_posts, load_posts_file, parse_feed

RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<item><title>RSS one</title><link>https://example.org/1</link></item>
<item><title>RSS two</title><link>https://example.org/2</link></item>
</channel></rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>a</title>
<entry><title>Atom one</title><link rel="alternate" href="https://example.org/a1"/></entry>
</feed>"""


def test_parse_rss_and_atom() -> None:
    assert parse_feed(RSS) == [
        Post("RSS one", "https://example.org/1"),
        Post("RSS two", "https://example.org/2"),
    ]
    assert parse_feed(ATOM) == [Post("Atom one", "https://example.org/a1")]
    with pytest.raises(ValueError, match="not an XML feed"):
        parse_feed(b"{json}")
    with pytest.raises(ValueError, match="not an RSS or Atom feed"):
        parse_feed(b"<html></html>")


def test_files_and_default_list(tmp_path: Path) -> None:
    toml = tmp_path / "p.toml"
    toml.write_text('[[posts]]\ntitle = "T"\nurl = "https://t"\n', encoding="utf-8")
    assert load_posts_file(toml) == [Post("T", "https://t")]
    assert len(default_posts()) >= 5


@pytest.fixture
async def feed_url() -> AsyncIterator[str]:
    async def rss(_: web.Request) -> web.Response:
        return web.Response(body=RSS, content_type="application/rss+xml")

    async def atom(_: web.Request) -> web.Response:
        return web.Response(body=ATOM, content_type="application/atom+xml")

    async def broken(_: web.Request) -> web.Response:
        return web.Response(status=503)

    app = web.Application()
    app.router.add_get("/rss", rss)
    app.router.add_get("/atom", atom)
    app.router.add_get("/broken", broken)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def test_post_source_fetches_feeds_and_skips_broken(feed_url: str) -> None:
    src = PostSource([f"{feed_url}/rss", f"{feed_url}/broken", f"{feed_url}/atom"])
    posts = await src.posts(now=0.0)
    assert [p.title for p in posts] == ["RSS one", "RSS two", "Atom one"]
    assert src.errors == [f"{feed_url}/broken: HTTP 503"]
    rng = random.Random(0)
    picked = [(await src.pick(1.0, rng)).title for _ in range(3)]
    assert sorted(picked) == ["Atom one", "RSS one", "RSS two"]  # no repeats while fresh ones


async def test_post_source_falls_back_to_shipped_list() -> None:
    src = PostSource(["http://127.0.0.1:9/nothing"], timeout_s=0.2)
    assert await src.posts(now=0.0) == default_posts()
    assert len(src.errors) == 1
