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


def _start_worker(project_root, tmp_path, name: str) -> subprocess.Popen:
    settings_db = connection.settings_dict
    env = {**os.environ, "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
           "EMAIL_FILE_PATH": str(tmp_path / "mail"),
           "DATABASE_URL": f"postgres://{settings_db['USER']}@{settings_db['HOST']}:{settings_db['PORT']}/"
                           f"{settings_db['NAME']}"}
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "civportal", "worker", "--pool=threads", "--concurrency=2",
         "--without-heartbeat", "--without-mingle", "--without-gossip", "-l", "INFO", "-n", f"{name}@%h"],
        cwd=project_root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )


def _wait_for(check, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out after {seconds}s waiting for {what}")


def test_a_worker_killed_between_levels_leaves_the_lower_levels_to_the_next_scan(
        loop, project_root, tmp_path, on_postgresql):
    """Issue 14, acceptance 3. 挂牌督办 is logged by one process while a worker holding the
    lower levels is SIGKILLed: the next scan sends 逾期 and 督办, in ladder order, exactly once,
    and a redelivery of the dead worker's message sends nothing more."""
    import signal

    from django.db import transaction

    from civportal.celery import app
    from inspections import reminders
    from inspections.models import TaskEvent
    from inspections.tasks import remind_task

    now = timezone.now()
    task = loop.task(dispatched_at=now - dt.timedelta(days=40), due_at=now - dt.timedelta(days=30))
    app.control.purge()
    assert reminders.due_reminders() == [(task.pk, "overdue"), (task.pk, "supervised"), (task.pk, "listed")]

    doomed = _start_worker(project_root, tmp_path, "doomed")
    try:
        with transaction.atomic():
            # "The other pool process": sends 挂牌督办 first and holds the task's row until it commits.
            assert reminders.task_remind(task_id=task.pk, level="listed") is True
            # The scan's message for the lower levels reaches the worker, which waits for the row ...
            assert reminders.scan().queued == [(task.pk, "overdue"), (task.pk, "supervised")]
            _wait_for(lambda: _lock_waiters() > 0, 60, "the worker to wait for the task's row")
            # ... and is killed there.
            os.kill(doomed.pid, signal.SIGKILL)
            doomed.wait(timeout=30)
    finally:
        if doomed.poll() is None:
            doomed.kill()
        doomed_output = doomed.communicate(timeout=30)[0].decode(errors="replace")
    assert "inspections.remind_task" in doomed_output, doomed_output[-3000:]
    assert list(ReminderLog.objects.filter(object_id=task.pk).values_list("level", flat=True)) == ["listed"]

    # The next scan finds the lower levels although the highest is logged; the dead worker's message
    # is also redelivered (as the broker does after its visibility timeout).
    report = reminders.scan()
    assert report.queued == [(task.pk, "overdue"), (task.pk, "supervised")]
    remind_task.apply_async(kwargs={"task_id": task.pk, "levels": ["overdue", "supervised"]})
    worker = _start_worker(project_root, tmp_path, "next")
    try:
        _wait_for(lambda: ReminderLog.objects.filter(object_id=task.pk).count() == 3, 90, "the lower levels")
        time.sleep(3)  # give a duplicate a chance to show itself
    finally:
        worker.terminate()
        output = worker.communicate(timeout=30)[0].decode(errors="replace")
    logs = list(ReminderLog.objects.filter(object_id=task.pk).order_by("pk").values_list("level", flat=True))
    assert logs == ["listed", "overdue", "supervised"], output[-3000:]
    # Lower levels in ladder order, each once: the timeline and the inbox agree.
    levels = [e.data.get("level") for e in TaskEvent.objects.filter(task=task, action=TaskEvent.Action.REMIND)
              .order_by("pk")]
    assert levels == ["overdue", "supervised"], levels
    overdue = Notification.objects.filter(target_id=task.pk, event=Event.TASK_OVERDUE)
    escalated = Notification.objects.filter(target_id=task.pk, event=Event.TASK_ESCALATED)
    people = overdue.count()
    assert people > 0 and overdue.values("recipient").distinct().count() == people
    assert escalated.count() == 2 * escalated.values("recipient").distinct().count()  # 挂牌督办 and 督办, once each
    first_overdue = overdue.order_by("pk").first().pk
    assert escalated.filter(pk__gt=first_overdue).count() == escalated.count() // 2  # 督办 after 逾期
    assert reminders.due_reminders() == []


def _lock_waiters() -> int:
    import psycopg

    settings_db = connection.settings_dict
    with psycopg.connect(host=settings_db["HOST"], port=settings_db["PORT"], user=settings_db["USER"],
                         dbname=settings_db["NAME"], autocommit=True) as other:
        return other.execute("SELECT count(*) FROM pg_locks WHERE NOT granted").fetchone()[0]
