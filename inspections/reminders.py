"""Reminders and automatic escalation of rectification tasks (DESIGN §5).

The beat job scans the database (never ETA/countdown messages for
deadlines) and fans out one small idempotent task per task × level:

* ``due_soon``   — 80% of the allowed time has passed: the unit is reminded;
* ``overdue``    — the deadline has passed: the unit and the supervisors are told;
* ``supervised`` — one working day past the deadline: supervision is raised to
  督办, the supervisors and the unit's assigned leaders are told;
* ``listed``     — five working days past the deadline: 挂牌督办, likewise.

"N working days past the deadline" is the deadline's time of day on the N-th
working day after the deadline's date, in the office's working-day calendar
(``deadlines.WorkCalendar``: national holidays, 调休 and local overrides).
This module keeps only the rule of who is due when and what each level says;
the notifications reminder engine (``notifications.reminders``) claims each
level once per task (``ReminderLog``, in the same transaction that writes the
inbox rows and the TaskEvent), sends a task's levels in ladder order, and
reports what it sent. Running the scan twice, concurrently, or redelivering a
message sends nothing twice; a scan that did not run (broker down) or a worker
killed mid-way is caught up by the next scan."""

from __future__ import annotations

import datetime as dt

from django.contrib.contenttypes.models import ContentType
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.models import Membership
from notifications import reminders as engine
from notifications.messages import encode
from notifications.models import Event, ReminderLog
from notifications.recipients import members_over, unique
from notifications.services import Text, notify

from .deadlines import WorkCalendar
from .models import RectificationTask, TaskEvent
from .notify import task_payload

DUE_SOON, OVERDUE, SUPERVISED, LISTED = "due_soon", "overdue", "supervised", "listed"
LEVELS = [DUE_SOON, OVERDUE, SUPERVISED, LISTED]
Supervision = RectificationTask.Supervision
# level → (working days past the deadline, supervision level it raises the task to)
ESCALATIONS = {SUPERVISED: (1, Supervision.SUPERVISED), LISTED: (5, Supervision.LISTED)}
Role = Membership.Role


def _calendar(tasks: list[RectificationTask], now: dt.datetime) -> WorkCalendar:
    start = min((timezone.localtime(t.due_at).date() for t in tasks), default=timezone.localtime(now).date())
    return WorkCalendar(start, timezone.localtime(now).date() + dt.timedelta(days=60))


def _plus_working_days(calendar: WorkCalendar, start: dt.date, days: int) -> dt.date:
    day, counted = start, 0
    while counted < days:
        day += dt.timedelta(days=1)
        if calendar.is_workday(day):
            counted += 1
    return day


def escalation_at(task: RectificationTask, days: int, calendar: WorkCalendar) -> dt.datetime:
    """The deadline moved ``days`` working days later (same local time of day)."""
    local = timezone.localtime(task.due_at)
    day = _plus_working_days(calendar, local.date(), days)
    return timezone.make_aware(dt.datetime.combine(day, local.time().replace(tzinfo=None)))


def levels_reached(task: RectificationTask, now: dt.datetime, calendar: WorkCalendar) -> list[str]:
    if task.status not in RectificationTask.OPEN_STATUSES:
        return []
    if now > task.due_at:
        levels = [OVERDUE]
        levels += [level for level, (days, _sup) in ESCALATIONS.items() if now > escalation_at(task, days, calendar)]
        return levels
    if now >= task.warn_at:
        return [DUE_SOON]
    return []


def _candidates(now: dt.datetime):
    """Open tasks past their 80% point, except those whose every level past the
    deadline is logged (nothing left to send). A higher level logged first never
    hides a lower one: each level is its own fact."""
    logs = ReminderLog.objects.filter(
        content_type=ContentType.objects.get_for_model(RectificationTask), object_id=OuterRef("pk"))
    finished = Exists(logs.filter(level=OVERDUE)) & Exists(logs.filter(level=SUPERVISED)) & Exists(
        logs.filter(level=LISTED))
    return (RectificationTask.objects.open().filter(warn_at__lte=now).exclude(finished)
            .only("pk", "status", "due_at", "warn_at").order_by("due_at", "pk"))


def _reached(tasks: list[RectificationTask], now: dt.datetime) -> dict[int, list[str]]:
    calendar = _calendar(tasks, now)
    return {t.pk: levels_reached(t, now, calendar) for t in tasks}


