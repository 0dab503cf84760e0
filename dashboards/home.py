"""The home page shows each role what it acts on: supervisors start on their
dashboard; handlers and heads on their tasks (the workbench sections);
inspectors on their inspection rounds and the findings they recorded;
assigned leaders on how their units stand (scores, lists, overdue tasks), not
on a to-do list; a volunteer without a unit role on their own links. It names
dashboards, inspections and campaigns, so it lives here at the top, not in the core."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy

from campaigns.models import Membership, Unit
from campaigns.scope import scope_of, user_roles
from inspections.selectors import inspector_home, workbench_summary
from notices.selectors import unread_notices_for_home

from . import selectors
from .views import is_supervisor

Role = Membership.Role

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
    """The sections of a role's home: the workbench for handlers and heads (the
    tasks they accept, submit and ask extensions on), the inspector's rounds and
    findings, the leader's units, notices for every role, and the volunteer's own
    links for a volunteer without a unit role. A section appears only for the
    role that acts on it: an inspector or a leader gets no task list."""
    roles = user_roles(user)
    context = {"workbench": None, "volunteer": None, "inspector": None, "leader": None,
               "today": timezone.localdate()}
    if roles & {Role.HANDLER, Role.HEAD} and user.has_perm("inspections.view_rectificationtask"):
        summary = workbench_summary(user, rows=HOME_ROWS)
        for section in summary["sections"]:
            section["title"] = SECTION_TITLES[section["key"]]
        context["workbench"] = summary
    if Role.INSPECTOR in roles:
        context["inspector"] = inspector_home(user, rows=HOME_ROWS + 2)
    if Role.LEADER in roles:
        paths = scope_of(user).role_paths([Role.LEADER])
        units = list(Unit.objects.filter(path__in=paths).order_by("path"))
        context["leader"] = selectors.leader_home(user, units)
    if roles and user.has_perm("notices.view_notice"):
        context["notices"] = unread_notices_for_home(user)
    if not roles:
        try:
            context["volunteer"] = user.volunteer
        except ObjectDoesNotExist:
            pass
    return context
