"""The shared cache on Redis, used as a cache: a server that cannot be reached is a miss, never an error.

Every signed-in request reads the cache (the user's snapshot, their scopes, a dashboard's generations and page:
ADR 27), so with cachelib's Redis backend, which lets the client's errors through, a Redis restart turned every
page into a 500 — pages that have nothing to cache included. Here a read that fails is a miss (the caller goes to
the database, as on a cold cache) and a write that fails is not made; both are logged. What may be stale after
such a failure is bounded by the entries' lifetimes: a failed *generation bump* (an invalidation after a commit)
leaves a user's snapshot standing for ``USER_CACHE_SECONDS`` at most, a dashboard until the next bump of its
figures or the page's lifetime — so it is logged as an error, with the generations it could not replace.

A cache that is down must not be slow either: the client gives up after half a second without retrying (redis-py
retries three times with a backoff by default: ~3.5 s per call), and after a failure the cache is not asked again
for ``RETRY_AFTER`` seconds (every call a miss at once), so a request pays the timeout at most once in that time.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

from flask import Flask
from flask_caching.backends.rediscache import RedisCache
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

log = logging.getLogger(__name__)


#: Seconds during which a cache that failed is not asked again.
RETRY_AFTER = 5.0


class TolerantRedisCache(RedisCache):
    """``RedisCache`` whose reads miss and whose writes are skipped while the server cannot be reached."""

    _down_until = 0.0  # per process: monotonic time before which every call is a miss without asking

    @classmethod
    def factory(cls, app: Flask, config: dict[str, Any], args: list[Any], kwargs: dict[str, Any]) -> RedisCache:
        # The client's defaults for a cache: short timeouts and no retry (CACHE_OPTIONS may override them).
        options = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5, "retry": Retry(NoBackoff(), 0)}
        options.update(config.get("CACHE_OPTIONS") or {})
        return super().factory(app, {**config, "CACHE_OPTIONS": options}, args, kwargs)

    def _skipped(self) -> bool:
        return time.monotonic() < self._down_until

    def _failed(self, operation: str, keys: Any, error: RedisError) -> None:
        self._down_until = time.monotonic() + RETRY_AFTER
        level = logging.ERROR if operation in {"set_many", "delete_many"} else logging.WARNING
        log.log(level, "cache: %s of %s failed (%s): served from the database", operation, keys, error)

    def get(self, key: str) -> Any:
        if self._skipped():
            return None
        try:
            return super().get(key)
        except RedisError as error:
            self._failed("get", key, error)
            return None

    def get_many(self, *keys: str) -> list[Any]:
        if self._skipped():
            return [None] * len(keys)
        try:
            return list(super().get_many(*keys))
        except RedisError as error:
            self._failed("get_many", keys, error)
            return [None] * len(keys)

    def has(self, key: str) -> bool:
        if self._skipped():
            return False
        try:
            return bool(super().has(key))
        except RedisError as error:
            self._failed("has", key, error)
            return False

    def set(self, key: str, value: Any, timeout: int | timedelta | None = None) -> bool:
        if self._skipped():
            return False
        try:
            return bool(super().set(key, value, timeout=timeout))
        except RedisError as error:
            self._failed("set", key, error)
            return False

    def add(self, key: str, value: Any, timeout: int | timedelta | None = None) -> bool:
        if self._skipped():
            return False
        try:
            return bool(super().add(key, value, timeout=timeout))
        except RedisError as error:
            self._failed("add", key, error)
            return False

    def set_many(self, mapping: dict[str, Any], timeout: int | timedelta | None = None) -> list[Any]:
        if self._skipped():
            log.error("cache: %s of %s skipped (the cache is down)", "set_many", sorted(mapping))
            return []
        try:
            return list(super().set_many(mapping, timeout=timeout))
        except RedisError as error:
            self._failed("set_many", sorted(mapping), error)
            return []

    def delete(self, key: str) -> bool:
        if self._skipped():
            return False
        try:
            return bool(super().delete(key))
        except RedisError as error:
            self._failed("delete", key, error)
            return False

    def delete_many(self, *keys: str) -> list[Any]:
        if self._skipped():
            log.error("cache: %s of %s skipped (the cache is down)", "delete_many", keys)
            return []
        try:
            return list(super().delete_many(*keys))
        except RedisError as error:
            self._failed("delete_many", keys, error)
            return []
