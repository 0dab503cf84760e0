"""Deadline reminders for work items (任务分解台账), like those of
rectification tasks: *due soon* at 80% of the time between creation and the
deadline, *overdue* the day after it. This module keeps the rule of who is
due when and what each level says; the reminder engine (``reminders``) sends
each level once per item (ReminderLog). Work items live in campaigns, below this app."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.models import Membership, WorkItem

from . import reminders as engine
from .models import Event
from .recipients import members_over, unique
from .services import Text, notify

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


def _candidates(now: dt.datetime):
    # Coarse SQL window: open items due within the next 60 days or overdue; the exact 80% point in Python.
    return WorkItem.objects.filter(status__in=WorkItem.OPEN_STATUSES, deadline__lte=_today(now) + dt.timedelta(days=60)
                                   ).only("pk", "created_at", "deadline", "status")


def _reached(items: list[WorkItem], now: dt.datetime) -> dict[int, list[str]]:
    return {i.pk: levels_reached(i, now) for i in items}


def _lock(workitem_id: int) -> WorkItem | None:
    return WorkItem.objects.select_for_update().select_related("lead_unit").filter(pk=workitem_id).first()


def _send(item: WorkItem, level: str, now: dt.datetime) -> None:
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


LADDER = engine.Ladder(model=WorkItem, levels=(DUE_SOON, OVERDUE), task="notifications.remind_workitem",
                       object_kwarg="workitem_id", candidates=_candidates, reached=_reached, lock=_lock, send=_send)


def due_reminders(now: dt.datetime | None = None) -> list[tuple[int, str]]:
    """(work item id, level) pairs due now and not yet sent."""
    return engine.due(LADDER, now)


def workitem_remind(*, workitem_id: int, level: str, now: dt.datetime | None = None) -> bool:
    """Send one reminder level for one work item, once. True if this call sent it."""
    return bool(engine.remind(LADDER, object_id=workitem_id, levels=[level], now=now).sent)


def scan(*, now: dt.datetime | None = None, inline: bool = False) -> engine.ScanReport:
    return engine.scan(LADDER, now=now, inline=inline)
