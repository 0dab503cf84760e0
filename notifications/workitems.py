"""Deadline reminders for work items (任务分解台账), like those of
rectification tasks: *due soon* at 80% of the time between creation and the
deadline, *overdue* the day after it. Exactly once per item and level
(ReminderLog). Work items live in campaigns, below this app."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.models import Membership, WorkItem

from .models import Event
from .recipients import members_over, unique
from .services import Text, notify, reminder_claim, reminder_levels_logged

DUE_SOON, OVERDUE = "due_soon", "overdue"
WARN_SHARE = 0.8


def _today(now: dt.datetime) -> dt.date:
    return timezone.localtime(now).date()


def warn_date(item: WorkItem) -> dt.date:
    start = timezone.localtime(item.created_at).date()
    return start + dt.timedelta(days=int((item.deadline - start).days * WARN_SHARE))


def levels_reached(item: WorkItem, now: dt.datetime) -> list[str]:
    if item.status not in WorkItem.OPEN_STATUSES:
        return []
    today = _today(now)
    if item.deadline < today:
        return [OVERDUE]
    if today >= warn_date(item):
        return [DUE_SOON]
    return []


def due_reminders(now: dt.datetime | None = None) -> list[tuple[int, str]]:
    """(work item id, level) pairs due now and not yet sent."""
    now = now or timezone.now()
    today = _today(now)
    # Coarse SQL window: open items due within the next 60 days or overdue; the exact 80% point in Python.
    items = list(WorkItem.objects.filter(status__in=WorkItem.OPEN_STATUSES, deadline__lte=today + dt.timedelta(days=60))
                 .only("pk", "created_at", "deadline", "status"))
    logged = reminder_levels_logged(WorkItem, [i.pk for i in items])
    return [(i.pk, level) for i in items for level in levels_reached(i, now) if (i.pk, level) not in logged]


def workitem_remind(*, workitem_id: int, level: str, now: dt.datetime | None = None) -> bool:
    """Send one reminder level for one work item, once. True if this call sent it."""
    now = now or timezone.now()
    with transaction.atomic():
        item = WorkItem.objects.select_for_update().select_related("lead_unit").filter(pk=workitem_id).first()
        if item is None or level not in levels_reached(item, now):
            return False
        if not reminder_claim(obj=item, level=level):
            return False
        Role = Membership.Role
        unit_people = members_over(item.lead_unit, [Role.HANDLER, Role.HEAD])
        params = {"title": item.title, "deadline": item.deadline.isoformat(), "unit": item.lead_unit.name}
        if level == DUE_SOON:
            event, people = Event.WORKITEM_DUE_SOON, unit_people
            title = Text(_("Work item due soon: %(title)s"), params)
            body = Text(_("The work item “%(title)s” led by %(unit)s is due on %(deadline)s."), params)
        else:
            event = Event.WORKITEM_OVERDUE
            people = unique(unit_people, members_over(item.lead_unit, [Role.SUPERVISOR]))
            title = Text(_("Work item overdue: %(title)s"), params)
            body = Text(_("The work item “%(title)s” led by %(unit)s was due on %(deadline)s and is not done."),
                        params)
        notify(event=event, recipients=people, title=title, body=body, target=item, unit=item.lead_unit,
               url=reverse("campaigns:work_item_detail", args=[item.pk]),
               data={"work_item_id": item.pk, "level": level, "deadline": item.deadline.isoformat(),
                     "lead_unit": item.lead_unit.code})
    return True
