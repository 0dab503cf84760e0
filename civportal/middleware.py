from django.http import HttpResponseBadRequest, JsonResponse
from django.utils.translation import gettext as _


class RejectNulBytesMiddleware:
    """A NUL byte in the query string can never be valid input and PostgreSQL
    refuses it in text; answer 400 here instead of failing deeper (forms and
    serializers already refuse it in bodies)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if any("\x00" in key or any("\x00" in v for v in values) for key, values in request.GET.lists()):
            message = _("The request contains a NUL character, which is not allowed.")
            from civportal.errors import prefix_error

            if (response := prefix_error(request.path, 400, message)) is not None:
                return response
            if request.path.startswith("/api/"):
                return JsonResponse({"code": "invalid", "detail": message}, status=400)
            return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


class ChineseByDefaultMiddleware:
    """Pages are Chinese unless the user picked another language with the
    switch (the language cookie): an office PC or phone with an English
    browser still gets the office's language. API clients keep
    Accept-Language, so an integrator can ask for English error messages.
    Sits just before LocaleMiddleware."""

    NEGOTIATED_PREFIXES = ("/api/", "/open311/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(self.NEGOTIATED_PREFIXES):
            request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        return self.get_response(request)
