"""Per-client rate limiting: each API key, each user and each anonymous
address gets its own budget per minute (settings ``API_RATE_PER_MINUTE``,
``API_ANON_RATE_PER_MINUTE``). Counters live in the default cache; use
Redis (``CACHE_URL``) when several processes serve the API."""

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class ClientRateThrottle(SimpleRateThrottle):
    scope = "client"

    request_ident = None

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
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.request_ident}


class LoginRateThrottle(SimpleRateThrottle):
    """Sign-in attempts per client address, whatever the username (against
    password spraying: the lockout alone is per username + address). Used by
    the token route and, through ``civportal.auth.throttled_login``, the login
    page; budget ``LOGIN_RATE_PER_MINUTE`` (0 = off)."""

    scope = "login"

    def get_rate(self):
        return None

    def allow_request(self, request, view):
        per_minute = settings.LOGIN_RATE_PER_MINUTE
        if per_minute <= 0:
            return True
        self.rate = f"{per_minute}/min"
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
