"""Django's Redis cache, with fewer trips to Redis.

Two changes to `django.core.cache.backends.redis.RedisCache`, for the calls every page makes
(the kept copies' version, the rate limits, the staff case page's access log):

- Django builds a new Redis client object for every call: the client's table of reply
  callbacks, several hundred entries, filled each time, takes as long as the round trip
  itself. Here one client is kept per connection pool, for the life of the process. A
  redis-py client is safe to share between threads (each command takes a connection from
  the pool), and the pool opens new connections in a forked child.
- `count` counts attempts under several keys in one round trip (a MULTI/EXEC of SET NX EX
  and INCR per key), where `add` and `incr` make three (`incr` asks whether the key exists
  first). Inside the transaction no key can expire between its creation and its count, so
  a counter never outlives its window.
"""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


class _Client(RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = self._client(connection_pool=self._get_connection_pool(write))
        return client

    def count(self, keys: list[tuple[str, int]]) -> list[int]:
        pipeline = self.get_client(None, write=True).pipeline(transaction=True)
        for key, timeout in keys:
            pipeline.set(key, 0, ex=timeout, nx=True)
            pipeline.incr(key)
        replies = pipeline.execute()
        return [int(count) for count in replies[1::2]]


class RedisCache(DjangoRedisCache):
    """`django.core.cache.backends.redis.RedisCache`, its clients kept, with `count`."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = _Client

    def count(self, keys: list[tuple[str, int]]) -> list[int]:
        """Count one attempt under each (key, timeout): a key that is not there starts at 0
        and lasts `timeout` seconds. The counts, in the order of the keys; one round trip."""
        return self._cache.count([(self.make_and_validate_key(key), timeout) for key, timeout in keys])
