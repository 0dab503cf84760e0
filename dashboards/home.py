"""The home page: supervisors start on their dashboard; staff with unit tasks on
the workbench; a volunteer without a unit role on their own links. It names
dashboards, inspections and campaigns, so it lives here at the top, not in the core."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy

from campaigns.models import Membership
from campaigns.scope import user_roles
from inspections.selectors import workbench_summary
from notices.selectors import unread_notices_for_home

from .views import is_supervisor

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
    roles = user_roles(user)
    context = {"workbench": None, "volunteer": None, "today": timezone.localdate()}
    if roles and user.has_perm("inspections.view_rectificationtask"):
        summary = workbench_summary(user, rows=HOME_ROWS)
        if summary["total"] or roles & {Membership.Role.HANDLER, Membership.Role.HEAD}:
            for section in summary["sections"]:
                section["title"] = SECTION_TITLES[section["key"]]
            context["workbench"] = summary
    if roles and user.has_perm("notices.view_notice"):
        context["notices"] = unread_notices_for_home(user)
    if not roles:
        try:
            context["volunteer"] = user.volunteer
        except ObjectDoesNotExist:
            pass
    return context
