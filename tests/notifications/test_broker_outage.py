"""TARGETS R2 / acceptance 3: with the broker unreachable, recording a finding and dispatching a task
still answer success within 2 s; once the broker is back, the next scan and the sweeper send what was due."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.core import mail
from django.utils import timezone

from civportal.celery import app
from inspections import reminders
from inspections.models import Finding, RectificationTask
from notifications import queueing
from notifications.models import DeliveryStatus, Event, Notification, ReminderLog
from tests.inspections.helpers import world

from .conftest import place

CLOSED_PORT_BROKER = "redis://127.0.0.1:1/0"


def switch_broker(url: str) -> None:
    app.conf.broker_url = url
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def broker_down():
    original = app.conf.broker_url
    switch_broker(CLOSED_PORT_BROKER)
    queueing.reset_breaker()

    def back():
        switch_broker(original)
        queueing.reset_breaker()

    yield back
    back()


@pytest.mark.django_db(transaction=True)
def test_requests_succeed_fast_without_a_broker_and_the_next_scan_catches_up(
        city, personas, api, login, broker_down, eager, settings):
    settings.NOTIFY_SWEEP_GRACE = 0
    app.conf.task_always_eager = False  # really publish (and fail) while the broker is down
    w = world(city, personas)
    supervisor_api = api(personas.supervisor)
    # A running server is warm: the first request of this test process pays for imports, not the broker.
    assert api(personas.inspector).get("/api/v1/findings/").status_code == 200

    started = time.monotonic()
    response = api(personas.inspector).post("/api/v1/findings/", {
        "source": "hotline", "unit": city.community_a1.pk, "category": w.category.pk,
        "description": "12345热线：小区门口垃圾堆积", "reporter_name": "市民"}, format="json")
    finding_seconds = time.monotonic() - started
    assert response.status_code == 201, response.content
    finding = Finding.objects.get(pk=response.json()["id"])

    started = time.monotonic()
    response = supervisor_api.post(f"/api/v1/findings/{finding.pk}/dispatch/", {}, format="json")
    dispatch_seconds = time.monotonic() - started
    assert response.status_code == 201, response.content
    task = RectificationTask.objects.get(pk=response.json()["id"])
    assert finding_seconds < 2 and dispatch_seconds < 2, (finding_seconds, dispatch_seconds)
    print(f"broker down: finding {finding_seconds:.3f} s, dispatch {dispatch_seconds:.3f} s")

    # Pages keep working too.
    started = time.monotonic()
    client = login(personas.handler_a)
    assert client.get(f"/tasks/{task.pk}/").status_code == 200
    assert client.get("/notifications/").status_code == 200
    assert time.monotonic() - started < 2

    # The inbox rows were written; the emails wait, pending, for the broker.
    dispatched = Notification.objects.filter(event=Event.TASK_DISPATCHED, target_id=task.pk)
    assert set(dispatched.values_list("recipient__username", flat=True)) == {"p_handler_a", "p_head_a"}
    assert set(dispatched.values_list("email_status", flat=True)) == {DeliveryStatus.PENDING}
    assert Notification.objects.filter(event=Event.FINDING_CREATED, recipient=personas.supervisor).exists()
    assert mail.outbox == []

    # The task becomes overdue while the broker is still down: beat's scan cannot fan out; nothing is lost.
    now = timezone.now()
    place(task, dispatched_at=now - dt.timedelta(days=3), due_at=now - dt.timedelta(hours=1))
    assert reminders.run_scan() == [(task.pk, "overdue")]
    assert not ReminderLog.objects.exists()

    # The broker is back: the next scan and the sweeper send what was due.
    broker_down()
    app.conf.task_always_eager = True
    from inspections.tasks import scan_task_reminders
    from notifications.tasks import sweep_pending

    scan_task_reminders.delay()
    sweep_pending.delay()
    assert list(ReminderLog.objects.values_list("object_id", "level")) == [(task.pk, "overdue")]
    overdue = Notification.objects.filter(event=Event.TASK_OVERDUE, target_id=task.pk)
    assert {"p_handler_a", "p_head_a", "p_supervisor"} <= set(overdue.values_list("recipient__username", flat=True))
    assert not Notification.objects.filter(email_status=DeliveryStatus.PENDING).exists()
    subjects = [m.subject for m in mail.outbox]
    assert any(f"#{task.pk}" in s and ("逾期" in s or "overdue" in s) for s in subjects), subjects
    assert sum(1 for n in dispatched if n.recipient.email in {m.to[0] for m in mail.outbox}) == 2
