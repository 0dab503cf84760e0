from csp import middleware as _csp_middleware
from csp.constants import HEADER as _CSP_HEADER
from csp.constants import HEADER_REPORT_ONLY as _CSP_HEADER_RO
from csp.utils import build_policy as _csp_build_policy
from django.conf import settings
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


class CSPMiddleware(_csp_middleware.CSPMiddleware):
    """django-csp's middleware, with the policy string built once per process for the common
    case: a response without per-view changes (``csp_update`` and friends) for a request that
    used no nonce. django-csp rebuilds both headers from the settings on every response
    (≈ 0.5 ms each); the string only depends on the settings dict, so it is kept per dict
    object (a test's override gives another object, and another string). Anything else goes
    through django-csp unchanged."""

    _PER_RESPONSE = ("_csp_config", "_csp_update", "_csp_replace", "_csp_config_ro", "_csp_update_ro",
                     "_csp_replace_ro")

    def __init__(self, get_response):
        super().__init__(get_response)
        self._built: dict[tuple[int, bool], tuple[object, str]] = {}

    def _policy(self, report_only: bool) -> str:
        name = "CONTENT_SECURITY_POLICY_REPORT_ONLY" if report_only else "CONTENT_SECURITY_POLICY"
        config = getattr(settings, name, None)
        built = self._built.get((id(config), report_only))
        if built is None or built[0] is not config:
            built = (config, _csp_build_policy(report_only=report_only))
            self._built[(id(config), report_only)] = built
        return built[1]

    def process_response(self, request, response):
        if (getattr(request, "_csp_nonce", None) is not None
                or any(getattr(response, attr, None) is not None for attr in self._PER_RESPONSE)):
            return super().process_response(request, response)
        if response.status_code in (500, 404) and settings.DEBUG:
            return response
        for report_only, header, exempt in ((False, _CSP_HEADER, "_csp_exempt"),
                                            (True, _CSP_HEADER_RO, "_csp_exempt_ro")):
            policy = self._policy(report_only)
            if not policy or header in response or getattr(response, exempt, False) is not False:
                continue
            config = getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY" if report_only
                             else "CONTENT_SECURITY_POLICY", None) or {}
            if not request.path_info.startswith(tuple(config.get("EXCLUDE_URL_PREFIXES", None) or ())):
                response[header] = policy
        request.csp_nonce = _csp_middleware.CheckableLazyObject(self._csp_nonce_post_response)
        return response
