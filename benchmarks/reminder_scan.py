"""Measure the reminder scan (TARGETS P6, issue 5): N open tasks spread over
every traffic-light state are added to whatever the database holds, then one
scan (the SQL part beat runs every few minutes) over every open task, then
sending every due level of the added tasks in-process, then a second scan
(nothing left for the added tasks).

    DATABASE_URL=... .venv/bin/python benchmarks/reminder_scan.py [--tasks 5000] [--keep]

Runs on the demo data (``manage.py load_demo``) or on a bench database
(``benchmarks/seed_bench.py``: bench-1M holds 300,000 tasks, the open ones all
overdue, so the scan reads the P6 volume). The last line is ``P6 met|not met``:
the scan ≤ 10 s with a query count that does not depend on the number of
tasks (≤ 8); the exit status is 0 only when met. Everything is rolled back
unless --keep is given (emails go to the configured backend only if --keep,
since they are queued after commit).
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

from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
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
    unit = Unit.objects.filter(kind=Unit.Kind.DISTRICT).order_by("path").first()
    if unit is None:
        sys.exit("no district: load the demo data or seed a bench database first")
    supervisor = User.objects.get_or_create(username="bench_reporter", defaults={"display_name": "bench"})[0]
    category, _ = FindingCategory.objects.get_or_create(code="BENCH", defaults={"name": "benchmark"})
    now = timezone.now()
    SCAN_BAR, QUERY_BAR = 10.0, 8
    verdict = "P6 not met: the run failed"
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
                tasks.append(RectificationTask(finding=f, unit=unit, category_id=f.category_id, dispatched_at=start, original_due_at=due,
                                               due_at=due, warn_at=start + (due - start) * 0.8))
            RectificationTask.objects.bulk_create(tasks)
            added = {t.pk for t in tasks}
            open_tasks = RectificationTask.objects.filter(status__in=RectificationTask.OPEN_STATUSES).count()
            with CaptureQueriesContext(connection) as ctx:
                t = time.perf_counter()
                due = reminders.due_reminders(now)
                scan = time.perf_counter() - t
            queries = len(ctx.captured_queries)
            mine = [(task_id, level) for task_id, level in due if task_id in added]
            t = time.perf_counter()
            for task_id, level in mine:
                reminders.task_remind(task_id=task_id, level=level, now=now)
            send = time.perf_counter() - t
            t = time.perf_counter()
            again = reminders.due_reminders(now)
            rescan = time.perf_counter() - t
            left = sum(1 for task_id, _level in again if task_id in added)
            total = RectificationTask.objects.count()
            print(f"{total:,} tasks ({open_tasks:,} open), {args.tasks:,} added: "
                  f"scan {scan:.2f} s in {queries} queries → {len(due):,} levels due ({len(mine):,} of the added); "
                  f"sending those {send:.1f} s ({send / max(len(mine), 1) * 1000:.1f} ms each); "
                  f"second scan {rescan:.2f} s → {left} due of the added")
            met = scan <= SCAN_BAR and queries <= QUERY_BAR and left == 0
            verdict = (f"P6 {'met' if met else 'not met'}: scan of {total:,} tasks {scan:.2f} s "
                       f"(bar {SCAN_BAR:.0f} s), "
                       f"{queries} queries (bar {QUERY_BAR}), {len(due):,} levels due, {left} left after sending")
            if not args.keep:
                raise Rollback
    except Rollback:
        pass
    print(verdict)
    sys.exit(0 if verdict.startswith("P6 met") else 1)


if __name__ == "__main__":
    main()
