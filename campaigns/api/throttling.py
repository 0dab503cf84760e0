"""Per-client rate limiting: each API key, each user and each anonymous
address gets its own budget per minute (settings ``API_RATE_PER_MINUTE``,
``API_ANON_RATE_PER_MINUTE``). Counters live in the default cache; use
Redis (``CACHE_URL``) when several processes serve the API.

The budget is DRF's sliding window (the requests of the last 60 seconds). DRF
keeps it as one pickled list of timestamps, read and written back whole on
every request: two round trips and O(budget) work each, which at a few hundred
requests per second per client is most of a cached answer's cost. On Redis the
window is a sorted set instead, trimmed, added to and counted in one pipelined
round trip (O(log n)); a refused request takes its entry back (one more round
trip, only when refusing), so refusals do not use up the budget, as in DRF.
Other caches (the database cache, the per-process one) keep DRF's list."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.cache import caches
from rest_framework.throttling import SimpleRateThrottle


def _redis_client(cache):
    """Django's RedisCacheClient of ``cache``, or None for another backend."""
    try:
        from django.core.cache.backends.redis import RedisCache
    except ImportError:  # pragma: no cover - redis not installed
        return None
    return cache._cache if isinstance(cache, RedisCache) else None


class ClientRateThrottle(SimpleRateThrottle):
    scope = "client"

    request_ident = None

    def __init__(self):
        pass  # the rate is read per request (get_rate); the cache at request time (settings may change)

    def get_rate(self):
        return None  # read per request in allow_request, so settings changes apply at once

    def allow_request(self, request, view):
        from campaigns.models import ApiClient

        if isinstance(request.auth, ApiClient):
            ident, per_minute = f"key-{request.auth.pk}", settings.API_RATE_PER_MINUTE
        elif request.user and request.user.is_authenticated:
            ident, per_minute = f"user-{request.user.pk}", settings.API_RATE_PER_MINUTE
        else:
            ident, per_minute = f"anon-{self.get_ident(request)}", settings.API_ANON_RATE_PER_MINUTE
        if per_minute <= 0:
            return True
        self.rate = f"{per_minute}/min"
        self.num_requests, self.duration = self.parse_rate(self.rate)
        self.request_ident = ident
        self.cache = caches["default"]
        redis = _redis_client(self.cache)
        if redis is None:
            return super().allow_request(request, view)
        return self._allow_on_redis(redis, self.get_cache_key(request, view))

    def _allow_on_redis(self, redis, key: str) -> bool:
        # Its own key (":z"): DRF's list under the plain key (another process during a rolling
        # deploy, or before this change) is never read as a sorted set (WRONGTYPE).
        key = self.cache.make_and_validate_key(f"{key}:z")
        self.now = now = self.timer()
        member = f"{now:.6f}:{secrets.token_hex(4)}"
        pipe = redis.get_client(key, write=True).pipeline(transaction=False)
        pipe.zremrangebyscore(key, "-inf", now - self.duration)  # DRF drops entries <= now - duration
        pipe.zadd(key, {member: now})
        pipe.zcard(key)
        pipe.zrange(key, 0, 0, withscores=True)
        pipe.expire(key, self.duration)
        _trimmed, _added, count, oldest, _ = pipe.execute()
        if count <= self.num_requests:
            return True
        redis.get_client(key, write=True).zrem(key, member)
        # Retry-After: when the oldest request in the window leaves it (at least a second).
        self._wait = max(1.0, self.duration - (now - oldest[0][1]) if oldest else self.duration)
        return False

    def wait(self):
        wait = getattr(self, "_wait", None)
        return wait if wait is not None else super().wait()

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.request_ident}
