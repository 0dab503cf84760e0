import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import connection
from django.http import HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.template import loader
from django.utils.translation import gettext as _
from django.templatetags.static import static
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from civportal.api.exceptions import is_api, json_error, too_large_message
from civportal.errors import prefix_error

logger = logging.getLogger(__name__)

BROKER_CHECK_SECONDS = 1.8  # the documented ~2 s, with room for the rest of the request


def broker_status() -> str:
    """Try one broker connection, bounded to ~2 s whether the broker refuses or
    hangs (a stopped server still accepts TCP connections); 'ok' or the error
    class name. The check runs in a helper thread so that no socket option can
    stretch the answer; a hung attempt ends on its own socket timeout."""
    import threading

    from django.conf import settings

    from civportal.celery import app

    outcome: list[str] = []

    def check():
        try:
            with app.connection_for_write(url=settings.CELERY_BROKER_URL) as conn:
                conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=BROKER_CHECK_SECONDS)
                conn.default_channel  # opens a channel: a hung broker stops answering here
            outcome.append("ok")
        except Exception as exc:  # any transport error means "down", never a 500
            logger.warning("broker check failed: %s", exc)
            outcome.append(f"error: {exc.__class__.__name__}")

    thread = threading.Thread(target=check, name="broker-check", daemon=True)
    thread.start()
    thread.join(BROKER_CHECK_SECONDS)
    if not outcome:
        logger.warning("broker check timed out after %s s", BROKER_CHECK_SECONDS)
        return "error: timeout"
    return outcome[0]


@never_cache
def healthz(request):
    """For load balancers: 200 when the database answers; broker state in the body."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        database = "ok"
    except Exception as exc:
        logger.error("database check failed: %s", exc)
        database = f"error: {exc.__class__.__name__}"
    broker = broker_status()
    status = 200 if database == "ok" else 503
    body = {"status": "ok" if status == 200 else "error", "database": database, "broker": broker}
    # Reported, not fatal: a node with a slow object store or cache still serves most pages.
    from civportal import observability
    from civportal.db_router import replica_status

    body.update(storage=observability.storage_status(), cache=observability.cache_status())
    if settings.DATABASE_REPLICAS:
        body["replicas"] = replica_status()
    return JsonResponse(body, status=status)


def favicon(request):
    """Browsers ask for /favicon.ico whatever the page says."""
    return HttpResponsePermanentRedirect(static("img/favicon.svg"))


# --- error pages: JSON under /api/, HTML everywhere else ----------------------------------------


def _error(request, *, template: str, status: int, code: str, detail, with_context: bool = True):
    if (response := prefix_error(request.path, status, str(detail))) is not None:
        return response
    if is_api(request):
        return json_error(code, str(detail), status)
    try:
        if with_context:
            return render(request, template, status=status)
        return HttpResponse(loader.get_template(template).render({}), status=status)
    except Exception:  # a broken page must not hide the original error
        logger.exception("error page %s failed", template)
        return HttpResponse(str(detail), status=status, content_type="text/plain; charset=utf-8")


def bad_request(request, exception=None):
    if isinstance(exception, RequestDataTooBig) and is_api(request):
        if (response := prefix_error(request.path, 413, too_large_message())) is not None:
            return response
        return json_error("too_large", too_large_message(), 413)
    return _error(request, template="400.html", status=400, code="bad_request", detail=_("The request is malformed."))


def permission_denied(request, exception=None):
    return _error(request, template="403.html", status=403, code="permission_denied",
                  detail=_("You do not have permission to perform this action."))


def page_not_found(request, exception=None):
    return _error(request, template="404.html", status=404, code="not_found",
                  detail=_("There is no API endpoint at this URL."))


def server_error(request):
    # No request context: the database or a context processor may be what failed.
    return _error(request, template="500.html", status=500, code="server_error", with_context=False,
                  detail=_("Something went wrong on our side. The error has been logged; please try again later."))
