"""Issue 18, acceptance 4: a real Celery worker on the real broker runs the schedule beat task twice (two
beats racing) and the occurrence task several more times (a redelivered message included), in three
threads at once: one inspection, one occurrence row, one reminder per inspector."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid

import pytest
from django.db import connection
from django.utils import timezone

from inspections.models import Inspection
from notifications.models import Notification
from rounds import services
from rounds.models import ScheduleOccurrence

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _worker(project_root) -> subprocess.Popen:
    db = connection.settings_dict
    env = {**os.environ, "PYTHONUNBUFFERED": "1",
           "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"}
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "civportal", "worker", "--pool=threads", "--concurrency=3",
         "--without-heartbeat", "--without-mingle", "--without-gossip", "-l", "INFO",
         "-n", f"rounds-{uuid.uuid4().hex[:6]}@%h"],
        cwd=project_root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def test_real_worker_turns_an_occurrence_into_one_inspection_however_often_it_runs(
        rounds_world, city, personas, project_root, on_postgresql):
    from civportal.celery import app
    from rounds.tasks import materialize_occurrence, scan_schedules

    today = timezone.localdate()
    schedule = services.schedule_create(
        actor=personas.supervisor, campaign=rounds_world.campaign, title="日常督查", kind="supervision",
        unit=city.city, frequency="DAILY", interval=1, starts_on=today, duration_days=1, lead_days=0,
        inspectors=[personas.inspector, rounds_world.inspector2], points=[rounds_world.plan.point_a])
    app.control.purge()
    worker = _worker(project_root)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(worker.stdout.readline, "")), daemon=True)
    reader.start()
    try:
        # Publish once the worker listens: the messages then race over its three threads at once.
        ready = time.monotonic() + 240
        while not any(" ready." in line for line in lines) and time.monotonic() < ready and worker.poll() is None:
            time.sleep(0.2)
        # Two beats racing: the scan is sent twice; each fans out one occurrence task.
        scan_schedules.apply_async()
        scan_schedules.apply_async()
        # The occurrence task three more times, twice with one message id (a broker redelivery).
        kwargs = {"schedule_id": schedule.pk, "occurs_on": today.isoformat()}
        message_id = str(uuid.uuid4())
        materialize_occurrence.apply_async(kwargs=kwargs, task_id=message_id)
        materialize_occurrence.apply_async(kwargs=kwargs, task_id=message_id)
        materialize_occurrence.apply_async(kwargs=kwargs)
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            done = [line.rstrip() for line in lines if "succeeded in" in line]
            scans = [int(line.rsplit(": ", 1)[1]) for line in done if "rounds.scan_schedules" in line]
            runs = sum("rounds.materialize_occurrence" in line for line in done)
            # Each scan fans out one occurrence task unless the occurrence was already made.
            if len(scans) >= 2 and runs >= 3 + sum(scans):
                break
            time.sleep(0.3)
        else:
            pytest.fail("the worker did not run every message in 240 s:\n" + "".join(lines[-40:]))
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
        reader.join(timeout=5)
    output = "".join(lines)
    assert ScheduleOccurrence.objects.filter(schedule=schedule).count() == 1, output[-3000:]
    occurrence = ScheduleOccurrence.objects.get(schedule=schedule)
    assert occurrence.occurs_on == today
    assert Inspection.objects.count() == 1 and occurrence.inspection.planned_visits.count() == 1
    reminders = Notification.objects.filter(target_id=occurrence.inspection_id)
    assert sorted(reminders.values_list("recipient__username", flat=True)) == ["p_inspector", "p_inspector2"]
    # Exactly one of the occurrence runs made the inspection; every other answered None.
    made = [line.rstrip() for line in lines if "rounds.materialize_occurrence" in line and "succeeded in" in line]
    assert len(made) >= 3 and "rounds.materialize_occurrence" in output
    assert sum(line.endswith(f": {occurrence.inspection_id}") for line in made) == 1, output[-3000:]
    assert sum(line.endswith(": None") for line in made) == len(made) - 1, output[-3000:]
