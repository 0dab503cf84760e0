"""Time the dashboards (TARGETS P4) in-process and EXPLAIN their queries.

    createdb -h 127.0.0.1 -U postgres civportal_dash_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/civportal_dash_bench \
        .venv/bin/python benchmarks/seed_bench.py --scale 0.25
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/civportal_dash_bench \
        .venv/bin/python benchmarks/dashboards.py [--month 2025-06] [--runs 30]

Renders the supervisor dashboard (city) and the unit dashboard (one district)
with Django's test client (the whole view: middleware, queries, template) as a
city supervisor and a district head, ``--runs`` times each after one warm-up,
and prints p50/p95/max and the number of queries per request, and the same
for the floor: the hand-written SQL of the supervisor dashboard's figures
(``FLOOR_SQL``, a raw cursor, no ORM, view or template), with the ratio. The
recurrence panel (``inspections.rechecks.panel``: the rates of the closures of
the last three months and the five worst 顽疾点位, on both dashboards) is also
timed on its own, for the city and the district. Every query of one request of
each dashboard is listed with its time (the slowest first), so that every
figure's cost is visible; then EXPLAIN (ANALYZE) runs on every query that
reads the findings, tasks or volunteers table and any sequential scan of them is printed
and counted.
The last line says ``P4 met|not met: …``; the exit status is 0 only when met:
p95 ≤ 100 ms for both dashboards and no sequential scan of findings, tasks or volunteers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import production  # noqa: E402  (DEBUG off: before django.setup())

import django  # noqa: E402

django.setup()
production.ensure_static()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from campaigns.models import Campaign, Membership, Unit, User  # noqa: E402
from inspections import rechecks  # noqa: E402
from inspections.models import Finding, RectificationTask  # noqa: E402
from volunteers.models import Volunteer  # noqa: E402

FINDINGS = Finding._meta.db_table
TASKS = RectificationTask._meta.db_table
VOLUNTEERS = Volunteer._meta.db_table  # 200,000 at bench-1M: the registered count reads their tally
READS_BIG = re.compile(rf'\b"?({FINDINGS}|{TASKS}|{VOLUNTEERS})"?\b')
SEQ_SCAN = re.compile(rf"Seq Scan on ({FINDINGS}|{TASKS}|{VOLUNTEERS})\b")
BAR_MS = 100.0

# The floor: the supervisor dashboard's figures at the city, written by hand (same tables, same indexes).
OPEN = "('assigned', 'in_progress', 'submitted', 'returned')"
FLOOR_SQL = [
    # Campaign-wide rollup rows (unit 0; category 0 and point type -1 are the totals), as the city reads them.
    """SELECT sum(n) FILTER (WHERE status IN ('new', 'dispatched')), sum(n) FILTER (WHERE status = 'new')
       FROM inspections_findingtally WHERE campaign_key = %(c)s AND unit_id = 0 AND category_id = 0
       AND point_type_key = -1 AND status IN ('new', 'dispatched')""",
    """SELECT sum(n) FROM inspections_findingtally WHERE campaign_key = %(c)s AND unit_id = 0 AND category_id = 0
       AND point_type_key = -1 AND month = %(m)s AND status IN ('new', 'dispatched', 'closed')""",
    """SELECT sum(tasks_closed), sum(tasks_on_time), sum(tasks_reworked), sum(task_micros)
       FROM inspections_closuretally WHERE campaign_key = %(c)s AND unit_id = 0 AND month = %(m)s""",
    f"""SELECT count(*) FILTER (WHERE due_at < %(now)s), count(*) FILTER (WHERE due_at >= %(now)s AND warn_at <= %(now)s),
       count(*) FILTER (WHERE warn_at > %(now)s) FROM inspections_rectificationtask
       WHERE campaign_id = %(c)s AND status IN {OPEN}""",
    """SELECT coalesce(k.group_id, k.id), sum(t.n) FROM inspections_findingtally t
       JOIN inspections_findingcategory k ON k.id = t.category_id
       WHERE t.campaign_key = %(c)s AND t.unit_id = 0 AND t.point_type_key >= 0 AND t.month = %(m)s
       AND t.status IN ('new', 'dispatched', 'closed') GROUP BY 1""",
    """SELECT point_type_key, sum(n) FROM inspections_findingtally
       WHERE campaign_key = %(c)s AND unit_id = 0 AND point_type_key >= 0 AND month = %(m)s
       AND status IN ('new', 'dispatched', 'closed') GROUP BY 1""",
    f"""SELECT id FROM inspections_rectificationtask WHERE campaign_id = %(c)s AND status IN {OPEN}
       AND due_at < %(now)s ORDER BY due_at, id LIMIT 10""",
    """SELECT id, latitude, longitude FROM inspections_finding WHERE campaign_id = %(c)s
       AND status IN ('new', 'dispatched') AND latitude IS NOT NULL AND longitude IS NOT NULL
       ORDER BY observed_at DESC, id DESC LIMIT 500""",
    """SELECT month, sum(n) FROM inspections_findingtally WHERE campaign_key = %(c)s AND unit_id = 0
       AND category_id = 0 AND point_type_key = -1 AND month BETWEEN %(first)s AND %(m)s
       AND status IN ('new', 'dispatched', 'closed') GROUP BY month""",
    """SELECT month, sum(findings_closed) FROM inspections_closuretally WHERE campaign_key = %(c)s AND unit_id = 0
       AND month BETWEEN %(first)s AND %(m)s GROUP BY month""",
    """SELECT sum(t.active) FROM volunteers_volunteertally t JOIN campaigns_unit u ON u.id = t.unit_id
       WHERE u.path LIKE %(path)s""",
]


def persona(username: str, unit: Unit, role: str) -> User:
    user, _ = User.objects.get_or_create(username=username, defaults={"display_name": username})
    Membership.objects.get_or_create(user=user, unit=unit, role=role, defaults={"active": True})
    return user


def timed(client: Client, url: str, params: dict, runs: int) -> tuple[list[float], int]:
    response = client.get(url, params)  # warm-up (and a check)
    assert response.status_code == 200, f"{url} → {response.status_code}"
    times, count = [], [0]

    def counted(execute, sql, sql_params, many, context):  # a count, not the debug cursor's log of every query
        count[0] += 1
        return execute(sql, sql_params, many, context)

    for _ in range(runs):
        count[0] = 0
        with connection.execute_wrapper(counted):
            t0 = time.perf_counter()
            response = client.get(url, params)
            times.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200
    return times, count[0]


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(round(0.95 * len(ordered))) - 1)]


def timed_floor(params: dict, runs: int) -> list[float]:
    times = []
    with connection.cursor() as cursor:
        for run in range(runs + 1):
            t0 = time.perf_counter()
            for sql in FLOOR_SQL:
                cursor.execute(sql, params)
                cursor.fetchall()
            if run:  # the first is the warm-up
                times.append((time.perf_counter() - t0) * 1000)
    return times


def explain(client: Client, url: str, params: dict, verbose: bool) -> int:
    """List the queries of one request with their times (slowest first), then EXPLAIN ANALYZE each
    that reads findings, tasks or volunteers; the number of their sequential scans."""
    with CaptureQueriesContext(connection) as ctx:
        client.get(url, params)
    queries = [q for q in ctx.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    total = sum(float(q["time"]) for q in queries) * 1000
    print(f"\n{url}: {len(queries)} queries, {total:.1f} ms in the database; the slowest:")
    for q in sorted(queries, key=lambda q: -float(q["time"]))[:8 if not verbose else None]:
        print(f"  {float(q['time']) * 1000:7.1f} ms  {' '.join(q['sql'].split())[:140]}")
    bad = 0
    for query in queries:
        sql = query["sql"]
        if not READS_BIG.search(sql) or not sql.lstrip().upper().startswith(("SELECT", "WITH")):
            continue
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS OFF, TIMING OFF, SUMMARY ON) {sql}")
            plan = [row[0] for row in cursor.fetchall()]
        seq = [line for line in plan if SEQ_SCAN.search(line)]
        bad += len(seq)
        total = next((line for line in plan if line.startswith("Execution Time")), "")
        if verbose or seq:
            print(f"\n-- {sql[:110]}…  [{total}]{'  SEQ SCAN OF FINDINGS/TASKS/VOLUNTEERS' if seq else ''}")
            for line in plan:
                if any(word in line for word in ("Scan", "Aggregate", "Join", "Limit", "Sort", "Nested")):
                    print("   " + line.strip()[:150])
    return bad


def main() -> None:
    try:
        measure()
    except AssertionError as exc:  # a dashboard that did not answer 200
        print(f"P4 not met: a dashboard answered {exc}")
        sys.exit(1)


def measure() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--month", default="2025-06")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--verbose", action="store_true", help="print every plan, not only those with a seq scan")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("run this against PostgreSQL (a bench database)")
    settings.ALLOWED_HOSTS = ["*"]
    city = Unit.objects.filter(depth=1).order_by("path").first()
    district = Unit.objects.filter(depth=2, kind=Unit.Kind.DISTRICT).order_by("path").first()
    if city is None or district is None:
        sys.exit("no units: seed the database first (benchmarks/seed_bench.py)")
    campaign = Campaign.objects.order_by("-starts_on").first()
    findings = Finding.objects.count()
    print(f"{findings:,} findings, {Unit.objects.count():,} units; campaign {campaign}; month {args.month}")
    supervisor = persona("bench_supervisor", city, Membership.Role.SUPERVISOR)
    head = persona("bench_head", district, Membership.Role.HEAD)
    params = {"campaign": campaign.pk, "month": args.month}
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    worst, ratios = 0.0, []
    month = dt.date.fromisoformat(args.month + "-01")
    first = month
    for _ in range(11):
        first = (first - dt.timedelta(days=1)).replace(day=1)
    floor = timed_floor({"c": campaign.pk, "m": month, "first": first, "now": timezone.now(), "path": city.path + "%"},
                        args.runs)
    print(f"{'floor (hand-written SQL)':24} runs={len(floor)} queries={len(FLOOR_SQL)} "
          f"p50={statistics.median(floor):.1f} ms p95={p95(floor):.1f} ms max={max(floor):.1f} ms")
    for user, url, label in [(supervisor, "/dashboard/", "supervisor (city)"),
                             (head, "/dashboard/unit/", f"unit ({district.name})")]:
        client = Client()
        client.force_login(user)
        times, queries = timed(client, url, params, args.runs)
        worst = max(worst, p95(times))
        ratios.append(p95(times) / p95(floor))
        print(f"{label:24} runs={len(times)} queries={queries} p50={statistics.median(times):.1f} ms "
              f"p95={p95(times):.1f} ms max={max(times):.1f} ms  ratio to floor p95 {ratios[-1]:.1f}×")
    last_day = (month + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    for user, unit, label in [(supervisor, city, "recurrence panel (city)"),
                              (head, district, f"recurrence panel ({district.name})")]:
        times = []
        for run in range(args.runs + 1):
            t0 = time.perf_counter()
            rechecks.panel(user, campaign, unit, last_day)
            if run:
                times.append((time.perf_counter() - t0) * 1000)
        worst = max(worst, p95(times))
        print(f"{label:24} runs={len(times)} p50={statistics.median(times):.1f} ms p95={p95(times):.1f} ms "
              f"max={max(times):.1f} ms (part of both dashboards' requests above)")
    bad = 0
    for user, url in [(supervisor, "/dashboard/"), (head, "/dashboard/unit/")]:
        client = Client()
        client.force_login(user)
        bad += explain(client, url, params, args.verbose)
    met = bad == 0 and worst <= BAR_MS
    print(f"P4 {'met' if met else 'not met'}: worst dashboard or panel p95 {worst:.1f} ms (bar {BAR_MS:.0f} ms, "
          f"{max(ratios):.1f}× the floor's p95 {p95(floor):.1f} ms), sequential scans of findings/tasks/volunteers: {bad}, "
          f"{findings:,} findings")
    sys.exit(0 if met else 1)


if __name__ == "__main__":
    main()
