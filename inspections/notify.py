"""Notifications for the loop's own transitions, subscribed to ``hooks``
(called after commit): finding.created, task.dispatched,
task.status_changed, and manual task.escalated. Reminders and automatic
escalations notify from ``reminders`` instead (inside their transaction);
``reminders`` imports this module, never the other way."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.models import Membership
from notifications.models import Event
from notifications.recipients import ancestor_paths, members_over, unique
from notifications.services import Message, Text, notify, notify_many

from . import hooks
from .models import Finding, RectificationTask, TaskEvent

Role = Membership.Role
Action = TaskEvent.Action
# Steps taken by the unit are news for the office; the office's decisions are news for the unit.
UNIT_STEPS = {Action.ACCEPT, Action.SUBMIT, Action.EXTENSION_REQUEST}


def task_payload(task: RectificationTask, **extra) -> dict:
    """Language-neutral facts about a task for webhook subscribers."""
    return {
        "task_id": task.pk, "finding_id": task.finding_id, "unit_id": task.unit_id, "unit_code": task.unit.code,
        "status": task.status, "supervision": task.supervision, "due_at": task.due_at.isoformat(), **extra,
    }


def _finding_message(finding: Finding, recipients) -> dict:
    params = {"finding": finding.pk, "unit": finding.unit.name, "category": finding.category.name,
              "problem": finding.description[:80]}
    return dict(
        event=Event.FINDING_CREATED, recipients=recipients,
        exclude=finding.reporter, target=finding, unit=finding.unit,
        title=Text(_("New finding #%(finding)s at %(unit)s"), params),
        body=Text(_("%(category)s: %(problem)s"), params),
        url=reverse("inspections:finding_detail", args=[finding.pk]),
        data={"finding_id": finding.pk, "unit_id": finding.unit_id, "unit_code": finding.unit.code,
              "category": finding.category.code, "severity": finding.severity, "source": finding.source,
              "status": finding.status},
    )


def finding_created(finding_id: int) -> None:
    finding = Finding.objects.select_related("unit", "category", "reporter").get(pk=finding_id)
    notify(**_finding_message(finding, members_over(finding.unit, [Role.SUPERVISOR])))


def findings_created_enqueue(finding_ids: list[int]) -> None:
    """After a batch commits: one Celery message for the whole fan-out, done
    by a worker. With the broker unreachable the fan-out runs here instead
    (batched), so nobody misses a new finding."""
    from notifications import queueing

    if not queueing.publish("inspections.findings_created", finding_ids=list(finding_ids)):
        findings_created(finding_ids)


def findings_created(finding_ids: list[int]) -> None:
    """finding.created for a batch (bulk intake): the same notifications and
    webhooks as one by one, with a fixed number of queries. Findings already
    announced (a redelivered message) are skipped."""
    from django.contrib.contenttypes.models import ContentType

    from campaigns.models import User
    from notifications.models import Notification, WebhookDelivery

    done = set(Notification.objects.filter(
        event=Event.FINDING_CREATED, target_type=ContentType.objects.get_for_model(Finding),
        target_id__in=finding_ids).values_list("target_id", flat=True))
    done |= set(WebhookDelivery.objects.filter(event=Event.FINDING_CREATED, payload__data__finding_id__in=finding_ids)
                .values_list("payload__data__finding_id", flat=True))
    findings = list(Finding.objects.select_related("unit", "category", "reporter")
                    .filter(pk__in=[pk for pk in finding_ids if pk not in done]).order_by("pk"))
    if not findings:
        return
    paths = {path for finding in findings for path in ancestor_paths(finding.unit)}
    supervisors: dict[str, list[User]] = {}
    memberships = (Membership.objects.filter(active=True, user__is_active=True, role=Role.SUPERVISOR,
                                             unit__path__in=paths)
                   .select_related("user", "unit").order_by("user_id"))
    users: dict[int, User] = {}
    for membership in memberships:
        user = users.setdefault(membership.user_id, membership.user)  # one object per person
        supervisors.setdefault(membership.unit.path, []).append(user)
    messages = []
    for finding in findings:
        people = {}
        for path in ancestor_paths(finding.unit):
            for user in supervisors.get(path, []):
                people.setdefault(user.pk, user)
        messages.append(Message(**_finding_message(finding, [people[pk] for pk in sorted(people)])))
    notify_many(messages)


def task_event(event_id: int) -> None:
    event = TaskEvent.objects.select_related("task", "task__unit", "task__finding", "actor").get(pk=event_id)
    task: RectificationTask = event.task
    if event.action == Action.REMIND or (event.action == Action.ESCALATE and event.data.get("automatic")):
        return  # the reminder job has already told everyone, in its own transaction
    unit_people = members_over(task.unit, [Role.HANDLER, Role.HEAD])
    supervisors = members_over(task.unit, [Role.SUPERVISOR])
    params = {"task": task.pk, "unit": task.unit.name, "problem": task.finding.description[:80],
              "due": timezone.localtime(task.due_at).strftime("%Y-%m-%d %H:%M"),
              # Choice labels stay lazy: stored by message id, shown in the reader's language.
              "action": Action(event.action).label, "status": RectificationTask.Status(task.status).label,
              "level": RectificationTask.Supervision(task.supervision).label}
    if event.action == Action.DISPATCH:
        kind, people = Event.TASK_DISPATCHED, unit_people
        title = Text(_("New rectification task #%(task)s, due %(due)s"), params)
        body = Text(_("%(unit)s has been assigned task #%(task)s: %(problem)s"), params)
    elif event.action == Action.ESCALATE:
        kind = Event.TASK_ESCALATED
        people = unique(supervisors, members_over(task.unit, [Role.LEADER]), unit_people)
        title = Text(_("Task #%(task)s escalated: %(level)s"), params)
        body = Text(_("The campaign office raised the supervision of task #%(task)s of %(unit)s to “%(level)s”. "
                      "Problem: %(problem)s"), params)
    else:
        kind = Event.TASK_STATUS_CHANGED
        people = supervisors if event.action in UNIT_STEPS else unit_people
        title = Text(_("Task #%(task)s: %(action)s"), params)
        body = Text(_("Task #%(task)s of %(unit)s — %(action)s; status now “%(status)s”."), params)
    notify(event=kind, recipients=people, exclude=event.actor, title=title, body=body, target=task, unit=task.unit,
           url=reverse("inspections:task_detail", args=[task.pk]),
           data=task_payload(task, action=event.action, from_status=event.from_status, to_status=event.to_status))


def connect() -> None:
    hooks.on_task_event(task_event)
    hooks.on_finding_created(finding_created, many=findings_created_enqueue)
