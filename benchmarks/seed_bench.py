"""Seed the bench-1M dataset (TARGETS.md) for the monthly score benchmark.

    createdb -h 127.0.0.1 -U postgres civportal_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/civportal_bench \
        .venv/bin/python benchmarks/seed_bench.py [--scale 1.0] [--reset]

Shape at --scale 1: 1 city, 16 districts, 320 streets, 3,200 communities,
32,000 grids and 60 departments; 40,000 points; 12 monthly inspection rounds
of 2025 with one visit per point per month; 1,000,000 findings (85% on
visits, 15% hotline), 300,000 rectification tasks with verify-fail events and
approved extensions. Volunteers are not seeded (the score does not read them).
Fixed random seed; unit paths computed here (as campaigns/imports.py does);
rows go in with PostgreSQL COPY (bulk_create on SQLite, small scales only).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "civportal.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from campaigns.models import Campaign, Point, PointType, Unit  # noqa: E402
from inspections import rollups  # noqa: E402
from inspections.models import (  # noqa: E402
    ExtensionRequest, Finding, FindingCategory, Inspection, RectificationTask, TaskEvent, Visit,
)

SH = ZoneInfo("Asia/Shanghai")
YEAR = 2025
SEVERITIES = ["minor"] * 5 + ["moderate"] * 4 + ["severe"]


def copy_rows(model, fields: list[str], rows) -> int:
    """Insert rows (tuples in ``fields`` order, attnames) fast: COPY on PostgreSQL."""
    columns = [model._meta.get_field(f).column for f in fields]
    n = 0
    if connection.vendor == "postgresql":
        sql = f'COPY {model._meta.db_table} ({", ".join(columns)}) FROM STDIN'
        with connection.cursor() as cursor:
            with cursor.cursor.copy(sql) as copy:
                for row in rows:
                    copy.write_row(row)
                    n += 1
        return n
    batch = []
    for row in rows:
        batch.append(model(**dict(zip(fields, row))))
        if len(batch) >= 2000:
            model.objects.bulk_create(batch)
            n += len(batch)
            batch = []
    model.objects.bulk_create(batch)
    return n + len(batch)


def reset_sequences(*models) -> None:
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in models:
            table = model._meta.db_table
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                           f"COALESCE((SELECT MAX(id) FROM {table}), 1))")


def seed(scale: float, rng: random.Random, out=print) -> dict:
    now = timezone.now()
    f = min(1.0, scale) ** (1 / 3)  # smaller scales shrink each level of the tree alike
    n_districts, n_streets, n_comms, n_grids = 16, max(2, round(20 * f)), max(2, round(10 * f)), max(2, round(10 * f))
    n_points = max(100, int(40_000 * scale))
    n_findings = max(1000, int(1_000_000 * scale))
    n_tasks = max(300, int(300_000 * scale))
    t0 = time.monotonic()

    # --- units: paths allocated here, numchild set, one COPY ---------------------------------
    step = Unit._get_path
    units = []  # (id, path, depth, numchild, code, name, kind)
    next_id = 1

    def add(path, depth, numchild, code, name, kind):
        nonlocal next_id
        units.append((next_id, path, depth, numchild, code, name, kind, None, True, now, now))
        next_id += 1
        return next_id - 1

    city_path = step("", 1, 1)
    add(city_path, 1, n_districts + 60, "BM", "基准市", Unit.Kind.CITY)
    grids, territorial = [], []
    for d in range(1, n_districts + 1):
        dp = step(city_path, 2, d)
        territorial.append(add(dp, 2, n_streets, f"BM{d:02d}", f"第{d}区", Unit.Kind.DISTRICT))
        for s in range(1, n_streets + 1):
            sp = step(dp, 3, s)
            add(sp, 3, n_comms, f"BM{d:02d}{s:02d}", f"第{d}区{s}街道", Unit.Kind.STREET)
            for c in range(1, n_comms + 1):
                cp = step(sp, 4, c)
                add(cp, 4, n_grids, f"BM{d:02d}{s:02d}{c:02d}", f"{d}-{s}-{c}社区", Unit.Kind.COMMUNITY)
                for g in range(1, n_grids + 1):
                    gid = add(step(cp, 5, g), 5, 0, f"BM{d:02d}{s:02d}{c:02d}{g:02d}", f"{d}-{s}-{c}-{g}网格",
                              Unit.Kind.GRID)
                    grids.append(gid)
    departments = [add(step(city_path, 2, n_districts + k), 2, 0, f"BM-D{k:02d}", f"部门{k}",
                       Unit.Kind.DEPARTMENT) for k in range(1, 61)]
    copy_rows(Unit, ["id", "path", "depth", "numchild", "code", "name", "kind", "population", "active",
                     "created_at", "updated_at"], units)
    out(f"units {len(units):,} ({time.monotonic() - t0:.1f}s)")

    # --- reference data ----------------------------------------------------------------------
    types = [PointType.objects.create(code=f"BT{i}", name=f"基准点位类型{i}", weight=Decimal(1 + i % 3))
             for i in range(10)]
    cats = [FindingCategory.objects.create(code=f"BC{i}", name=f"基准问题{i}", deduction=Decimal(1 + i % 5))
            for i in range(30)]
    campaign = Campaign.objects.create(name=f"{YEAR}基准创城", starts_on=dt.date(YEAR, 1, 1),
                                       ends_on=dt.date(YEAR, 12, 31), status=Campaign.Status.ACTIVE)
    inspections = [Inspection.objects.create(campaign=campaign, title=f"{YEAR}年{m}月测评", kind="field_evaluation",
                                             unit_id=1, starts_on=dt.date(YEAR, m, 1),
                                             ends_on=dt.date(YEAR, m, 28)) for m in range(1, 13)]

    # --- points ------------------------------------------------------------------------------
    point_rows, point_meta = [], []
    for i in range(1, n_points + 1):
        unit = grids[(i - 1) % len(grids)]
        dept = rng.choice(departments) if rng.random() < 0.5 else None
        ptype = rng.choice(types).pk
        point_rows.append((i, f"BP{i:06d}", f"基准点位{i}", ptype, "", None, None, unit, dept, True, now, now))
        point_meta.append((i, unit, dept))
    copy_rows(Point, ["id", "code", "name", "point_type_id", "address", "latitude", "longitude", "unit_id",
                      "department_id", "active", "created_at", "updated_at"], point_rows)
    out(f"points {len(point_rows):,} ({time.monotonic() - t0:.1f}s)")

    # --- visits: one per point per month ----------------------------------------------------------
    visits = []  # (id, point, unit, dept, month, visited_at)

    def visit_rows():
        vid = 0
        for m in range(1, 13):
            days = (dt.date(YEAR + (m == 12), m % 12 + 1, 1) - dt.date(YEAR, m, 1)).days
            for pid, unit, dept in point_meta:
                vid += 1
                at = dt.datetime(YEAR, m, 1, tzinfo=SH) + dt.timedelta(
                    days=rng.randrange(days), hours=rng.randrange(8, 18), minutes=rng.randrange(60))
                visits.append((vid, pid, unit, dept, m, at))
                yield (vid, inspections[m - 1].pk, pid, unit, at, None, None, None, False, "", now, now)

    nv = copy_rows(Visit, ["id", "inspection_id", "point_id", "unit_id", "visited_at", "inspector_id", "latitude",
                           "longitude", "is_clean", "notes", "created_at", "updated_at"], visit_rows())
    out(f"visits {nv:,} ({time.monotonic() - t0:.1f}s)")

    # --- findings: 85% on visits, 15% hotline --------------------------------------------------
    task_candidates = []  # (finding id, unit, observed_at)

    def finding_rows():
        for fid in range(1, n_findings + 1):
            severity = rng.choice(SEVERITIES)
            cat = rng.choice(cats).pk
            r = rng.random()
            status = "void" if r < 0.02 else "duplicate" if r < 0.03 else "dispatched"
            if rng.random() < 0.85:
                vid, pid, unit, dept, _m, at = visits[rng.randrange(len(visits))]
                observed, visit_id, point_id, source = at, vid, pid, "inspection"
            else:
                m = rng.randrange(1, 13)
                observed = dt.datetime(YEAR, m, 1, tzinfo=SH) + dt.timedelta(days=rng.randrange(28),
                                                                            hours=rng.randrange(24))
                visit_id = point_id = None
                unit, dept, source = rng.choice(grids), None, "hotline"
            dup_of = 1 if status == "duplicate" and fid > 1 else None
            if status == "duplicate" and dup_of is None:
                status = "dispatched"
            if status == "dispatched":
                task_candidates.append((fid, unit, observed))
            yield (fid, uuid.uuid4(), campaign.pk, source, None, visit_id, point_id, unit, dept, None, cat, severity,
                   "基准问题", "", None, None, observed, None, "", "", False, status, dup_of, "", None, now, now)

    nf = copy_rows(Finding, ["id", "uid", "campaign_id", "source", "external_id", "visit_id", "point_id", "unit_id",
                             "department_id", "indicator_id", "category_id", "severity", "description", "address",
                             "latitude", "longitude", "observed_at", "reporter_id", "reporter_name",
                             "reporter_contact", "is_repeat", "status", "duplicate_of_id", "void_reason",
                             "closed_at", "created_at", "updated_at"], finding_rows())
    out(f"findings {nf:,} ({time.monotonic() - t0:.1f}s)")

    # --- tasks, events, extensions ----------------------------------------------------------------
    chosen = rng.sample(task_candidates, min(n_tasks, len(task_candidates)))
    events, extensions = [], []
    requester = None

    def task_rows():
        eid = xid = 0
        for tid, (fid, unit, observed) in enumerate(chosen, start=1):
            dispatched = observed + dt.timedelta(hours=rng.randrange(1, 48))
            due = dispatched + dt.timedelta(days=rng.choice([1, 3, 5, 7, 20]))
            r = rng.random()
            reworks = 1 if rng.random() < 0.1 else 0
            status, closed, voided = "in_progress", None, None
            if r < 0.05:
                status, voided = "void", due
            elif r < 0.80:
                status = "closed"
                closed = due - dt.timedelta(hours=rng.randrange(1, 24)) if rng.random() < 0.8 else \
                    due + dt.timedelta(days=rng.randrange(1, 15))
            final_due = due
            if rng.random() < 0.03:
                final_due = due + dt.timedelta(days=5)
                xid += 1
                extensions.append((xid, tid, "需要时间", final_due, due, requester, dispatched, "approved", requester,
                                   due - dt.timedelta(hours=2), ""))
            for k in range(reworks):
                eid += 1
                events.append((eid, tid, None, "verify_fail", "submitted", "returned", "", "{}",
                               dispatched + dt.timedelta(hours=12)))
            yield (tid, fid, unit, status, "none", "", dispatched, None, due, final_due, dispatched, None, None,
                   closed, None, voided, "", reworks, 1 if final_due != due else 0, None, now, now, campaign.pk)

    nt = copy_rows(RectificationTask, [
        "id", "finding_id", "unit_id", "status", "supervision", "instructions", "dispatched_at", "dispatched_by_id",
        "original_due_at", "due_at", "warn_at", "accepted_at", "submitted_at", "closed_at", "closed_by_id",
        "voided_at", "void_reason", "rework_count", "extension_count", "escalated_at", "created_at", "updated_at",
        "campaign_id",
    ], task_rows())
    from campaigns.models import User

    requester = User.objects.get_or_create(username="bench", defaults={"display_name": "基准"})[0].pk
    extensions = [e[:5] + (requester, e[6], e[7], requester) + e[9:] for e in extensions]
    copy_rows(TaskEvent, ["id", "task_id", "actor_id", "action", "from_status", "to_status", "note", "data",
                          "created_at"], iter(events))
    copy_rows(ExtensionRequest, ["id", "task_id", "reason", "requested_due_at", "previous_due_at", "requested_by_id",
                                 "requested_at", "status", "decided_by_id", "decided_at", "decision_note"],
              iter(extensions))
    reset_sequences(Unit, Point, Visit, Finding, RectificationTask, TaskEvent, ExtensionRequest)
    settle_statuses(dt.datetime(YEAR, 12, 1, tzinfo=SH))
    rollups.rebuild()  # the dashboards' summaries, from the rows as the loop leaves them
    out(f"tasks {nt:,}, rework events {len(events):,}, extensions {len(extensions):,} "
        f"({time.monotonic() - t0:.1f}s)")
    return {"campaign": campaign.pk, "units": len(units), "points": n_points, "visits": nv, "findings": nf,
            "tasks": nt}


def settle_statuses(last_month) -> None:
    """Make the rows look like the loop's services leave them: creation times follow
    observation and dispatch (the API pages by creation); a finding is closed with
    its closed task; findings never dispatched were fixed on the spot (closed),
    except the last month's, which still wait for triage."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE inspections_finding SET created_at = observed_at, updated_at = observed_at")
        cursor.execute("UPDATE inspections_rectificationtask SET created_at = dispatched_at,"
                       " updated_at = coalesce(closed_at, dispatched_at)")
        cursor.execute("UPDATE inspections_finding f SET status = 'closed', closed_at = t.closed_at"
                       " FROM inspections_rectificationtask t WHERE t.finding_id = f.id AND t.status = 'closed'")
        cursor.execute(
            "UPDATE inspections_finding f SET"
            " status = CASE WHEN f.observed_at >= %s THEN 'new' ELSE 'closed' END,"
            " closed_at = CASE WHEN f.observed_at >= %s THEN NULL ELSE f.observed_at END"
            " WHERE f.status = 'dispatched'"
            " AND NOT EXISTS (SELECT 1 FROM inspections_rectificationtask t WHERE t.finding_id = f.id)",
            [last_month, last_month])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = bench-1M")
    parser.add_argument("--seed", type=int, default=20261101)
    parser.add_argument("--reset", action="store_true", help="flush the database first (it must be a bench database)")
    args = parser.parse_args()
    name = connection.settings_dict["NAME"]
    if "bench" not in str(name) and "test" not in str(name):
        sys.exit(f"refusing to seed {name!r}: use a database whose name contains 'bench'")
    call_command("migrate", verbosity=0)
    if Unit.objects.exists():
        if not args.reset:
            sys.exit("the database already has units: pass --reset to flush it")
        call_command("flush", interactive=False, verbosity=0)
    t0 = time.monotonic()
    with transaction.atomic():
        stats = seed(args.scale, random.Random(args.seed))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    print(f"seeded {stats} in {time.monotonic() - t0:.1f}s")


if __name__ == "__main__":
    main()
