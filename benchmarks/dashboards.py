"""Time the dashboards (TARGETS P4) in-process and EXPLAIN their queries.

    createdb -h 127.0.0.1 -U postgres civportal_dash_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/civportal_dash_bench \
        .venv/bin/python benchmarks/seed_bench.py --scale 0.25
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/civportal_dash_bench \
        .venv/bin/python benchmarks/dashboards.py [--month 2025-06] [--runs 30]

Renders the supervisor dashboard (city) and the unit dashboard (one district)
with Django's test client (the whole view: middleware, queries, template) as a
city supervisor and a district head, ``--runs`` times each after one warm-up,
and prints p50/p95/max and the number of queries per request. Then it runs
EXPLAIN (ANALYZE) on every query of one supervisor request that reads the
findings table and fails (exit 1) if any plan scans it sequentially.
P4 asks p95 ≤ 100 ms on bench-1M with no sequential scan of findings.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "civportal.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from campaigns.models import Campaign, Membership, Unit, User  # noqa: E402
from inspections.models import Finding  # noqa: E402

FINDINGS = Finding._meta.db_table


def persona(username: str, unit: Unit, role: str) -> User:
    user, _ = User.objects.get_or_create(username=username, defaults={"display_name": username})
    Membership.objects.get_or_create(user=user, unit=unit, role=role, defaults={"active": True})
    return user


def timed(client: Client, url: str, params: dict, runs: int) -> tuple[list[float], int]:
    response = client.get(url, params)  # warm-up (and a check)
    assert response.status_code == 200, response.status_code
    times = []
    for _ in range(runs):
        with CaptureQueriesContext(connection) as ctx:
            t0 = time.perf_counter()
            response = client.get(url, params)
            times.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200
    return times, len(ctx.captured_queries)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(round(0.95 * len(ordered))) - 1)]


def explain(client: Client, url: str, params: dict) -> int:
    """EXPLAIN ANALYZE each query of one request that reads findings; the number of seq scans of findings."""
    with CaptureQueriesContext(connection) as ctx:
        client.get(url, params)
    bad = 0
    for query in ctx.captured_queries:
        sql = query["sql"]
        if f'"{FINDINGS}"' not in sql or sql.startswith(("DECLARE", "SAVEPOINT", "RELEASE")):
            continue
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS OFF, TIMING OFF, SUMMARY ON) {sql}")
            plan = [row[0] for row in cursor.fetchall()]
        seq = [line for line in plan if "Seq Scan" in line and f"on {FINDINGS} " in line + " "]
        bad += len(seq)
        total = next((line for line in plan if line.startswith("Execution Time")), "")
        print(f"\n-- {sql[:110]}…  [{total}]{'  SEQ SCAN OF FINDINGS' if seq else ''}")
        for line in plan:
            if any(word in line for word in ("Scan", "Aggregate", "Join", "Limit", "Sort", "Nested")):
                print("   " + line.strip()[:150])
    return bad


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--month", default="2025-06")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--no-explain", action="store_true")
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
    worst = 0.0
    for user, url, label in [(supervisor, "/dashboard/", "supervisor (city)"),
                             (head, "/dashboard/unit/", f"unit ({district.name})")]:
        client = Client()
        client.force_login(user)
        times, queries = timed(client, url, params, args.runs)
        worst = max(worst, p95(times))
        print(f"{label:24} runs={len(times)} queries={queries} p50={statistics.median(times):.1f} ms "
              f"p95={p95(times):.1f} ms max={max(times):.1f} ms")
    if args.no_explain:
        return
    client = Client()
    client.force_login(supervisor)
    bad = explain(client, "/dashboard/", params)
    print(f"\nsequential scans of {FINDINGS}: {bad}; p95 (worst dashboard) {worst:.1f} ms")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
