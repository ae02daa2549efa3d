"""Posts for `share_tweet`: from RSS/Atom feeds, a local file, or the small shipped list.

A `PostSource` is a long-lived port (put it on ``ctx.posts``): it fetches feeds with aiohttp, keeps
the posts in memory and refreshes them after `refresh_s` seconds of context time. A feed that fails
is logged (its URL and the reason) and skipped; with nothing fetched, the local file or the shipped
list is used.
"""

from __future__ import annotations

import logging
import tomllib
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from random import Random

import aiohttp
import msgspec

logger = logging.getLogger(__name__)

MAX_FEED_BYTES = 1 << 20
"""Feeds larger than this are refused."""

_ATOM = "{http://www.w3.org/2005/Atom}"


class Post(msgspec.Struct, frozen=True):
    """One shareable post."""

    title: str
    url: str = ""

    def render(self) -> str:
        """``title url`` as it goes into a message."""
        return f"{self.title} {self.url}".strip()


def parse_feed(data: bytes | str) -> list[Post]:
    """Posts of an RSS 2.0 or Atom document; raises ValueError for anything else."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as e:
        raise ValueError(f"not an XML feed: {e}") from e
    posts: list[Post] = []
    if root.tag == "rss" or root.find("channel") is not None:
        for item in root.iter("item"):
            title = (item.findtext("title") or "").strip()
            link = (item.findtext("link") or "").strip()
            if title:
                posts.append(Post(title, link))
    elif root.tag == f"{_ATOM}feed":
        for entry in root.iter(f"{_ATOM}entry"):
            title = (entry.findtext(f"{_ATOM}title") or "").strip()
            link_el = entry.find(f"{_ATOM}link[@rel='alternate']")
            if link_el is None:
                link_el = entry.find(f"{_ATOM}link")
            link = (link_el.get("href", "") if link_el is not None else "").strip()
            if title:
                posts.append(Post(title, link))
    else:
        raise ValueError(f"not an RSS or Atom feed (root element {root.tag!r})")
    return posts


def load_posts_file(path: str | Path) -> list[Post]:
    """Posts from a TOML file (``[[posts]] title/url``) or a text file (``title | url`` lines)."""
    p = Path(path)
    text = p.read_text(encoding="utf-8")
    if p.suffix == ".toml":
        return msgspec.convert(tomllib.loads(text).get("posts", []), list[Post])
    posts = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            title, _, url = line.partition("|")
            posts.append(Post(title.strip(), url.strip()))
    return posts


def default_posts() -> list[Post]:
    """The small list shipped in ``actions/posts.toml``."""
    text = resources.files("actions").joinpath("posts.toml").read_text(encoding="utf-8")
    return msgspec.convert(tomllib.loads(text)["posts"], list[Post])


async def fetch_feed(session: aiohttp.ClientSession, url: str, timeout_s: float) -> list[Post]:
    """Download and parse one feed."""
    async with session.get(url, timeout=aiohttp.ClientTimeout(total=timeout_s)) as resp:
        if resp.status != 200:
            raise ValueError(f"HTTP {resp.status}")
        data = await resp.content.read(MAX_FEED_BYTES + 1)
    if len(data) > MAX_FEED_BYTES:
        raise ValueError(f"feed larger than {MAX_FEED_BYTES} bytes")
    return parse_feed(data)


class PostSource:
    """Where `share_tweet` gets posts.

    Parameters
    ----------
    feeds:
        RSS/Atom URLs, fetched on first use and every `refresh_s` seconds (context time).
    file:
        A local posts file (TOML or ``title | url`` lines), used with or without feeds.
    timeout_s:
        Per-feed download timeout.
    recent:
        How many recently shared posts to avoid repeating.
    """

    def __init__(
        self,
        feeds: Sequence[str] = (),
        file: str | Path | None = None,
        *,
        refresh_s: float = 3600.0,
        timeout_s: float = 5.0,
        recent: int = 5,
    ) -> None:
        self.feeds = list(feeds)
        self.file = file
        self.refresh_s = refresh_s
        self.timeout_s = timeout_s
        self._feed_posts: list[Post] = []
        self._fetched_at: float | None = None
        self._recent: list[str] = []
        self._recent_max = recent
        self.errors: list[str] = []
        """The last refresh's failures, as "url: reason" lines."""

    async def refresh(self, now: float) -> None:
        """Fetch every feed now; failures are logged and kept in `errors`."""
        self._fetched_at = now
        self.errors = []
        posts: list[Post] = []
        if self.feeds:
            async with aiohttp.ClientSession() as session:
                for url in self.feeds:
                    try:
                        posts += await fetch_feed(session, url, self.timeout_s)
                    except Exception as e:
                        reason = str(e) or type(e).__name__
                        self.errors.append(f"{url}: {reason}")
                        logger.warning("feed %s skipped: %s", url, reason)
        self._feed_posts = posts

    async def posts(self, now: float) -> list[Post]:
        """Every post available now (feeds, then the file, else the shipped list)."""
        if self.feeds and (self._fetched_at is None or now - self._fetched_at >= self.refresh_s):
            await self.refresh(now)
        found = list(self._feed_posts)
        if self.file is not None:
            try:
                found += load_posts_file(self.file)
            except (OSError, ValueError, msgspec.ValidationError) as e:
                logger.warning("posts file %s skipped: %s", self.file, e)
        return found or default_posts()

    async def pick(self, now: float, rng: Random) -> Post:
        """One post, avoiding the recently shared ones when possible."""
        posts = await self.posts(now)
        fresh = [p for p in posts if p.url not in self._recent and p.title not in self._recent]
        post = rng.choice(fresh or posts)
        self._recent.append(post.url or post.title)
        del self._recent[: -self._recent_max]
        return post
