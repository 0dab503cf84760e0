"""Seed the bench-1M dataset (TARGETS.md) for the monthly score benchmark.

    createdb -h 127.0.0.1 -U postgres civportal_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/civportal_bench \
        .venv/bin/python benchmarks/seed_bench.py [--scale 1.0] [--months 12] [--reset]

Shape at --scale 1: 1 city, 16 districts, 320 streets, 3,200 communities,
32,000 grids and 60 departments; 40,000 points; 12 monthly inspection rounds
of 2025 with one visit per point per month; 1,000,000 findings (85% on
visits, 15% hotline), 300,000 rectification tasks with verify-fail events and
approved extensions. ``--months N`` (default 12) seeds N months ending with
December 2025 at the same density per month (24 months: 2,000,000 findings,
600,000 tasks), so that a month's data stays the same while the history grows
(the index growth check of benchmarks/scores_month.py). 200,000 registered volunteers in the communities
(scaled like the points; the volunteer lists and statistics read them, the score does not).
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
from bisect import bisect_left, bisect_right
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
from volunteers import tally as volunteer_tally  # noqa: E402
from volunteers.models import Volunteer  # noqa: E402
from inspections import rollups  # noqa: E402
from inspections.models import (  # noqa: E402
    ChronicPoint, ClosureTally, ExtensionRequest, Finding, FindingCategory, FindingTally, Inspection,
    RecurrenceTally, RectificationTask, TaskEvent, Visit,
)

SH = ZoneInfo("Asia/Shanghai")
YEAR = 2025
SEVERITIES = ["minor"] * 5 + ["moderate"] * 4 + ["severe"]
# Finding descriptions (searched by ?q=): each phrase in one finding in twenty.
PROBLEMS = ["垃圾桶满溢", "机动车乱停乱放", "占道经营", "小广告张贴", "绿化带破损", "井盖缺失", "道路积水",
            "墙面污损", "非机动车乱停", "违规搭建", "流动摊贩", "宣传栏破损", "公厕不洁", "楼道堆物",
            "电线私拉乱接", "犬只未牵绳", "餐厨垃圾外溢", "噪声扰民", "路灯不亮", "盲道被占用"]


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


def drop_plain_indexes(*models) -> list[tuple[str, str]]:
    """Drop the plain indexes, unique constraints and foreign keys of ``models`` for the load;
    ``create_indexes`` builds them once afterwards: one sort per index instead of a million
    incremental inserts, and one join per foreign key instead of a queued trigger per row."""
    if connection.vendor != "postgresql":
        return []
    tables = [m._meta.db_table for m in models]
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # fire the checks queued so far: no ALTER with pending events
        cursor.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = current_schema()"
            " AND i.tablename = ANY(%s) AND NOT EXISTS (SELECT 1 FROM pg_constraint c"
            " WHERE c.conname = i.indexname)", [tables])
        deferred = cursor.fetchall()
        for name, _definition in deferred:
            cursor.execute(f'DROP INDEX "{name}"')
        # Unique constraints (the finding's uid, the rollups' keys) are rebuilt by one sort each too;
        # foreign keys last, so that they are added back after the keys they may rely on.
        cursor.execute(
            "SELECT c.conname, c.conrelid::regclass::text, pg_get_constraintdef(c.oid) FROM pg_constraint c"
            " WHERE c.contype IN ('u', 'f') AND c.conrelid = ANY(%s::regclass[])"
            " ORDER BY c.contype = 'f', 1", [tables])
        constraints = cursor.fetchall()
        for name, table, definition in reversed(constraints):  # foreign keys dropped first
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        deferred += [(name, f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
                     for name, table, definition in constraints]
    return deferred


def create_indexes(deferred: list[tuple[str, str]]) -> list[tuple[float, str]]:
    """Build the dropped indexes, then add the foreign keys back (each checks the loaded rows once)."""
    took = []
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for name, definition in deferred:
            t0 = time.monotonic()
            cursor.execute(definition)
            took.append((time.monotonic() - t0, name))
    return sorted(took, reverse=True)


def reset_sequences(*models) -> None:
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in models:
            table = model._meta.db_table
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                           f"COALESCE((SELECT MAX(id) FROM {table}), 1))")


def month_starts(months: int) -> list[dt.date]:
    """The first days of the ``months`` months ending with December of YEAR, oldest first."""
    firsts = []
    for k in range(months - 1, -1, -1):
        index = YEAR * 12 + 11 - k
        firsts.append(dt.date(index // 12, index % 12 + 1, 1))
    return firsts


def seed(scale: float, rng: random.Random, out=print, months: int = 12) -> dict:
    now = timezone.now()
    firsts = month_starts(months)
    f = min(1.0, scale) ** (1 / 3)  # smaller scales shrink each level of the tree alike
    n_districts, n_streets, n_comms, n_grids = 16, max(2, round(20 * f)), max(2, round(10 * f)), max(2, round(10 * f))
    n_points = max(100, int(40_000 * scale))
    n_volunteers = max(200, int(200_000 * scale))
    n_findings = max(1000, int(1_000_000 * scale)) * months // 12  # same density per month
    n_tasks = max(300, int(300_000 * scale)) * months // 12
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
    grids, territorial, communities = [], [], []
    for d in range(1, n_districts + 1):
        dp = step(city_path, 2, d)
        territorial.append(add(dp, 2, n_streets, f"BM{d:02d}", f"第{d}区", Unit.Kind.DISTRICT))
        for s in range(1, n_streets + 1):
            sp = step(dp, 3, s)
            add(sp, 3, n_comms, f"BM{d:02d}{s:02d}", f"第{d}区{s}街道", Unit.Kind.STREET)
            for c in range(1, n_comms + 1):
                cp = step(sp, 4, c)
                communities.append(add(cp, 4, n_grids, f"BM{d:02d}{s:02d}{c:02d}", f"{d}-{s}-{c}社区",
                                       Unit.Kind.COMMUNITY))
                for g in range(1, n_grids + 1):
                    gid = add(step(cp, 5, g), 5, 0, f"BM{d:02d}{s:02d}{c:02d}{g:02d}", f"{d}-{s}-{c}-{g}网格",
                              Unit.Kind.GRID)
                    grids.append(gid)
    departments = [add(step(city_path, 2, n_districts + k), 2, 0, f"BM-D{k:02d}", f"部门{k}",
                       Unit.Kind.DEPARTMENT) for k in range(1, 61)]
    copy_rows(Unit, ["id", "path", "depth", "numchild", "code", "name", "kind", "population", "active",
                     "created_at", "updated_at"], units)
    path_of = {row[0]: row[1] for row in units}  # the scope path columns are computed here, not updated later
    path_of[None] = ""
    out(f"units {len(units):,} ({time.monotonic() - t0:.1f}s)")

    # --- reference data ----------------------------------------------------------------------
    types = [PointType.objects.create(code=f"BT{i}", name=f"基准点位类型{i}", weight=Decimal(1 + i % 3))
             for i in range(10)]
    cats = [FindingCategory.objects.create(code=f"BC{i}", name=f"基准问题{i}", deduction=Decimal(1 + i % 5))
            for i in range(30)]
    campaign = Campaign.objects.create(name=f"{YEAR}基准创城", starts_on=firsts[0],
                                       ends_on=dt.date(YEAR, 12, 31), status=Campaign.Status.ACTIVE)
    inspections = [Inspection.objects.create(campaign=campaign, title=f"{d.year}年{d.month}月测评",
                                             kind="field_evaluation", unit_id=1, starts_on=d,
                                             ends_on=d.replace(day=28)) for d in firsts]

    # Every index but the primary keys is built once after the load (the points' path indexes too).
    deferred = drop_plain_indexes(Volunteer, Point, Visit, Finding, RectificationTask, TaskEvent, ExtensionRequest,
                                  FindingTally, ClosureTally, RecurrenceTally, ChronicPoint)

    # --- volunteers: registered in the communities, most of them active -----------------------
    statuses = [Volunteer.Status.ACTIVE] * 8 + [Volunteer.Status.APPLIED, Volunteer.Status.LEFT]
    vrng = random.Random(n_volunteers)  # their own draws: the findings and tasks stay those of the seed

    def volunteer_rows():
        for i in range(1, n_volunteers + 1):
            unit = communities[(i - 1) % len(communities)]
            yield (i, f"基准志愿者{i}", f"139{i:08d}", "", vrng.choice(("female", "male")), vrng.randrange(1950, 2006),
                   "", unit, None, vrng.choice(statuses), Volunteer.Source.IMPORT,
                   firsts[0] + dt.timedelta(days=vrng.randrange(365)), None, None, None, "", now, now,
                   path_of[unit])

    nvol = copy_rows(Volunteer, ["id", "name", "phone", "id_number", "gender", "birth_year", "skills", "unit_id",
                                 "team_id", "status", "source", "registered_on", "user_id", "reviewed_by_id",
                                 "reviewed_at", "status_note", "created_at", "updated_at", "unit_path"],
                     volunteer_rows())
    out(f"volunteers {nvol:,} ({time.monotonic() - t0:.1f}s)")

    # --- points ------------------------------------------------------------------------------
    point_rows, point_meta = [], []
    for i in range(1, n_points + 1):
        unit = grids[(i - 1) % len(grids)]
        dept = rng.choice(departments) if rng.random() < 0.5 else None
        ptype = rng.choice(types).pk
        point_rows.append((i, f"BP{i:06d}", f"基准点位{i}", ptype, "", None, None, unit, dept, True, now, now,
                           path_of[unit], path_of[dept]))
        point_meta.append((i, unit, dept))
    copy_rows(Point, ["id", "code", "name", "point_type_id", "address", "latitude", "longitude", "unit_id",
                      "department_id", "active", "created_at", "updated_at", "unit_path", "department_path"],
              point_rows)
    out(f"points {len(point_rows):,} ({time.monotonic() - t0:.1f}s)")

    # --- visits: one per point per month ----------------------------------------------------------
    visits = []  # (id, point, unit, dept, month, visited_at)

    def visit_rows():
        vid = 0
        for m, first in enumerate(firsts):
            days = ((first + dt.timedelta(days=31)).replace(day=1) - first).days
            start = dt.datetime(first.year, first.month, 1, tzinfo=SH)
            for pid, unit, dept in point_meta:
                vid += 1
                at = start + dt.timedelta(
                    days=rng.randrange(days), hours=rng.randrange(8, 18), minutes=rng.randrange(60))
                visits.append((vid, pid, unit, dept, m, at))
                yield (vid, inspections[m].pk, pid, unit, at, None, None, None, False, "", now, now,
                       path_of[unit], path_of[dept])

    nv = copy_rows(Visit, ["id", "inspection_id", "point_id", "unit_id", "visited_at", "inspector_id", "latitude",
                           "longitude", "is_clean", "notes", "created_at", "updated_at", "unit_path",
                           "department_path"], visit_rows())
    out(f"visits {nv:,} ({time.monotonic() - t0:.1f}s)")

    # --- findings: 85% on visits, 15% hotline --------------------------------------------------
    # Every value is decided before the COPY (no whole-table UPDATE afterwards): first the
    # findings' core, then the tasks (which decide whether a finding is closed), then both COPYs.
    from campaigns.models import User

    requester = User.objects.get_or_create(username="bench", defaults={"display_name": "基准"})[0].pk
    last_month = dt.datetime(YEAR, 12, 1, tzinfo=SH)
    out(f"visits in memory ({time.monotonic() - t0:.1f}s)")
    core = []  # (severity, cat, status, observed, visit, point, unit, dept, source, dup_of, description, address)
    task_candidates = []  # (finding id, unit, dept, observed, category)
    for fid in range(1, n_findings + 1):
        severity = rng.choice(SEVERITIES)
        cat = rng.choice(cats).pk
        r = rng.random()
        status = "void" if r < 0.02 else "duplicate" if r < 0.03 else "dispatched"
        if rng.random() < 0.85:
            vid, pid, unit, dept, _m, at = visits[rng.randrange(len(visits))]
            observed, visit_id, point_id, source = at, vid, pid, "inspection"
        else:
            first = firsts[rng.randrange(months)]
            observed = dt.datetime(first.year, first.month, 1, tzinfo=SH) + dt.timedelta(days=rng.randrange(28),
                                                                        hours=rng.randrange(24))
            visit_id = point_id = None
            unit, dept, source = rng.choice(grids), None, "hotline"
        dup_of = 1 if status == "duplicate" and fid > 1 else None
        if status == "duplicate" and dup_of is None:
            status = "dispatched"
        if status == "dispatched":
            task_candidates.append((fid, unit, dept, observed, cat))
        # Searchable text (?q=): one of PROBLEMS, with a street address.
        description = f"{PROBLEMS[fid % len(PROBLEMS)]}，基准问题{fid % 97}"
        address = f"基准路{unit % 500}号"
        core.append((severity, cat, status, observed, visit_id, point_id, unit, dept, source, dup_of, description,
                     address))

    # --- tasks, events, extensions: decided before the findings are written -------------------------
    out(f"findings decided ({time.monotonic() - t0:.1f}s)")
    chosen = rng.sample(task_candidates, min(n_tasks, len(task_candidates)))
    events, extensions, tasks = [], [], []
    outcome = {}  # finding id -> closed_at of its closed task, or None while the task is open/void
    eid = xid = 0
    for tid, (fid, unit, dept, observed, cat) in enumerate(chosen, start=1):
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
        outcome[fid] = closed
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
        # Created when dispatched (the API pages by creation), last changed when closed.
        tasks.append((tid, fid, unit, status, "none", "", dispatched, None, due, final_due, dispatched, None, None,
                      closed, None, voided, "", reworks, 1 if final_due != due else 0, None, dispatched,
                      closed or dispatched, path_of[unit], path_of[dept], campaign.pk, cat))

    # The stored repeat flag (DESIGN §6, as inspections.services keeps it): an earlier counting finding
    # of the same category at the same point within 30 days.
    seen: dict[tuple[int, int], list] = {}
    for severity, cat, status, observed, visit_id, point_id, *_rest in core:
        if point_id is not None and status not in ("void", "duplicate"):
            seen.setdefault((point_id, cat), []).append(observed)
    for times in seen.values():
        times.sort()

    def repeat(point_id, cat, observed) -> bool:
        if point_id is None:
            return False
        times = seen.get((point_id, cat), ())
        i = bisect_left(times, observed - dt.timedelta(days=30))
        return i < len(times) and times[i] < observed

    def came_back(point_id, cat, closed_at):
        """Finding.recurred_at as inspections.recurrence keeps it: the first counting finding of the
        pair observed after the closure (decided here, so the seeder needs no UPDATE of findings)."""
        if point_id is None or closed_at is None:
            return None
        times = seen.get((point_id, cat), ())
        i = bisect_right(times, closed_at)
        return times[i] if i < len(times) else None

    def finding_rows():
        for fid, (severity, cat, status, observed, visit_id, point_id, unit, dept, source, dup_of, description,
                  address) in enumerate(core, start=1):
            closed_at = None
            if status == "dispatched":
                if fid in outcome:  # a finding is closed with its closed task
                    closed_at = outcome[fid]
                    status = "closed" if closed_at is not None else status
                elif observed >= last_month:  # never dispatched: the last month's still wait for triage
                    status = "new"
                else:  # … the older ones were fixed on the spot
                    status, closed_at = "closed", observed
            yield (fid, uuid.uuid4(), campaign.pk, source, None, visit_id, point_id, unit, dept, None, cat, severity,
                   description, address, None, None, observed, None, "", "", repeat(point_id, cat, observed), status,
                   dup_of, "", closed_at, observed, observed, path_of[unit], path_of[dept],
                   came_back(point_id, cat, closed_at) if status == "closed" else None)

    nf = copy_rows(Finding, ["id", "uid", "campaign_id", "source", "external_id", "visit_id", "point_id", "unit_id",
                             "department_id", "indicator_id", "category_id", "severity", "description", "address",
                             "latitude", "longitude", "observed_at", "reporter_id", "reporter_name",
                             "reporter_contact", "is_repeat", "status", "duplicate_of_id", "void_reason",
                             "closed_at", "created_at", "updated_at", "unit_path", "department_path", "recurred_at"],
                    finding_rows())
    del core
    out(f"findings {nf:,} ({time.monotonic() - t0:.1f}s)")

    nt = copy_rows(RectificationTask, [
        "id", "finding_id", "unit_id", "status", "supervision", "instructions", "dispatched_at", "dispatched_by_id",
        "original_due_at", "due_at", "warn_at", "accepted_at", "submitted_at", "closed_at", "closed_by_id",
        "voided_at", "void_reason", "rework_count", "extension_count", "escalated_at", "created_at", "updated_at",
        "unit_path", "department_path", "campaign_id", "category_id",
    ], iter(tasks))
    out(f"tasks ({time.monotonic() - t0:.1f}s)")
    copy_rows(TaskEvent, ["id", "task_id", "actor_id", "action", "from_status", "to_status", "note", "data",
                          "created_at"], iter(events))
    copy_rows(ExtensionRequest, ["id", "task_id", "reason", "requested_due_at", "previous_due_at", "requested_by_id",
                                 "requested_at", "status", "decided_by_id", "decided_at", "decision_note"],
              iter(extensions))
    reset_sequences(Unit, Volunteer, Point, Visit, Finding, RectificationTask, TaskEvent, ExtensionRequest)
    t1 = time.monotonic()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # the rollups' GROUP BY over a million rows: hash in memory, no spill
            cursor.execute("SET LOCAL work_mem = '256MB'")
    rollups.rebuild(recurrence_column=False)  # the dashboards' summaries; recurred_at was decided above
    volunteer_tally.rebuild()  # registered volunteers per community (the dashboards' volunteer figure)
    out(f"rollups ({time.monotonic() - t1:.1f}s)")
    t1 = time.monotonic()
    took = create_indexes(deferred)
    out(f"{len(deferred)} indexes and foreign keys built after the load ({time.monotonic() - t1:.1f}s; slowest: "
        + ", ".join(f"{name} {sec:.1f}s" for sec, name in took[:3]) + ")")
    out(f"tasks {nt:,}, rework events {len(events):,}, extensions {len(extensions):,} "
        f"({time.monotonic() - t0:.1f}s)")
    return {"campaign": campaign.pk, "units": len(units), "volunteers": nvol, "points": n_points, "visits": nv, "findings": nf,
            "tasks": nt}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = bench-1M")
    parser.add_argument("--months", type=int, default=12,
                        help="months of data ending with December 2025, same density per month (24: the index "
                             "growth check)")
    parser.add_argument("--seed", type=int, default=20261101)
    parser.add_argument("--reset", action="store_true", help="flush the database first (it must be a bench database)")
    args = parser.parse_args()
    name = connection.settings_dict["NAME"]
    if "bench" not in str(name) and "test" not in str(name):
        sys.exit(f"refusing to seed {name!r}: use a database whose name contains 'bench'")
    started = time.monotonic()
    call_command("migrate", verbosity=0)
    if Unit.objects.exists():
        if not args.reset:
            sys.exit("the database already has units: pass --reset to flush it")
        call_command("flush", interactive=False, verbosity=0)
    t0 = time.monotonic()
    migrated = t0 - started
    with transaction.atomic():
        stats = seed(args.scale, random.Random(args.seed), months=args.months)
    loaded = time.monotonic() - t0
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # autocommit: VACUUM cannot run in a transaction
            cursor.execute("VACUUM ANALYZE")
    done = time.monotonic()
    print(f"seeded {stats} in {done - t0:.1f}s (load {loaded:.1f}s, VACUUM ANALYZE {done - t0 - loaded:.1f}s); "
          f"elapsed {done - started:.1f}s with migrate/flush {migrated:.1f}s")


if __name__ == "__main__":
    main()
