import logging

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist, RequestDataTooBig
from django.db import connection
from django.http import HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.template import loader
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.templatetags.static import static
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache

from campaigns.models import Membership
from campaigns.scope import user_roles
from civportal.api.exceptions import is_api, json_error, too_large_message

logger = logging.getLogger(__name__)

# Rows shown under each section of the home workbench.
HOME_ROWS = 3
SECTION_TITLES = {
    "due_today": gettext_lazy("Due today"),
    "overdue": gettext_lazy("Overdue"),
    "returned": gettext_lazy("Returned for rework"),
    "awaiting": gettext_lazy("Awaiting acceptance"),
    "extension": gettext_lazy("Extension pending"),
    "submitted": gettext_lazy("Submitted, awaiting verification"),
}


@login_required
def home(request):
    # Supervisors start on their dashboard. Heads and assigned leaders answer for
    # tasks too: they start on the workbench, their unit's dashboard one click away.
    from dashboards.views import is_supervisor

    if is_supervisor(request.user):
        return redirect("dashboards:supervisor")
    memberships = (
        Membership.objects.filter(user=request.user, active=True).select_related("unit").order_by("unit__path", "role")
    )
    return render(request, "home.html", {"memberships": memberships, **home_context(request.user)})


def home_context(user) -> dict:
    """The workbench sections for staff with unit tasks (handlers and heads
    always, anyone else when open tasks of their units exist) and the
    volunteer's own links for a volunteer without a unit role."""
    from inspections.selectors import workbench_summary

    roles = user_roles(user)
    context = {"workbench": None, "volunteer": None, "today": timezone.localdate()}
    if roles and user.has_perm("inspections.view_rectificationtask"):
        summary = workbench_summary(user, rows=HOME_ROWS)
        if summary["total"] or roles & {Membership.Role.HANDLER, Membership.Role.HEAD}:
            for section in summary["sections"]:
                section["title"] = SECTION_TITLES[section["key"]]
            context["workbench"] = summary
    if not roles:
        try:
            context["volunteer"] = user.volunteer
        except ObjectDoesNotExist:
            pass
    return context


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
    return JsonResponse({"status": "ok" if status == 200 else "error", "database": database, "broker": broker}, status=status)


def favicon(request):
    """Browsers ask for /favicon.ico whatever the page says."""
    return HttpResponsePermanentRedirect(static("img/favicon.svg"))


# --- error pages: JSON under /api/, HTML everywhere else ----------------------------------------


def _error(request, *, template: str, status: int, code: str, detail, with_context: bool = True):
    if request.path.startswith("/open311/"):
        from open311.formats import error_response, format_of

        return error_response(status, str(detail), format_of(request.path))
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
        if request.path.startswith("/open311/"):
            from open311.formats import error_response, format_of

            return error_response(413, too_large_message(), format_of(request.path))
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
