"""Two real beats (celery-redbeat) and a real worker on Redis: while the
active beat schedules the reminder scan every 2 s, it is killed and the other
takes over; the task due soon gets its reminder exactly once (one ReminderLog,
one inbox row per person) however many scans both beats sent."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
from django.db import connection
from django.utils import timezone

from notifications.models import Event, Notification, ReminderLog
from tests.civportal.test_ha_beat import LOCK_TIMEOUT, SCAN_SECONDS, _drop_queue, sends, start_beat, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_two_beats_and_a_takeover_send_each_reminder_once(loop, project_root, tmp_path, broker_url,
                                                           on_postgresql):
    if not broker_url.startswith("redis://"):
        pytest.fail("this test needs the Redis broker: run it with bin/test")
    now = timezone.now()
    task = loop.task(dispatched_at=now - dt.timedelta(days=4), due_at=now + dt.timedelta(hours=6))
    queue = f"beattest-{uuid.uuid4().hex[:8]}"
    s = connection.settings_dict
    env = {**os.environ, "CELERY_BROKER_URL": broker_url, "CACHE_KEY_PREFIX": queue, "CELERY_QUEUE": queue,
           "BEAT_LOCK_TIMEOUT": str(LOCK_TIMEOUT), "REMINDER_SCAN_SECONDS": str(SCAN_SECONDS),
           "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend", "EMAIL_FILE_PATH": str(tmp_path / "mail"),
           "DATABASE_URL": f"postgres://{s['USER']}@{s['HOST']}:{s['PORT']}/{s['NAME']}"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "civportal", "worker", "-Q", queue, "--pool=threads",
         "--concurrency=2", "--without-heartbeat", "--without-mingle", "--without-gossip", "-l", "INFO"],
        cwd=project_root, env=env, stdout=(tmp_path / "worker.log").open("wb"), stderr=subprocess.STDOUT,
        start_new_session=True)
    a, a_log = start_beat("a", env, project_root, tmp_path)
    b = None
    try:
        wait_for(a_log, "beat: Acquired lock", 120)
        b, b_log = start_beat("b", env, project_root, tmp_path)
        wait_for(b_log, "beat: Starting", 120)
        deadline = time.monotonic() + 90
        while not ReminderLog.objects.filter(object_id=task.pk).exists():
            assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()[-3000:]
            time.sleep(0.5)
        os.killpg(a.pid, signal.SIGKILL)
        a.wait(timeout=10)
        wait_for(b_log, "Sending due task task-reminders", LOCK_TIMEOUT + 4 * SCAN_SECONDS + 10)
        time.sleep(3 * SCAN_SECONDS)  # b's scans reach the worker too
        worker_log = (tmp_path / "worker.log").read_text(errors="replace")
        assert worker_log.count("inspections.scan_task_reminders") >= 4, worker_log[-3000:]
        assert len(sends(a_log)) >= 1 and len(sends(b_log)) >= 2
        assert ReminderLog.objects.filter(object_id=task.pk).count() == 1
        rows = Notification.objects.filter(target_id=task.pk, event=Event.TASK_DUE_SOON)
        assert sorted(rows.values_list("recipient__username", flat=True)) == ["p_handler_a", "p_head_a"]
    finally:
        for process in (a, b, worker):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        _drop_queue(broker_url, queue)
