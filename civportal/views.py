import logging

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpResponsePermanentRedirect, JsonResponse
from django.templatetags.static import static
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from campaigns.models import Membership

logger = logging.getLogger(__name__)


@login_required
def home(request):
    memberships = (
        Membership.objects.filter(user=request.user, active=True).select_related("unit").order_by("unit__path", "role")
    )
    return render(request, "home.html", {"memberships": memberships})


def broker_status() -> str:
    """Try one broker connection, bounded to ~2 s; 'ok' or the error class name."""
    from django.conf import settings

    from civportal.celery import app

    try:
        with app.connection_for_write(url=settings.CELERY_BROKER_URL) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)
        return "ok"
    except Exception as exc:  # any transport error means "down", never a 500
        logger.warning("broker check failed: %s", exc)
        return f"error: {exc.__class__.__name__}"


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
