"""Measure the reminder scan (issue 5): N open tasks spread over every
traffic-light state, one scan (the SQL part beat runs every few minutes),
then sending every due level in-process, then a second scan (nothing to do).

    DATABASE_URL=... .venv/bin/python manage.py load_demo
    DATABASE_URL=... .venv/bin/python benchmarks/reminder_scan.py [--tasks 5000] [--keep]

Everything is rolled back unless --keep is given (emails go to the configured backend
only if --keep, since they are queued after commit).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "civportal.settings")

import django  # noqa: E402

django.setup()

from django.db import transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from campaigns.models import Unit, User  # noqa: E402
from inspections import reminders  # noqa: E402
from inspections.models import Finding, FindingCategory, RectificationTask  # noqa: E402


class Rollback(Exception):
    pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=5000)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    unit = Unit.objects.get(code="MZ01")
    supervisor = User.objects.get(username="supervisor")
    category, _ = FindingCategory.objects.get_or_create(code="BENCH", defaults={"name": "benchmark"})
    now = timezone.now()
    try:
        with transaction.atomic():
            findings = Finding.objects.bulk_create([
                Finding(source=Finding.Source.HOTLINE, unit=unit, category=category, severity="moderate",
                        description=f"bench {i}", observed_at=now, reporter=supervisor,
                        status=Finding.Status.DISPATCHED)
                for i in range(args.tasks)])
            tasks = []
            for i, f in enumerate(findings):
                # Due between 10 days ago and 10 days ahead: green, yellow, red, 督办, 挂牌督办.
                due = now + dt.timedelta(hours=(i % 480) - 240)
                start = due - dt.timedelta(days=3)
                tasks.append(RectificationTask(finding=f, unit=unit, dispatched_at=start, original_due_at=due,
                                               due_at=due, warn_at=start + (due - start) * 0.8))
            RectificationTask.objects.bulk_create(tasks)
            t = time.perf_counter()
            due = reminders.due_reminders(now)
            scan = time.perf_counter() - t
            t = time.perf_counter()
            for task_id, level in due:
                reminders.task_remind(task_id=task_id, level=level, now=now)
            send = time.perf_counter() - t
            t = time.perf_counter()
            again = reminders.due_reminders(now)
            rescan = time.perf_counter() - t
            print(f"{args.tasks} open tasks: scan {scan:.2f} s → {len(due)} levels due; "
                  f"sending them {send:.1f} s ({send / max(len(due), 1) * 1000:.1f} ms each); "
                  f"second scan {rescan:.2f} s → {len(again)} due")
            if not args.keep:
                raise Rollback
    except Rollback:
        pass


if __name__ == "__main__":
    main()
