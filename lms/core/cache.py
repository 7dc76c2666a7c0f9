"""The shared cache on Redis, used as a cache: a server that cannot be reached is a miss, never an error.

Every signed-in request reads the cache (the user's snapshot, their scopes, a dashboard's generations and page:
ADR 27), so with cachelib's Redis backend, which lets the client's errors through, a Redis restart turned every
page into a 500 — pages that have nothing to cache included. Here a read that fails is a miss (the caller goes to
the database, as on a cold cache) and a write that fails is not made; both are logged. What may be stale after
such a failure is bounded by the entries' lifetimes: a failed *generation bump* (an invalidation after a commit)
leaves a user's snapshot standing for ``USER_CACHE_SECONDS`` at most, a dashboard until the next bump of its
figures or the page's lifetime — so it is logged as an error, with the generations it could not replace.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from flask_caching.backends.rediscache import RedisCache
from redis.exceptions import RedisError

log = logging.getLogger(__name__)


class TolerantRedisCache(RedisCache):
    """``RedisCache`` whose reads miss and whose writes are skipped while the server cannot be reached."""

    def _failed(self, operation: str, keys: Any, error: RedisError) -> None:
        level = logging.ERROR if operation in {"set_many", "delete_many"} else logging.WARNING
        log.log(level, "cache: %s of %s failed (%s): served from the database", operation, keys, error)

    def get(self, key: str) -> Any:
        try:
            return super().get(key)
        except RedisError as error:
            self._failed("get", key, error)
            return None

    def get_many(self, *keys: str) -> list[Any]:
        try:
            return list(super().get_many(*keys))
        except RedisError as error:
            self._failed("get_many", keys, error)
            return [None] * len(keys)

    def has(self, key: str) -> bool:
        try:
            return bool(super().has(key))
        except RedisError as error:
            self._failed("has", key, error)
            return False

    def set(self, key: str, value: Any, timeout: int | timedelta | None = None) -> bool:
        try:
            return bool(super().set(key, value, timeout=timeout))
        except RedisError as error:
            self._failed("set", key, error)
            return False

    def add(self, key: str, value: Any, timeout: int | timedelta | None = None) -> bool:
        try:
            return bool(super().add(key, value, timeout=timeout))
        except RedisError as error:
            self._failed("add", key, error)
            return False

    def set_many(self, mapping: dict[str, Any], timeout: int | timedelta | None = None) -> list[Any]:
        try:
            return list(super().set_many(mapping, timeout=timeout))
        except RedisError as error:
            self._failed("set_many", sorted(mapping), error)
            return []

    def delete(self, key: str) -> bool:
        try:
            return bool(super().delete(key))
        except RedisError as error:
            self._failed("delete", key, error)
            return False

    def delete_many(self, *keys: str) -> list[Any]:
        try:
            return list(super().delete_many(*keys))
        except RedisError as error:
            self._failed("delete_many", keys, error)
            return []
