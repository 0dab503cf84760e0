"""Deadline reminders for materials calls, in the pattern of the work-item
reminders (notifications/workitems.py) so that the generic reminder engine
can take them over: *due soon* at 80 % of the time between the call's
opening and its deadline, *overdue* the day after the deadline — the
overdue level also goes to the campaign office over the unit (escalation).
Per unit's answer (submission) and level exactly once (ReminderLog claim).
Only answers still owed (not submitted, or returned) are reminded.

Until notifications has events of its own for materials, the reminders use
the work-item deadline events with ``data.kind = "material_call"``."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.models import Membership
from notifications.models import Event
from notifications.recipients import members_over, unique
from notifications.services import Text, notify, reminder_claim, reminder_levels_logged

from .models import MaterialCall, MaterialSubmission

DUE_SOON, OVERDUE = "due_soon", "overdue"
WARN_SHARE = 0.8


def _today(now: dt.datetime) -> dt.date:
    return timezone.localtime(now).date()


def warn_date(call: MaterialCall) -> dt.date:
    start = timezone.localtime(call.created_at).date()
    return start + dt.timedelta(days=int((call.deadline - start).days * WARN_SHARE))


def levels_reached(submission: MaterialSubmission, now: dt.datetime) -> list[str]:
    if submission.status not in MaterialSubmission.OWED or submission.call.status != MaterialCall.Status.OPEN:
        return []
    today = _today(now)
    if submission.call.deadline < today:
        return [OVERDUE]
    if today >= warn_date(submission.call):
        return [DUE_SOON]
    return []


def due_reminders(now: dt.datetime | None = None) -> list[tuple[int, str]]:
    """(submission id, level) pairs due now and not yet sent: two queries whatever their number."""
    now = now or timezone.now()
    today = _today(now)
    owed = list(MaterialSubmission.objects.filter(
        status__in=MaterialSubmission.OWED, call__status=MaterialCall.Status.OPEN,
        call__deadline__lte=today + dt.timedelta(days=60),
    ).select_related("call").only("pk", "status", "call__created_at", "call__deadline", "call__status"))
    logged = reminder_levels_logged(MaterialSubmission, [s.pk for s in owed])
    return [(s.pk, level) for s in owed for level in levels_reached(s, now) if (s.pk, level) not in logged]


def submission_remind(*, submission_id: int, level: str, now: dt.datetime | None = None) -> bool:
    """Send one level for one unit's answer, once. True if this call sent it."""
    now = now or timezone.now()
    with transaction.atomic():
        sub = (MaterialSubmission.objects.select_for_update(of=("self",)).select_related("call", "unit")
               .filter(pk=submission_id).first())
        if sub is None or level not in levels_reached(sub, now):
            return False
        if not reminder_claim(obj=sub, level=level):
            return False
        Role = Membership.Role
        unit_people = members_over(sub.unit, [Role.HANDLER, Role.HEAD])
        params = {"title": sub.call.title, "deadline": sub.call.deadline.isoformat(), "unit": sub.unit.name}
        if level == DUE_SOON:
            event, people = Event.WORKITEM_DUE_SOON, unit_people
            title = Text(_("Materials due soon: %(title)s"), params)
            body = Text(_("%(unit)s must submit the materials “%(title)s” by %(deadline)s."), params)
        else:
            event = Event.WORKITEM_OVERDUE
            people = unique(unit_people, members_over(sub.unit, [Role.SUPERVISOR]))
            title = Text(_("Materials overdue: %(title)s"), params)
            body = Text(_("%(unit)s has not submitted the materials “%(title)s” due on %(deadline)s."), params)
        notify(event=event, recipients=people, title=title, body=body, target=sub, unit=sub.unit,
               url=reverse("materials:submission_detail", args=[sub.pk]),
               data={"kind": "material_call", "material_submission_id": sub.pk, "call_id": sub.call_id,
                     "level": level, "deadline": sub.call.deadline.isoformat(), "unit": sub.unit.code})
    return True
