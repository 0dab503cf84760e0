"""Reminder scan for rectification tasks: levels, exactly once, escalation in working days, languages."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import time_machine
from django.core import mail
from django.db import connection

from inspections import reminders
from inspections.models import RectificationTask, TaskEvent
from notifications.models import Event, Notification, ReminderLog

from .conftest import at

pytestmark = pytest.mark.django_db


def scan(now):
    with time_machine.travel(now, tick=False):
        return reminders.run_scan(inline=True)


def counts(task):
    return {
        "logs": sorted(ReminderLog.objects.filter(object_id=task.pk).values_list("level", flat=True)),
        "notifications": Notification.objects.filter(target_id=task.pk).count(),
    }


def test_levels_follow_the_traffic_light(loop):
    task = loop.task(dispatched_at=at(2026, 11, 16, 9), due_at=at(2026, 11, 19, 23, 59, 59))
    assert scan(at(2026, 11, 17, 9)) == []                       # green: nothing
    assert scan(at(2026, 11, 19, 12)) == [(task.pk, "due_soon")]  # yellow: the 80% point has passed
    assert scan(at(2026, 11, 20, 9)) == [(task.pk, "overdue")]    # red
    assert counts(task)["logs"] == ["due_soon", "overdue"]


def test_running_the_scan_twice_sends_each_level_once(loop):
    p = loop.personas
    task = loop.task(dispatched_at=at(2026, 11, 16, 9), due_at=at(2026, 11, 19, 23, 59, 59))
    first = scan(at(2026, 11, 19, 12))
    after_first = counts(task)
    second = scan(at(2026, 11, 19, 12, 5))
    assert first == [(task.pk, "due_soon")] and second == []
    assert counts(task) == after_first == {"logs": ["due_soon"], "notifications": 2}
    # The unit's people (handler and head over the unit) are reminded; nobody else.
    assert set(Notification.objects.filter(target_id=task.pk).values_list("recipient__username", flat=True)) == {
        p.handler_a.username, p.head_a.username}
    assert TaskEvent.objects.filter(task=task, action=TaskEvent.Action.REMIND).count() == 1
    # Sending the same level again directly (a redelivered message) does nothing.
    with time_machine.travel(at(2026, 11, 19, 12, 10), tick=False):
        assert reminders.task_remind(task_id=task.pk, level="due_soon") is False
    assert counts(task) == after_first


def test_closed_or_extended_tasks_are_not_reminded(loop):
    task = loop.task(dispatched_at=at(2026, 11, 16, 9), due_at=at(2026, 11, 19, 23, 59, 59))
    RectificationTask.objects.filter(pk=task.pk).update(status=RectificationTask.Status.CLOSED)
    assert scan(at(2026, 11, 25, 9)) == []
    with time_machine.travel(at(2026, 11, 25, 9), tick=False):
        assert reminders.task_remind(task_id=task.pk, level="overdue") is False
    assert counts(task) == {"logs": [], "notifications": 0}


def test_escalation_counts_working_days_across_the_national_day_holiday(loop):
    """Due Wed 30 Sep 2026; 1–7 Oct are holidays, Sat 10 Oct is a make-up working day."""
    p = loop.personas
    task = loop.task(dispatched_at=at(2026, 9, 25, 9), due_at=at(2026, 9, 30, 23, 59, 59))
    # 7 October: a week of calendar days late (Thu 1 and Fri 2 Oct are weekdays) but no working day yet.
    scan(at(2026, 10, 7, 12))
    task.refresh_from_db()
    assert task.supervision == RectificationTask.Supervision.NONE
    assert counts(task)["logs"] == ["overdue"]
    # 9 October: the first working day after the deadline (8 Oct) is over → 督办.
    scan(at(2026, 10, 9, 9))
    task.refresh_from_db()
    assert task.supervision == RectificationTask.Supervision.SUPERVISED
    event = TaskEvent.objects.get(task=task, action=TaskEvent.Action.ESCALATE)
    assert event.actor is None and event.data["to_level"] == "supervised" and event.data["automatic"] is True
    escalated = Notification.objects.filter(target_id=task.pk, event=Event.TASK_ESCALATED)
    assert {p.supervisor.username, p.leader.username} <= set(escalated.values_list("recipient__username", flat=True))
    # 14 October 08:00: 8, 9, 10 (make-up Saturday), 12, 13 October are five working days → 挂牌督办.
    # (Counting Monday–Friday only, the fifth day would end on 14 October: not yet.)
    scan(at(2026, 10, 14, 8))
    task.refresh_from_db()
    assert task.supervision == RectificationTask.Supervision.LISTED
    assert counts(task)["logs"] == ["listed", "overdue", "supervised"]
    assert TaskEvent.objects.filter(task=task, action=TaskEvent.Action.ESCALATE).count() == 2
    # Again later: nothing new.
    before = counts(task)
    scan(at(2026, 10, 20, 8))
    assert counts(task) == before


def test_calendar_override_moves_escalation(loop, personas):
    """A day the office declares off (CalendarOverride) does not count as a working day."""
    from inspections.models import CalendarOverride

    task = loop.task(dispatched_at=at(2026, 11, 2, 9), due_at=at(2026, 11, 10, 23, 59, 59))  # Tuesday
    CalendarOverride.objects.create(date=dt.date(2026, 11, 11), is_workday=False, reason="local holiday")
    scan(at(2026, 11, 12, 8))
    task.refresh_from_db()
    assert task.supervision == RectificationTask.Supervision.NONE
    scan(at(2026, 11, 13, 8))  # 12 Nov is the first working day after the deadline
    task.refresh_from_db()
    assert task.supervision == RectificationTask.Supervision.SUPERVISED


def test_manual_escalation_before_the_automatic_one_is_not_repeated(loop):
    from inspections.services import task_escalate

    p = loop.personas
    task = loop.task(dispatched_at=at(2026, 11, 2, 9), due_at=at(2026, 11, 10, 23, 59, 59))
    task_escalate(actor=p.supervisor, task=task, level=RectificationTask.Supervision.SUPERVISED)
    scan(at(2026, 11, 12, 8))
    task.refresh_from_db()
    assert task.supervision == RectificationTask.Supervision.SUPERVISED
    assert TaskEvent.objects.filter(task=task, action=TaskEvent.Action.ESCALATE).count() == 1
    assert "supervised" in counts(task)["logs"]


def test_emails_render_in_each_recipients_language(loop, eager, django_capture_on_commit_callbacks):
    p = loop.personas
    p.handler_a.language = "en"
    p.handler_a.save(update_fields=["language"])
    p.head_a.language = "zh-hans"
    p.head_a.save(update_fields=["language"])
    task = loop.task(dispatched_at=at(2026, 11, 16, 9), due_at=at(2026, 11, 19, 23, 59, 59))
    with django_capture_on_commit_callbacks(execute=True):
        scan(at(2026, 11, 19, 12))
    by_address = {m.to[0]: m for m in mail.outbox}
    english, chinese = by_address[p.handler_a.email], by_address[p.head_a.email]
    assert f"Task #{task.pk} is due soon" in english.subject
    assert "Reminder" in english.subject and "Open the task" in english.body
    assert f"/tasks/{task.pk}/" in english.body
    assert f"整改任务 #{task.pk} 即将到期" in chinese.subject
    assert "提醒" in chinese.subject and "打开任务" in chinese.body
    assert "Task #" not in chinese.subject and "即将到期" not in english.subject
    html = dict((m.to[0], m.alternatives[0][0]) for m in mail.outbox)
    assert "<a href=" in html[p.handler_a.email] and "打开任务" in html[p.head_a.email]
    # The inbox rows are in each person's language too.
    assert Notification.objects.get(recipient=p.handler_a, target_id=task.pk).title.startswith("Task #")
    assert Notification.objects.get(recipient=p.head_a, target_id=task.pk).title.startswith("整改任务")
    assert set(Notification.objects.filter(target_id=task.pk).values_list("email_status", flat=True)) == {"sent"}


def test_email_preference_off_keeps_the_inbox(loop, eager, django_capture_on_commit_callbacks):
    from notifications.services import preferences_set

    p = loop.personas
    preferences_set(actor=p.handler_a, email={Event.TASK_DUE_SOON: False})
    loop.task(dispatched_at=at(2026, 11, 16, 9), due_at=at(2026, 11, 19, 23, 59, 59))
    with django_capture_on_commit_callbacks(execute=True):
        scan(at(2026, 11, 19, 12))
    assert [m.to[0] for m in mail.outbox] == [p.head_a.email]
    assert Notification.objects.filter(recipient=p.handler_a, email_status="none").count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_scans_on_postgresql_send_each_level_once(loop, on_postgresql):
    task = loop.task(dispatched_at=at(2026, 9, 25, 9), due_at=at(2026, 9, 30, 23, 59, 59))
    now = at(2026, 10, 14, 8)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def worker():
        try:
            barrier.wait(timeout=10)
            for task_id, level in reminders.due_reminders(now):
                results.append(reminders.task_remind(task_id=task_id, level=level, now=now))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    # Both threads saw the three levels due; each level was sent by exactly one of them.
    assert len(results) == 6 and results.count(True) == 3
    assert counts(task)["logs"] == ["listed", "overdue", "supervised"]
    per_level = {}
    for event, recipient in Notification.objects.filter(target_id=task.pk).values_list("event", "recipient"):
        per_level[(event, recipient)] = per_level.get((event, recipient), 0) + 1
    # overdue once per person; escalated twice per person (督办, then 挂牌督办), never more.
    assert set(per_level.values()) <= {1, 2}
    assert max(v for (e, _r), v in per_level.items() if e == Event.TASK_OVERDUE) == 1
    assert TaskEvent.objects.filter(task=task, action=TaskEvent.Action.ESCALATE).count() == 2
    task.refresh_from_db()
    assert task.supervision == RectificationTask.Supervision.LISTED


def test_plain_text_email_is_not_html_escaped_but_the_html_part_is(loop, eager, django_capture_on_commit_callbacks):
    task = loop.task(dispatched_at=at(2026, 11, 16, 9), due_at=at(2026, 11, 19, 23, 59, 59),
                     description='门口"<b>垃圾</b>" & 杂物')
    with django_capture_on_commit_callbacks(execute=True):
        scan(at(2026, 11, 19, 12))
    message = mail.outbox[0]
    assert '门口"<b>垃圾</b>" & 杂物' in message.body
    assert "&lt;b&gt;" in message.alternatives[0][0] and "<b>垃圾" not in message.alternatives[0][0]
    assert f"#{task.pk}" in message.subject and "&" not in message.subject


@pytest.mark.parametrize("n", [1, 12])
def test_the_scan_reads_in_a_fixed_number_of_queries(loop, django_assert_max_num_queries, n):
    for _ in range(n):
        loop.task(dispatched_at=at(2026, 9, 25, 9), due_at=at(2026, 9, 30, 23, 59, 59))
    with time_machine.travel(at(2026, 10, 14, 8), tick=False), django_assert_max_num_queries(4):
        due = reminders.due_reminders()
    assert len(due) == 3 * n