def _lock(task_id: int) -> RectificationTask | None:
    return (RectificationTask.objects.select_for_update(of=("self",)).select_related("unit", "finding")
            .filter(pk=task_id).first())


def due_reminders(now: dt.datetime | None = None) -> list[tuple[int, str]]:
    """(task id, level) pairs reached and not yet sent, in level order (four queries)."""
    return engine.due(LADDER, now)


def _people(task: RectificationTask, level: str):
    unit_people = members_over(task.unit, [Role.HANDLER, Role.HEAD])
    if level == DUE_SOON:
        return unit_people
    supervisors = members_over(task.unit, [Role.SUPERVISOR])
    if level == OVERDUE:
        return unique(unit_people, supervisors)
    return unique(supervisors, members_over(task.unit, [Role.LEADER]), unit_people)


def _texts(task: RectificationTask, level: str) -> tuple[str, Text, Text]:
    params = {"task": task.pk, "unit": task.unit.name, "problem": task.finding.description[:80],
              "due": timezone.localtime(task.due_at).strftime("%Y-%m-%d %H:%M")}
    if level == DUE_SOON:
        return (Event.TASK_DUE_SOON, Text(_("Task #%(task)s is due soon (%(due)s)"), params),
                Text(_("Most of the time allowed for task #%(task)s of %(unit)s has passed; it is due on %(due)s. "
                       "Problem: %(problem)s"), params))
    if level == OVERDUE:
        return (Event.TASK_OVERDUE, Text(_("Task #%(task)s is overdue"), params),
                Text(_("Task #%(task)s of %(unit)s was due on %(due)s and has not been closed. Problem: "
                       "%(problem)s"), params))
    label = Supervision.SUPERVISED.label if level == SUPERVISED else Supervision.LISTED.label
    params = {**params, "level": label, "days": ESCALATIONS[level][0]}
    return (Event.TASK_ESCALATED, Text(_("Task #%(task)s escalated: %(level)s"), params),
            Text(_("Task #%(task)s of %(unit)s is %(days)s working day(s) past its deadline (%(due)s); its "
                   "supervision level is now “%(level)s”. Problem: %(problem)s"), params))


def _send(task: RectificationTask, level: str, now: dt.datetime) -> RectificationTask:
    """Send one claimed level; for 督办/挂牌督办 raise the supervision level first
    (through ``services.task_escalate``)."""
    from .services import task_escalate

    if level in ESCALATIONS:
        target = ESCALATIONS[level][1]
        order = RectificationTask.SUPERVISION_ORDER
        if order.index(task.supervision) < order.index(target):
            note, params = _("Automatic: %(days)s working day(s) past the deadline."), {"days": ESCALATIONS[level][0]}
            # The note is stored as a message code too, so each reader sees it in their language.
            task = task_escalate(actor=None, task=task, level=target, note=str(note) % params,
                                 note_code=encode(note, params))
        else:
            TaskEvent.objects.create(task=task, action=TaskEvent.Action.REMIND, from_status=task.status,
                                     to_status=task.status, data={"level": level, "already": task.supervision})
    else:
        TaskEvent.objects.create(task=task, action=TaskEvent.Action.REMIND, from_status=task.status,
                                 to_status=task.status, data={"level": level})
    event, title, body = _texts(task, level)
    notify(event=event, recipients=_people(task, level), title=title, body=body, target=task, unit=task.unit,
           url=reverse("inspections:task_detail", args=[task.pk]),
           data=task_payload(task, level=level, automatic=True))
    return task


LADDER = engine.Ladder(model=RectificationTask, levels=tuple(LEVELS), task="inspections.remind_task",
                       object_kwarg="task_id", candidates=_candidates, reached=_reached, lock=_lock, send=_send)


def task_remind(*, task_id: int, level: str, now: dt.datetime | None = None) -> bool:
    """Send one level for one task, exactly once. True if this call sent it."""
    return bool(engine.remind(LADDER, object_id=task_id, levels=[level], now=now).sent)


def scan(*, now: dt.datetime | None = None, inline: bool = False) -> engine.ScanReport:
    """One scan through the engine: ``inline`` sends in this process (management
    command, tests); otherwise one Celery message per task with its due levels."""
    return engine.scan(LADDER, now=now, inline=inline)


def run_scan(*, now: dt.datetime | None = None, inline: bool = False) -> list[tuple[int, str]]:
    """One scan: inline, the (task, level) pairs this scan sent; queued, those found due."""
    report = scan(now=now, inline=inline)
    return report.sent if inline else report.due
