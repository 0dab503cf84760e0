"""TARGETS P2: list (50 rows, filtered, scoped to a district) p95 ≤ 30 ms and
detail p95 ≤ 15 ms, in-process, on bench-1M.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/civportal_bench \
        .venv/bin/python benchmarks/seed_bench.py          # once
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/civportal_bench \
        .venv/bin/python benchmarks/lists.py [--iterations 200] [--district BM01]

A handler of one district (created here if missing: username ``bench_handler``)
requests each list through Django's test client (the whole stack: middleware,
session, scope, filters, serializers, templates), ``--iterations`` times after
a warm-up, and each detail of an object found in the first page. The report
gives median and p95 per route and the query count of one request.
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
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from campaigns.models import Membership, Unit, User  # noqa: E402
from inspections.models import Finding, RectificationTask  # noqa: E402


VERBOSE = False


def timed(client: Client, url: str, iterations: int) -> tuple[float, float, int, int]:
    for _ in range(5):  # warm-up: connection, caches, templates
        response = client.get(url)
    queries = []

    def record(execute, sql, params, many, context):
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            queries.append(((time.perf_counter() - t0) * 1000, sql))

    with connection.execute_wrapper(record):  # (request_started resets connection.queries)
        response = client.get(url)
    if VERBOSE:
        for ms, sql in sorted(queries, reverse=True)[:3]:
            print(f"    {ms:7.1f}ms {sql[:600]}")
    samples = []
    for _ in range(iterations):
        t0 = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    samples.sort()
    p95 = samples[int(len(samples) * 0.95) - 1]
    return statistics.median(samples), p95, len(queries), response.status_code


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--district", default="BM01")
    parser.add_argument("--verbose", action="store_true", help="print the slowest queries of each route")
    args = parser.parse_args()
    global VERBOSE
    VERBOSE = args.verbose

    district = Unit.objects.get(code=args.district)
    user, _ = User.objects.get_or_create(username="bench_handler", defaults={"display_name": "基准经办人"})
    Membership.objects.get_or_create(user=user, unit=district, role=Membership.Role.HANDLER, active=True)
    client = Client()
    client.force_login(user)

    finding = Finding.objects.filter(unit__path__startswith=district.path, status="dispatched").order_by("-id").first()
    task = RectificationTask.objects.filter(unit__path__startswith=district.path).order_by("-id").first()
    category = finding.category_id
    routes = [
        ("list", "API findings, open, one category", f"/api/v1/findings/?status=dispatched&category={category}&page_size=50"),
        ("list", "API findings, text search", "/api/v1/findings/?search=%E5%9F%BA%E5%87%86&page_size=50"),
        ("list", "API tasks, overdue", "/api/v1/tasks/?overdue=true&page_size=50"),
        ("list", "API points in the district", f"/api/v1/points/?unit={district.code}&page_size=50"),
        ("list", "page findings, open", f"/findings/?status=dispatched&category={category}&page_size=50"),
        ("list", "page tasks", "/tasks/?page_size=50"),
        ("detail", "API finding", f"/api/v1/findings/{finding.pk}/"),
        ("detail", "API task", f"/api/v1/tasks/{task.pk}/"),
        ("detail", "page finding", f"/findings/{finding.pk}/"),
        ("detail", "page task", f"/tasks/{task.pk}/"),
    ]
    print(f"bench: {Finding.objects.count():,} findings, {RectificationTask.objects.count():,} tasks; "
          f"handler of {district.name} ({district.code}); {args.iterations} iterations each")
    print(f"{'kind':7} {'route':34} {'median':>8} {'p95':>8} {'bar':>5} {'queries':>7}")
    failures = 0
    for kind, name, url in routes:
        median, p95, queries, _ = timed(client, url, args.iterations)
        bar = 30 if kind == "list" else 15
        ok = p95 <= bar
        failures += not ok
        print(f"{kind:7} {name:34} {median:7.1f}ms {p95:7.1f}ms {bar:4}ms {queries:7} {'ok' if ok else 'OVER'}")
    print("P2:", "met" if not failures else f"{failures} route(s) over the bar")


if __name__ == "__main__":
    main()
