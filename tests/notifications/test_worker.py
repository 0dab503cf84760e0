"""Acceptance 1 and 2: a real Celery worker on Redis, the same database; the reminder message is
delivered several times (and to several worker threads at once) and still produces one inbox row per
person and one email each, end to end."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
import uuid
from email import message_from_bytes
from email.header import decode_header, make_header

import pytest
from django.db import connection
from django.utils import timezone

from notifications.models import DeliveryStatus, Event, Notification, ReminderLog

from .conftest import place

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_real_worker_sends_a_reminder_once_although_the_message_arrives_three_times(
        loop, project_root, tmp_path, on_postgresql):
    from civportal.celery import app
    from inspections import reminders
    from inspections.tasks import remind_task

    p = loop.personas
    p.handler_a.language = "en"
    p.handler_a.save(update_fields=["language"])
    now = timezone.now()
    task = loop.task(dispatched_at=now - dt.timedelta(days=4), due_at=now + dt.timedelta(hours=6))
    app.control.purge()
    # The scan publishes one message; the same message (same task id) is published twice more, as a
    # broker redelivery would.
    assert reminders.run_scan() == [(task.pk, "due_soon")]
    message_id = str(uuid.uuid4())
    for _ in range(2):
        remind_task.apply_async(kwargs={"task_id": task.pk, "level": "due_soon"}, task_id=message_id)

    mail_dir = tmp_path / "mail"
    settings_db = connection.settings_dict
    env = {**os.environ, "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
           "EMAIL_FILE_PATH": str(mail_dir),
           "DATABASE_URL": f"postgres://{settings_db['USER']}@{settings_db['HOST']}:{settings_db['PORT']}/"
                           f"{settings_db['NAME']}"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "civportal", "worker", "--pool=threads", "--concurrency=3",
         "--without-heartbeat", "--without-mingle", "--without-gossip", "-l", "INFO"],
        cwd=project_root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            rows = list(Notification.objects.filter(target_id=task.pk, event=Event.TASK_DUE_SOON).values_list("email_status", flat=True))
            if len(rows) >= 2 and all(s == DeliveryStatus.SENT for s in rows):
                time.sleep(2)  # give a duplicate a chance to show itself
                break
            time.sleep(0.5)
    finally:
        worker.terminate()
        output = worker.communicate(timeout=30)[0].decode(errors="replace")
    assert output.count("inspections.remind_task") >= 3, output[-3000:]
    assert ReminderLog.objects.filter(object_id=task.pk).count() == 1, output[-3000:]
    notifications = Notification.objects.filter(target_id=task.pk, event=Event.TASK_DUE_SOON)
    assert sorted(notifications.values_list("recipient__username", flat=True)) == ["p_handler_a", "p_head_a"]
    assert set(notifications.values_list("email_status", flat=True)) == {DeliveryStatus.SENT}, output[-3000:]
    messages = [message_from_bytes(path.read_bytes().split(b"\n" + b"-" * 79 + b"\n")[0])
                for path in mail_dir.iterdir()]
    subjects = sorted(str(make_header(decode_header(m["Subject"]))) for m in messages)
    assert len(subjects) == 2, subjects
    assert any(f"Task #{task.pk} is due soon" in s for s in subjects), subjects
    assert any(f"整改任务 #{task.pk} 即将到期" in s for s in subjects), subjects
