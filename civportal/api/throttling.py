"""Sign-in throttling per client address (no app knowledge: the per-client API
budget, which knows API keys, lives with them in ``campaigns.api.throttling``)."""

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class AddressRateThrottle(SimpleRateThrottle):
    """A budget per client address, whatever the user; the per-minute budget is read from the
    setting named by ``rate_setting`` on every request (0 = off), so settings changes apply at once."""

    rate_setting = ""

    def get_rate(self):
        return None

    def allow_request(self, request, view):
        per_minute = getattr(settings, self.rate_setting)
        if per_minute <= 0:
            return True
        self.rate = f"{per_minute}/min"
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginRateThrottle(AddressRateThrottle):
    """Sign-in attempts per client address, whatever the username (against
    password spraying: the lockout alone is per username + address). Used by
    the token route and, through ``civportal.auth.throttled_login``, the login
    page; budget ``LOGIN_RATE_PER_MINUTE`` (0 = off)."""

    scope = "login"
    rate_setting = "LOGIN_RATE_PER_MINUTE"
