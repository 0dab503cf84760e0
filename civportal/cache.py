"""Django's Redis cache with one client object per connection pool.

``django.core.cache.backends.redis.RedisCacheClient.get_client`` builds a new
``redis.Redis`` for every command, and each one registers its ~170 response
callbacks: about 70 µs of CPU per cache operation, three or four times per
API request (session, rate limit, list cache). A ``redis.Redis`` on a
connection pool is thread-safe and holds no connection of its own (the pool
resets itself after a fork), so one per pool is kept and reused. Everything
else is Django's backend unchanged (``isinstance(cache, RedisCache)`` holds)."""

from __future__ import annotations

from django.core.cache.backends import redis as django_redis


class RedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = self._client(connection_pool=self._get_connection_pool(write))
        return client


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient
