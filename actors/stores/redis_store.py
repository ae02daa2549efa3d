"""The Redis state store: a key per guild (``PREFIX + "guild:" + id``), MSET to save, MGET to load;
a gateway shard's session under ``PREFIX + "session:" + shard id``.

One key per guild keeps the door open to Redis Cluster (keys spread over slots by guild); MSET
saves a batch atomically on a single server. Every call has socket timeouts and at most one quick
retry, so an unreachable server is a prompt `StoreError`, never a hang.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis
from redis.backoff import ConstantBackoff
from redis.retry import Retry

from actors.stores.base import (
    StoreError,
    check_ids,
    check_items,
    check_sessions,
    check_shards,
    mask_url,
)

DEFAULT_PREFIX = "guildmind:"
_TOKENS_TTL_S = 8 * 86400  # a day's LLM token count outlives its day by a week, then goes
# KEYS[1]: the day's count; ARGV: tokens to add (may be negative), the limit (-1: none), the TTL.
# A script runs atomically on the server: no other client's add comes between check and add.
_ADD_TOKENS = """
local now = tonumber(redis.call('GET', KEYS[1]) or '0')
local n, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
if limit >= 0 and now + n > limit then return 0 end
local after = now + n
if after < 0 then after = 0 end
redis.call('SET', KEYS[1], after, 'EX', tonumber(ARGV[3]))
return 1
"""
_CHUNK = 1000  # keys per MGET / MSET / DEL
_GLOB = str.maketrans({c: "\\" + c for c in "*?[]\\"})


class RedisStore:
    """Guild snapshots in Redis, one key per guild.

    Parameters
    ----------
    url:
        ``redis://[[USER]:PASSWORD@]HOST[:PORT][/DB][?prefix=KEYPREFIX]`` or ``rediss://…`` (TLS).
    password:
        Used when the URL carries none (pass it from the environment, not the config file).
    connect_timeout_s, timeout_s:
        Socket timeouts for connecting and for each command.

    Raises
    ------
    ValueError
        For a malformed URL (named, password masked).
    StoreError
        When the server does not answer a PING.
    """

    def __init__(
        self,
        url: str,
        *,
        password: str | None = None,
        connect_timeout_s: float = 1.0,
        timeout_s: float = 5.0,
    ) -> None:
        self.url = mask_url(url)
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
        self.prefix = DEFAULT_PREFIX
        rest = []
        for key, value in query:
            if key == "prefix":
                self.prefix = value
            else:
                rest.append((key, value))
        client_url = urlunsplit(parts._replace(query=urlencode(rest)))
        options: dict[str, object] = {
            "socket_connect_timeout": connect_timeout_s,
            "socket_timeout": timeout_s,
            "retry": Retry(ConstantBackoff(0.05), 1),
            "client_name": "guildmind",
        }
        if password is not None and not parts.password:
            options["password"] = password
        self._lock = threading.Lock()
        try:
            self._client: redis.Redis | None = redis.Redis.from_url(client_url, **options)
        except (ValueError, TypeError) as e:
            raise ValueError(f"store URL {self.url!r} is not a valid Redis URL: {e}") from None
        try:
            self._client.ping()
        except redis.RedisError as e:
            self.close()
            raise StoreError(f"cannot reach the Redis store {self.url!r}: {e}") from e

    def _key(self, gid: int) -> str:
        return f"{self.prefix}guild:{gid}"

    def _redis(self) -> redis.Redis:
        if self._client is None:
            raise StoreError(f"the Redis store {self.url!r} is closed")
        return self._client

    def load(self, guild_ids: Iterable[int]) -> dict[int, bytes]:
        ids = check_ids(guild_ids)
        found: dict[int, bytes] = {}
        client = self._redis()
        try:
            for i in range(0, len(ids), _CHUNK):
                chunk = ids[i : i + _CHUNK]
                values = client.mget([self._key(gid) for gid in chunk])
                found.update(
                    (gid, v) for gid, v in zip(chunk, values, strict=True) if v is not None
                )
        except redis.RedisError as e:
            raise StoreError(f"reading {len(ids)} guilds from {self.url!r} failed: {e}") from e
        return found

    def save(self, items: Mapping[int, bytes]) -> None:
        data = check_items(items)
        if not data:
            return
        client = self._redis()
        mapping = {self._key(gid): value for gid, value in data.items()}
        try:
            if len(mapping) <= _CHUNK:
                client.mset(mapping)  # one command: atomic
            else:  # one MULTI/EXEC transaction of several MSETs: still all or none
                keys = list(mapping)
                with client.pipeline(transaction=True) as pipe:
                    for i in range(0, len(keys), _CHUNK):
                        pipe.mset({k: mapping[k] for k in keys[i : i + _CHUNK]})
                    pipe.execute()
        except redis.RedisError as e:
            raise StoreError(f"saving {len(data)} guilds to {self.url!r} failed: {e}") from e

    def delete(self, guild_ids: Iterable[int]) -> None:
        ids = check_ids(guild_ids)
        client = self._redis()
        try:
            for i in range(0, len(ids), _CHUNK):
                client.delete(*[self._key(gid) for gid in ids[i : i + _CHUNK]])
        except redis.RedisError as e:
            raise StoreError(f"deleting {len(ids)} guilds from {self.url!r} failed: {e}") from e

    def add_tokens(self, day: int, tokens: int, limit: int | None = None) -> bool:
        """Add `tokens` (negative: give back; the count stays ≥ 0) to UTC `day`'s LLM token
        count (key ``PREFIX + "llm_tokens:" + day``) if it stays ≤ `limit` (None: always);
        whether it did. A server-side script: atomic for every host (`actions.GlobalLedger`)."""
        key = f"{self.prefix}llm_tokens:{day}"
        args = (tokens, -1 if limit is None else limit, _TOKENS_TTL_S)
        try:
            return bool(self._redis().eval(_ADD_TOKENS, 1, key, *args))
        except redis.RedisError as e:
            raise StoreError(f"counting LLM tokens in {self.url!r} failed: {e}") from e

    def tokens(self, day: int) -> int:
        """UTC `day`'s LLM token count (0: none yet)."""
        try:
            value = self._redis().get(f"{self.prefix}llm_tokens:{day}")
        except redis.RedisError as e:
            raise StoreError(f"reading LLM tokens from {self.url!r} failed: {e}") from e
        return int(value) if value is not None else 0

    def guild_ids(self) -> Iterator[int]:
        client = self._redis()
        head = f"{self.prefix}guild:"
        pattern = head.translate(_GLOB) + "*"
        try:
            keys = list(client.scan_iter(match=pattern, count=1000))
        except redis.RedisError as e:
            raise StoreError(f"listing the guilds in {self.url!r} failed: {e}") from e
        ids = []
        for key in keys:
            tail = key.decode()[len(head) :]
            if tail.isdigit():
                ids.append(int(tail))
        return iter(ids)

    def _session_key(self, sid: int) -> str:
        return f"{self.prefix}session:{sid}"

    def load_sessions(self, shard_ids: Iterable[int]) -> dict[int, bytes]:
        ids = check_shards(shard_ids)
        if not ids:
            return {}
        try:
            values = self._redis().mget([self._session_key(sid) for sid in ids])
        except redis.RedisError as e:
            raise StoreError(f"reading {len(ids)} sessions from {self.url!r} failed: {e}") from e
        return {sid: v for sid, v in zip(ids, values, strict=True) if v is not None}

    def save_sessions(self, items: Mapping[int, bytes]) -> None:
        data = check_sessions(items)
        if not data:
            return
        try:  # one MSET: atomic (a bot has at most a few thousand shards)
            self._redis().mset({self._session_key(sid): v for sid, v in data.items()})
        except redis.RedisError as e:
            raise StoreError(f"saving {len(data)} sessions to {self.url!r} failed: {e}") from e

    def delete_sessions(self, shard_ids: Iterable[int]) -> None:
        ids = check_shards(shard_ids)
        if not ids:
            return
        try:
            self._redis().delete(*[self._session_key(sid) for sid in ids])
        except redis.RedisError as e:
            raise StoreError(f"deleting {len(ids)} sessions from {self.url!r} failed: {e}") from e

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    def __enter__(self) -> RedisStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RedisStore({self.url!r})"
