"""Issue 15, acceptance 4: work-item reminders go through the same engine as task reminders
(notifications/reminders.py) and pass the same exactly-once tests: run twice, concurrent,
redelivered, real worker. The task versions are in test_reminders.py and test_worker.py."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from campaigns.models import WorkItem
from inspections import reminders as task_reminders
from notifications import reminders, workitems
from notifications.models import Event, Notification, ReminderLog
from tests.inspections.helpers import world

from .conftest import at


def overdue_item(city, personas, *, created: dt.datetime, deadline: dt.date) -> WorkItem:
    w = world(city, personas)
    with time_machine.travel(created, tick=False):
        return WorkItem.objects.create(campaign=w.campaign, title="背街小巷路面修复", lead_unit=city.district_a,
                                       deadline=deadline)


def sent_once(item) -> None:
    rows = list(Notification.objects.filter(target_id=item.pk, event=Event.WORKITEM_OVERDUE)
                .values_list("recipient__username", flat=True))
    assert sorted(rows) == ["p_handler_a", "p_head_a", "p_supervisor"], rows
    assert list(ReminderLog.objects.filter(object_id=item.pk).values_list("level", flat=True)) == ["overdue"]


def test_both_kinds_use_the_one_engine():
    assert isinstance(workitems.LADDER, reminders.Ladder) and isinstance(task_reminders.LADDER, reminders.Ladder)
    assert workitems.LADDER.levels == ("due_soon", "overdue")
    assert task_reminders.LADDER.levels == ("due_soon", "overdue", "supervised", "listed")


@pytest.mark.django_db
def test_work_items_running_the_scan_twice_sends_once(city, personas):
    item = overdue_item(city, personas, created=at(2026, 11, 1, 9), deadline=dt.date(2026, 11, 11))
    with time_machine.travel(at(2026, 11, 12, 9), tick=False):
        first, second = workitems.scan(inline=True), workitems.scan(inline=True)
    assert first.sent == [(item.pk, "overdue")] and first.claimed == []
    assert second.due == second.sent == []
    sent_once(item)


@pytest.mark.django_db
def test_work_items_a_redelivered_message_sends_nothing_and_says_claimed(city, personas):
    item = overdue_item(city, personas, created=at(2026, 11, 1, 9), deadline=dt.date(2026, 11, 11))
    with time_machine.travel(at(2026, 11, 12, 9), tick=False):
        first = reminders.remind(workitems.LADDER, object_id=item.pk, levels=["overdue"])
        again = reminders.remind(workitems.LADDER, object_id=item.pk, levels=["overdue"])
    assert (first.sent, first.claimed) == (["overdue"], [])
    assert (again.sent, again.claimed) == ([], ["overdue"])
    sent_once(item)
    with pytest.raises(ValueError):
        reminders.remind(workitems.LADDER, object_id=item.pk, levels=["listed"])


@pytest.mark.django_db
def test_the_command_reports_sent_and_claimed_separately(city, personas):
    from io import StringIO

    from django.core.management import call_command

    overdue_item(city, personas, created=at(2026, 11, 1, 9), deadline=dt.date(2026, 11, 11))
    out = StringIO()
    with time_machine.travel(at(2026, 11, 12, 9), tick=False):
        call_command("run_reminder_scan", stdout=out)
        call_command("run_reminder_scan", stdout=out)
    lines = [line for line in out.getvalue().splitlines() if line.startswith("work items")]
    assert lines == ["work items: 1 reminder level(s) sent, 0 already claimed",
                     "work items: 0 reminder level(s) sent, 0 already claimed"]


@pytest.mark.django_db(transaction=True)
def test_work_items_concurrent_scans_send_once(city, personas, on_postgresql):
    item = overdue_item(city, personas, created=at(2026, 11, 1, 9), deadline=dt.date(2026, 11, 11))
    now = at(2026, 11, 12, 9)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def worker():
        try:
            barrier.wait(timeout=10)
            for item_id, level in workitems.due_reminders(now):
                results.append(workitems.workitem_remind(workitem_id=item_id, level=level, now=now))
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
    assert sorted(results) == [False, True]
    sent_once(item)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_work_items_real_worker_sends_once_although_the_message_arrives_three_times(
        city, personas, project_root, tmp_path, on_postgresql):
    from civportal.celery import app
    from notifications.tasks import remind_workitem

    from .test_worker import _start_worker, _wait_for

    today = timezone.localdate()
    item = overdue_item(city, personas, created=timezone.now() - dt.timedelta(days=10),
                        deadline=today - dt.timedelta(days=2))
    app.control.purge()
    assert workitems.scan().queued == [(item.pk, "overdue")]
    for _ in range(2):  # the same message again, as a broker redelivery would
        remind_workitem.apply_async(kwargs={"workitem_id": item.pk, "levels": ["overdue"]})
    worker = _start_worker(project_root, tmp_path, "items")
    try:
        _wait_for(lambda: Notification.objects.filter(target_id=item.pk, event=Event.WORKITEM_OVERDUE).count() >= 3,
                  90, "the work item's reminder")
        time.sleep(3)  # give a duplicate a chance to show itself
    finally:
        worker.terminate()
        output = worker.communicate(timeout=30)[0].decode(errors="replace")
    assert output.count("notifications.remind_workitem") >= 3, output[-3000:]
    sent_once(item)
