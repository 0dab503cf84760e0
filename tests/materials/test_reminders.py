"""Call reminders and escalation: exactly once per owed answer and level (acceptance, item 7)."""

from __future__ import annotations

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
from django.db import connections

from materials import reminders
from materials.models import MaterialCall, MaterialSubmission
from notifications.models import Notification, ReminderLog

from .helpers import open_calls, submit, world

SH = ZoneInfo("Asia/Shanghai")


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=SH)


def _calls(city, personas, deadline):
    w = world(city, personas)
    call = open_calls(w, personas, city, codes=("1.1.1.1",), deadline=deadline)[0]
    return w, call


def _run(now) -> int:
    sent = 0
    for submission_id, level in reminders.due_reminders(now):
        sent += reminders.submission_remind(submission_id=submission_id, level=level, now=now)
    return sent


def test_owed_answers_are_reminded_once_per_level_and_overdue_reaches_the_office(city, personas):
    created = dt.date.today()
    deadline = created + dt.timedelta(days=10)
    w, call = _calls(city, personas, deadline)
    a1 = call.submissions.get(unit=city.street_a1)
    submit(a1, w.clerk_a1)  # A1 answered: never reminded
    # Before 80 %: nothing. At 80 % (day 8): due soon for street A2 only.
    assert _run(at(created + dt.timedelta(days=3))) == 0
    assert _run(at(created + dt.timedelta(days=8))) == 1
    assert _run(at(created + dt.timedelta(days=9))) == 0  # once per level
    note = Notification.objects.get(recipient=w.clerk_a2)
    assert note.event == "workitem.due_soon" and note.url == f"/materials/submissions/{note.target_id}/"
    assert note.target_id == call.submissions.get(unit=w.street_a2).pk
    assert not Notification.objects.filter(recipient=w.clerk_a1).exists()
    # The day after the deadline: overdue, to the unit and to the office (escalation), once.
    after = at(deadline + dt.timedelta(days=1))
    assert _run(after) == 1 and _run(after) == 0
    overdue = Notification.objects.filter(event="workitem.overdue")
    assert {n.recipient_id for n in overdue} >= {w.clerk_a2.pk, personas.supervisor.pk}
    assert ReminderLog.objects.count() == 2
    # A closed call is not reminded.
    MaterialCall.objects.filter(pk=call.pk).update(status=MaterialCall.Status.CLOSED)
    ReminderLog.objects.all().delete()
    assert reminders.due_reminders(after) == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_scans_send_each_level_exactly_once(city, personas, on_postgresql):
    created = dt.date.today()
    deadline = created + dt.timedelta(days=2)
    w, call = _calls(city, personas, deadline)
    now = at(deadline + dt.timedelta(days=1))
    barrier = threading.Barrier(3)
    sent: list[int] = []

    def scan():
        try:
            barrier.wait(timeout=10)
            sent.append(_run(now))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=scan) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    owed = MaterialSubmission.objects.filter(call=call).count()
    assert sum(sent) == owed == 2
    assert ReminderLog.objects.filter(level="overdue").count() == 2
