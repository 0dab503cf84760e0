from django.shortcuts import redirect
from django.urls import reverse


class ForcePasswordChangeMiddleware:
    """After a reset by a supervisor (or a new account's temporary password),
    every page redirects to the password change until the person has chosen
    their own password. The API refuses such accounts a token instead (see
    civportal.api.views.TokenLoginView)."""

    ALLOWED_PREFIXES = ("/static/", "/i18n/", "/api/", "/healthz", "/favicon.ico", "/accounts/password/", "/accounts/logout/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated and getattr(user, "must_change_password", False)
                and not request.path.startswith(self.ALLOWED_PREFIXES)):
            return redirect(f"{reverse('password_change')}?forced=1")
        return self.get_response(request)
