"""The loop's own events reach the right people after commit; work-item, volunteer and score notices."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from campaigns.models import Membership, WorkItem
from inspections import services
from inspections.models import RectificationTask
from notifications import workitems
from notifications.models import Event, Notification, ReminderLog
from notifications.services import notify_scores_published
from tests.inspections.helpers import dispatched, finding, world

from .conftest import at

pytestmark = pytest.mark.django_db


def people(event, **kw):
    return set(Notification.objects.filter(event=event, **kw).values_list("recipient__username", flat=True))


def test_finding_dispatch_and_status_changes_notify_the_other_side(city, personas,
                                                                   django_capture_on_commit_callbacks):
    w = world(city, personas)
    with django_capture_on_commit_callbacks(execute=True):
        f = finding(w, personas)
    # The office hears about a new finding; the inspector who recorded it does not.
    assert people(Event.FINDING_CREATED) == {"p_supervisor"}
    with django_capture_on_commit_callbacks(execute=True):
        task = services.task_dispatch(actor=personas.supervisor, finding=f)
    assert people(Event.TASK_DISPATCHED, target_id=task.pk) == {"p_handler_a", "p_head_a"}
    with django_capture_on_commit_callbacks(execute=True):
        services.task_accept(actor=personas.handler_a, task=task)
    assert people(Event.TASK_STATUS_CHANGED, target_id=task.pk) == {"p_supervisor"}
    with django_capture_on_commit_callbacks(execute=True):
        services.task_escalate(actor=personas.supervisor, task=task)
    assert people(Event.TASK_ESCALATED, target_id=task.pk) == {"p_leader", "p_handler_a", "p_head_a"}
    # District B's people hear nothing of district A's task.
    assert not Notification.objects.filter(recipient__in=[personas.handler_b, personas.outsider]).exists()


def test_nothing_is_sent_when_the_transition_rolls_back(city, personas, django_capture_on_commit_callbacks):
    from django.db import transaction

    w = world(city, personas)
    f = finding(w, personas)
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                services.task_dispatch(actor=personas.supervisor, finding=f)
                raise RuntimeError("boom")
        except RuntimeError:
            pass
    assert not Notification.objects.filter(event=Event.TASK_DISPATCHED).exists()


def test_score_published_notice_for_the_scoring_job(city, personas):
    notify_scores_published(campaign_id=1, month="2026-11", unit_ids=[city.district_a.pk], url="/scores/2026-11/")
    assert people(Event.SCORE_PUBLISHED) == {"p_head_a", "p_handler_a", "p_leader", "p_supervisor"}
    n = Notification.objects.filter(event=Event.SCORE_PUBLISHED).first()
    assert "2026-11" in n.title


def test_work_items_are_reminded_once_per_level(city, personas):
    from tests.inspections.helpers import world as make_world

    w = make_world(city, personas)
    with time_machine.travel(at(2026, 11, 1, 9), tick=False):
        item = WorkItem.objects.create(campaign=w.campaign, title="背街小巷路面修复", lead_unit=city.district_a,
                                       deadline=dt.date(2026, 11, 11))
    with time_machine.travel(at(2026, 11, 5, 9), tick=False):
        assert workitems.due_reminders() == []
    with time_machine.travel(at(2026, 11, 9, 9), tick=False):
        assert workitems.due_reminders() == [(item.pk, "due_soon")]
        assert workitems.workitem_remind(workitem_id=item.pk, level="due_soon")
        assert not workitems.workitem_remind(workitem_id=item.pk, level="due_soon")
        assert workitems.due_reminders() == []
    with time_machine.travel(at(2026, 11, 12, 9), tick=False):
        for item_id, level in workitems.due_reminders():
            workitems.workitem_remind(workitem_id=item_id, level=level)
    assert people(Event.WORKITEM_DUE_SOON) == {"p_handler_a", "p_head_a"}
    assert people(Event.WORKITEM_OVERDUE) == {"p_handler_a", "p_head_a", "p_supervisor"}
    assert ReminderLog.objects.filter(object_id=item.pk).count() == 2


def test_volunteers_with_accounts_get_the_day_before_reminder_once(city, personas):
    from tests.volunteers.conftest import make_activity, make_volunteer
    from tests.factories import UserFactory
    from volunteers.models import Signup
    from volunteers.reminders import send_activity_reminders

    account = UserFactory(username="p_volunteer", language="en")
    with_account = make_volunteer(city.community_a1, name="王小明", user=account)
    without = make_volunteer(city.community_a1, name="李小红")
    activity = make_activity(city.community_a1, starts_at=at(2026, 11, 21, 9))
    for v in (with_account, without):
        Signup.objects.create(activity=activity, volunteer=v)
    assert send_activity_reminders(at(2026, 11, 20, 9)) == 1
    assert send_activity_reminders(at(2026, 11, 20, 18)) == 0
    n = Notification.objects.get(event=Event.ACTIVITY_REMINDER)
    assert n.recipient == account and n.title == "Tomorrow: 文明劝导"


def test_run_reminder_scan_command(city, personas):
    from io import StringIO

    from django.core.management import call_command

    from .conftest import place

    w = world(city, personas)
    task = place(dispatched(w, personas), dispatched_at=at(2026, 11, 10, 9), due_at=at(2026, 11, 12, 23, 59, 59))
    out = StringIO()
    with time_machine.travel(at(2026, 11, 16, 9), tick=False):
        call_command("run_reminder_scan", stdout=out)
        call_command("run_reminder_scan", stdout=out)
    assert "tasks: 2 reminder level(s) sent" in out.getvalue()
    assert "tasks: 0 reminder level(s) sent" in out.getvalue()
    task.refresh_from_db()
    assert task.supervision == RectificationTask.Supervision.SUPERVISED
