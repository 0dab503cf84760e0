"""One JSON error format for the whole API: ``{"code": ..., "detail": ..., "errors": {...}}``.

``code`` is a stable machine code, ``detail`` a translated sentence for people,
``errors`` (validation only) the per-field messages."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler

from civportal.errors import Conflict


def exception_handler(exc, context):
    if isinstance(exc, Conflict):
        return Response({"code": "conflict", "detail": exc.message}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, (RequestDataTooBig, TooManyFieldsSent)):
        return Response({"code": "too_large", "detail": too_large_message()}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, SuspiciousOperation):
        return Response({"code": "bad_request", "detail": _("The request is malformed.")}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, exceptions.Throttled):
        exc.detail = exceptions.ErrorDetail(throttled_message(exc.wait), code="throttled")
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(detail=as_serializer_error(exc))
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(detail=str(exc) or None)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = response.data if isinstance(response.data, dict) else {"non_field_errors": response.data}
        response.data = {"code": "invalid", "detail": _("The request has invalid data."), "errors": errors}
    else:
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else response.data
        code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
        response.data = {"code": code, "detail": str(detail)}
    return response


def throttled_message(wait) -> str:
    if wait is None:
        return _("Too many requests: please slow down.")
    seconds = max(1, int(wait + 0.999))
    return ngettext(
        "Too many requests: try again in %(seconds)d second.",
        "Too many requests: try again in %(seconds)d seconds.",
        seconds,
    ) % {"seconds": seconds}


def too_large_message() -> str:
    return _("The request is too large.")


# --- Django-level errors under /api/ (unknown URLs, errors outside DRF views) -------------------

API_PREFIXES = ("/api/", "/open311/")


def is_api(request) -> bool:
    return request.path.startswith(API_PREFIXES)


def json_error(code: str, detail: str, status_code: int) -> JsonResponse:
    return JsonResponse({"code": code, "detail": detail}, status=status_code, json_dumps_params={"ensure_ascii": False})


@csrf_exempt  # any method: a POST to a wrong URL is a 404, not the HTML CSRF page
def api_not_found(request, *args, **kwargs):
    """Any /api/ URL that names no endpoint (a missing final slash gets a hint)."""
    from django.urls import Resolver404, resolve

    if not request.path.endswith("/"):
        try:
            match = resolve(request.path + "/")
        except Resolver404:
            match = None
        if match is not None and match.func is not api_not_found:
            return json_error("not_found", _("There is no API endpoint at this URL; API URLs end with a slash: %(url)s")
                              % {"url": request.path + "/"}, 404)
    return json_error("not_found", _("There is no API endpoint at this URL."), 404)
