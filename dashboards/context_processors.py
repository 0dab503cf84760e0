"""The dashboard link of the top navigation (settings: TEMPLATES context_processors)."""

from django.urls import reverse

from .views import is_supervisor, is_unit_reader


def dashboard_url(user) -> str:
    """The user's dashboard: the office's for supervisors, their unit's for heads and leaders ('' for others)."""
    if is_supervisor(user):
        return reverse("dashboards:supervisor")
    if is_unit_reader(user):
        return reverse("dashboards:unit")
    return ""


def dashboard(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_dashboard": ""}
    return {"nav_dashboard": dashboard_url(user)}
