"""Python per request (issue 13, "Lean requests"): how many milliseconds of each
API list and detail request and each list and detail page are spent in Python
rather than waiting for PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/civportal_bench \
        .venv/bin/python benchmarks/request_cpu.py [--iterations 200] [--district BM01] [--profile 25]

A handler of one district (``bench_handler``, as in ``lists.py``) requests each
list through Django's test client (the whole stack: middleware, session,
authentication, throttle, permission, filter set, pagination, serialization,
rendering) ``--iterations`` times after a warm-up. Every SQL statement is timed
at the cursor (``connection.execute_wrapper``); *Python* is the request's wall
time minus its SQL time; *CPU* is the process's CPU time during the request
(``time.process_time``: not inflated by waiting for the cores of a loaded
machine, the steadier figure when other processes compete). ``--profile N`` also runs the requests under cProfile
and prints the N most expensive functions (cumulative) per route.

A diagnostic, not a bar of TARGETS.md (P2 and P3 are measured by ``lists.py``
and ``load.py``): use it small (``seed_bench.py --scale 0.01`` is enough, the
Python per request does not depend on the table's size) before and after a change.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks import production  # noqa: E402  (DEBUG off, response cache off: before django.setup())

import django  # noqa: E402

django.setup()
production.ensure_static()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from campaigns.models import Membership, Point, Unit, User  # noqa: E402
from benchmarks.load import SEARCH  # noqa: E402  (the load's search: one finding in twenty matches)
from inspections.models import Finding, RectificationTask  # noqa: E402


def routes(district: Unit) -> list[tuple[str, str]]:
    finding = Finding.objects.filter(unit_path__startswith=district.path, status="dispatched").order_by("-id").first()
    task = RectificationTask.objects.filter(unit_path__startswith=district.path).order_by("-id").first()
    point = Point.objects.filter(unit__path__startswith=district.path).order_by("id").first()
    return [
        ("findings, 50 rows", "/api/v1/findings/"),
        ("findings, open, one category", f"/api/v1/findings/?status=dispatched&category={finding.category_id}"),
        ("findings, campaign+unit+point", f"/api/v1/findings/?campaign={finding.campaign_id}&within={district.code}"
                                          f"&point={point.code}"),
        ("findings, text search", f"/api/v1/findings/?q={quote(SEARCH)}&limit=50"),
        ("tasks, 50 rows", "/api/v1/tasks/"),
        ("tasks, overdue, one category", f"/api/v1/tasks/?overdue=true&category={finding.category_id}"),
        ("visits, 50 rows", "/api/v1/visits/"),
        ("points, 50 rows", "/api/v1/points/"),
        ("API finding detail", f"/api/v1/findings/{finding.pk}/"),
        ("API task detail", f"/api/v1/tasks/{task.pk}/"),
        ("page findings, open, category", f"/findings/?status=dispatched&category={finding.category_id}"),
        ("page tasks", "/tasks/"),
        ("page workbench", "/workbench/"),
        ("page finding detail", f"/findings/{finding.pk}/"),
        ("page task detail", f"/tasks/{task.pk}/"),
    ]


def run(client: Client, url: str, iterations: int) -> dict:
    for _ in range(5):  # warm-up: connection, caches, translations
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code, response.content[:300])
    sql = [0.0]
    count = [0]

    def timed(execute, *args):
        t0 = time.perf_counter()
        try:
            return execute(*args)
        finally:
            sql[0] += time.perf_counter() - t0
            count[0] += 1

    walls, pythons, cpus = [], [], []
    with connection.execute_wrapper(timed):
        for _ in range(iterations):
            sql[0], count[0] = 0.0, 0
            c0, t0 = time.process_time(), time.perf_counter()
            response = client.get(url)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            assert response.status_code == 200, (url, response.status_code)
            walls.append(wall * 1000)
            pythons.append((wall - sql[0]) * 1000)
            cpus.append(cpu * 1000)
    return {"wall": statistics.median(walls), "python": statistics.median(pythons), "cpu": statistics.median(cpus),
            "cpu_mean": statistics.fmean(cpus), "queries": count[0], "bytes": len(response.content)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--district", default="BM01")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="print the N costliest functions per route")
    parser.add_argument("--only", default="", help="run only the routes whose name contains this text")
    args = parser.parse_args()
    district = Unit.objects.get(code=args.district)
    user, _ = User.objects.get_or_create(username="bench_handler", defaults={"display_name": "基准经办人"})
    Membership.objects.get_or_create(user=user, unit=district, role=Membership.Role.HANDLER, active=True)
    client = Client()
    client.force_login(user)
    print(f"handler of {district.name} ({district.code}); {args.iterations} requests per route; medians")
    print(f"{'route':32} {'wall':>8} {'python':>8} {'cpu':>8} {'cpu avg':>8} {'queries':>7} {'bytes':>7}")
    for name, url in routes(district):
        if args.only not in name:
            continue
        r = run(client, url, args.iterations)
        print(f"{name:32} {r['wall']:6.2f}ms {r['python']:6.2f}ms {r['cpu']:6.2f}ms {r['cpu_mean']:6.2f}ms "
              f"{r['queries']:7} "
              f"{r['bytes']:7}")
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(args.iterations):
                client.get(url)
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.profile)


if __name__ == "__main__":
    main()
