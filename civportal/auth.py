"""Login lockout responses (django-axes), for pages and for the API."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _


def lockout_message() -> str:
    from django.conf import settings

    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return _(
        "Too many failed login attempts for this account from your address. "
        "Try again in %(minutes)d minutes."
    ) % {"minutes": minutes}


def lockout_seconds() -> int:
    from django.conf import settings

    return int(settings.AXES_COOLOFF_TIME.total_seconds())


def lockout_response(request: HttpRequest, response=None, credentials=None) -> HttpResponse:
    if request.path.startswith("/api/"):
        answer = JsonResponse({"code": "locked_out", "detail": lockout_message()}, status=429,
                              json_dumps_params={"ensure_ascii": False})
    else:
        answer = render(request, "registration/locked_out.html", {"message": lockout_message()}, status=429)
    answer["Retry-After"] = str(lockout_seconds())
    return answer


def throttled_login(view):
    """Wrap the login page: sign-in attempts (POST) per address over
    ``LOGIN_RATE_PER_MINUTE`` get the lockout page with 429 and Retry-After."""
    from functools import wraps

    from civportal.api.throttling import LoginRateThrottle

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.method == "POST":
            throttle = LoginRateThrottle()
            if not throttle.allow_request(request, None):
                from civportal.api.exceptions import throttled_message

                wait = throttle.wait()
                answer = render(request, "registration/locked_out.html", {"message": throttled_message(wait)},
                                status=429)
                answer["Retry-After"] = str(max(1, int((wait or 60) + 0.999)))
                return answer
        return view(request, *args, **kwargs)

    return wrapped
