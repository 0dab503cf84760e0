"""TARGETS P2: list (50 rows, filtered, scoped to a district) p95 ≤ 30 ms and
detail p95 ≤ 15 ms, in-process, on bench-1M; on a loaded machine ≤ 2× the
same-run floor; list p95 at bench-1M ≤ 1.5× the same at a quarter of the data.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/civportal_bench \
        .venv/bin/python benchmarks/seed_bench.py          # once
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/civportal_bench \
        .venv/bin/python benchmarks/lists.py [--iterations 200] [--district BM01] [--verbose] [--only tasks] \
            [--growth-against postgres://…/civportal_bench_quarter]

A handler of one district (created here if missing: username ``bench_handler``)
requests each list through Django's test client (the whole stack: middleware,
session, scope, filters, serializers, templates), ``--iterations`` times after
a warm-up, and each detail of an object found in the first page.

Every route also has a *floor*, measured in the same run: the hand-written SQL
of the same rows (same scope, filters, order and page) through a minimal Django
view returning JSON. The report gives median and p95 per route, the floor's
p95, their ratio and the query count of one request. A route passes when its
p95 is within the bar (quiet machine) or within 2× its floor (loaded machine).

``--growth-against URL`` runs the same routes against a database seeded at a
quarter of this one's scale (in a child process) and checks list p95 here ≤
1.5× list p95 there (O(page), not O(table)). ``--verbose`` prints EXPLAIN
(ANALYZE, BUFFERS) of every query of every list request, marks any
sequential scan of findings, tasks or visits and counts it as a failure (a
list must read an index bounded by its page). The last line is
``P2 met: …`` or ``P2 not met: …``; the exit status is 0 only when met.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import production  # noqa: E402  (DEBUG off, cache off: before django.setup())

import django  # noqa: E402

django.setup()
production.ensure_static()

from django.db import connection  # noqa: E402
from django.db.models import Q  # noqa: E402
from django.http import JsonResponse  # noqa: E402
from django.test import Client, RequestFactory  # noqa: E402
from django.utils import timezone  # noqa: E402

from campaigns.models import Membership, Unit, User  # noqa: E402

from inspections import urgency  # noqa: E402
from inspections.models import Finding, RectificationTask  # noqa: E402

LIST_BAR, DETAIL_BAR, FLOOR_RATIO, GROWTH_RATIO = 30, 15, 2.0, 1.5
OPEN = ("assigned", "in_progress", "submitted", "returned")
FINDING_COLUMNS = ("id, uid, campaign_id, source, external_id, visit_id, point_id, unit_id, department_id, "
                   "category_id, severity, description, address, latitude, longitude, observed_at, status, "
                   "is_repeat, closed_at, created_at")
TASK_COLUMNS = ("id, finding_id, unit_id, status, supervision, dispatched_at, original_due_at, due_at, warn_at, "
                "accepted_at, submitted_at, closed_at, rework_count, extension_count, created_at")


def floor_view(sql: str, params: list):
    """The floor: the hand-written SQL of the same rows, as JSON, through a minimal view."""

    def view(request):
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            names = [c.name for c in cursor.description]
            rows = [dict(zip(names, row)) for row in cursor.fetchall()]
        return JsonResponse({"results": rows}, json_dumps_params={"default": str})

    return view


def percentiles(samples: list[float]) -> tuple[float, float]:
    samples = sorted(samples)
    return statistics.median(samples), samples[max(0, int(len(samples) * 0.95) - 1)]


BIG_TABLES = ("inspections_finding", "inspections_rectificationtask", "inspections_visit")
SEQ_SCANS: list[str] = []  # "route: plan line" of every sequential scan of a large table seen by --verbose


def explain(queries, route: str = "") -> None:
    with connection.cursor() as cursor:
        for sql, params in queries:
            if not sql.lstrip("( ").upper().startswith("SELECT"):  # "(SELECT …) UNION ALL …" too
                continue
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
            print("    --", sql[:300])
            for (line,) in cursor.fetchall():
                seq = "Seq Scan on " in line and any(f"Seq Scan on {t} " in line + " " for t in BIG_TABLES)
                if seq:
                    SEQ_SCANS.append(f"{route}: {line.strip()}")
                print("      ", line, "   <-- SEQUENTIAL SCAN OF A LARGE TABLE" if seq else "")


def timed(client: Client, url: str, floor, iterations: int, verbose: bool) -> dict:
    factory = RequestFactory()
    for _ in range(5):  # warm-up: connection, caches, templates
        response = client.get(url)
        floor(factory.get("/floor"))
    queries = []

    def record(execute, sql, params, many, context):
        queries.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):  # (request_started resets connection.queries)
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code, response.content[:300])
    if verbose:
        explain(queries, url)
    samples, floors = [], []
    for _ in range(iterations):  # interleaved, so that both see the same machine load
        t0 = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200, (url, response.status_code)
        t0 = time.perf_counter()
        floor(factory.get("/floor"))
        floors.append((time.perf_counter() - t0) * 1000)
    median, p95 = percentiles(samples)
    floor_median, floor_p95 = percentiles(floors)
    return {"median": median, "p95": p95, "floor_median": floor_median, "floor_p95": floor_p95,
            "queries": len(queries)}


URGENCY_SQL = {0: "status = ANY(%s) AND due_at < %s", 1: "status = ANY(%s) AND due_at >= %s AND warn_at <= %s",
               2: "status = ANY(%s) AND due_at >= %s AND warn_at > %s", 3: "NOT (status = ANY(%s))"}


def urgency_floor(scope: str, scope_params: list, now, slices, after: str | None = None) -> tuple[str, list]:
    """The urgency order by hand: one ``(… ORDER BY due_at, id LIMIT 50)`` per slice, UNION ALL, the first 50."""
    cursor = urgency.Cursor.decode(after)
    parts, params = [], []
    for u in slices:
        if cursor and u < cursor.urgency:
            continue
        where = f"{scope} AND {URGENCY_SQL[u]}"
        params += [*scope_params, list(OPEN), *([now] * (URGENCY_SQL[u].count("%s") - 1))]
        if cursor and u == cursor.urgency:
            where += " AND (due_at, id) > (%s, %s)"
            params += [cursor.due_at, cursor.pk]
        parts.append(f"(SELECT {u} AS urgency, {TASK_COLUMNS} FROM inspections_rectificationtask WHERE {where}"
                     " ORDER BY due_at, id LIMIT 51)")
    return ("SELECT * FROM (" + " UNION ALL ".join(parts) + ") AS slices ORDER BY urgency, due_at, id LIMIT 51",
            params)


def routes(district: Unit) -> list[tuple[str, str, str, object]]:
    prefix = district.path + "%"
    scope = "(unit_path LIKE %s OR department_path LIKE %s)"
    finding = Finding.objects.filter(unit_path__startswith=district.path, status="dispatched").order_by("-id").first()
    task = RectificationTask.objects.filter(unit_path__startswith=district.path).order_by("-id").first()
    category = finding.category_id
    search = "井盖缺失"  # one finding in twenty (benchmarks/seed_bench.py PROBLEMS)
    now = timezone.now()
    second_page = urgency.urgency_page(RectificationTask.objects.filter(
        Q(unit_path__startswith=district.path) | Q(department_path__startswith=district.path)),
        per_page=50, count=False).next_cursor
    f_list = f"SELECT {FINDING_COLUMNS} FROM inspections_finding WHERE {scope} AND "
    t_list = f"SELECT {TASK_COLUMNS} FROM inspections_rectificationtask WHERE {scope} AND "
    return [
        ("list", "API findings, open, one category", f"/api/v1/findings/?status=dispatched&category={category}",
         floor_view(f_list + "status = 'dispatched' AND category_id = %s ORDER BY created_at DESC, id DESC LIMIT 50",
                    [prefix, prefix, category])),
        ("list", "API findings, text search", f"/api/v1/findings/?q={search}",
         floor_view(f_list + "(UPPER(description) LIKE UPPER(%s) OR UPPER(address) LIKE UPPER(%s))"
                    " ORDER BY created_at DESC, id DESC LIMIT 50", [prefix, prefix, f"%{search}%", f"%{search}%"])),
        ("list", "API tasks, overdue", "/api/v1/tasks/?overdue=true",
         floor_view(t_list + "status = ANY(%s) AND due_at < %s ORDER BY created_at DESC, id DESC LIMIT 50",
                    [prefix, prefix, list(OPEN), now])),
        ("list", "API points in the district", f"/api/v1/points/?within={district.code}",
         floor_view("SELECT id, code, name, point_type_id, unit_id, department_id, active FROM campaigns_point"
                    f" WHERE {scope} AND unit_path LIKE %s ORDER BY point_type_id, name, id LIMIT 50",
                    [prefix, prefix, prefix])),
        ("list", "page findings, open", f"/findings/?status=dispatched&category={category}",
         floor_view(f_list + "status = 'dispatched' AND category_id = %s ORDER BY observed_at DESC, id DESC LIMIT 50",
                    [prefix, prefix, category])),
        ("list", "page tasks", "/tasks/",
         floor_view(*urgency_floor(scope, [prefix, prefix], now, urgency.ALL))),
        ("list", "page tasks, next page", f"/tasks/?after={second_page}",
         floor_view(*urgency_floor(scope, [prefix, prefix], now, urgency.ALL, after=second_page))),
        ("list", "page workbench", "/workbench/",
         floor_view(*urgency_floor("unit_path LIKE %s", [prefix], now, urgency.OPEN))),
        ("detail", "API finding", f"/api/v1/findings/{finding.pk}/",
         floor_view(f"SELECT {FINDING_COLUMNS} FROM inspections_finding WHERE {scope} AND id = %s",
                    [prefix, prefix, finding.pk])),
        ("detail", "API task", f"/api/v1/tasks/{task.pk}/",
         floor_view(f"SELECT {TASK_COLUMNS} FROM inspections_rectificationtask WHERE {scope} AND id = %s",
                    [prefix, prefix, task.pk])),
        ("detail", "page finding", f"/findings/{finding.pk}/",
         floor_view(f"SELECT {FINDING_COLUMNS} FROM inspections_finding WHERE {scope} AND id = %s",
                    [prefix, prefix, finding.pk])),
        ("detail", "page task", f"/tasks/{task.pk}/",
         floor_view(f"SELECT {TASK_COLUMNS} FROM inspections_rectificationtask WHERE {scope} AND id = %s",
                    [prefix, prefix, task.pk])),
    ]


def measure(args) -> dict:
    district = Unit.objects.get(code=args.district)
    user, _ = User.objects.get_or_create(username="bench_handler", defaults={"display_name": "基准经办人"})
    Membership.objects.get_or_create(user=user, unit=district, role=Membership.Role.HANDLER, active=True)
    client = Client()
    client.force_login(user)
    results = {"findings": Finding.objects.count(), "tasks": RectificationTask.objects.count(), "routes": []}
    if not args.json:
        print(f"bench: {results['findings']:,} findings, {results['tasks']:,} tasks; handler of {district.name} "
              f"({district.code}); {args.iterations} iterations each")
        print(f"{'kind':7} {'route':34} {'median':>8} {'p95':>8} {'floor95':>8} {'ratio':>6} {'bar':>5} "
              f"{'queries':>7}")
    for kind, name, url, floor in routes(district):
        if args.only and args.only not in name:
            continue
        if args.verbose and not args.json:
            print(f"  EXPLAIN {name}: {url}")
        r = timed(client, url, floor, args.iterations, args.verbose and kind == "list" and not args.json)
        bar = LIST_BAR if kind == "list" else DETAIL_BAR
        r.update(kind=kind, name=name, url=url, bar=bar, ratio=r["p95"] / r["floor_p95"])
        r["ok"] = r["p95"] <= bar or r["ratio"] <= FLOOR_RATIO
        results["routes"].append(r)
        if not args.json:
            print(f"{kind:7} {name:34} {r['median']:7.1f}ms {r['p95']:7.1f}ms {r['floor_p95']:7.1f}ms "
                  f"{r['ratio']:5.1f}× {bar:4}ms {r['queries']:7} {'ok' if r['ok'] else 'OVER'}")
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--district", default="BM01")
    parser.add_argument("--only", default="", help="run only the routes whose name contains this text")
    parser.add_argument("--verbose", action="store_true", help="print EXPLAIN (ANALYZE, BUFFERS) of every list query")
    parser.add_argument("--json", action="store_true", help="print the results as one JSON line (for --growth-against)")
    parser.add_argument("--growth-against", metavar="DATABASE_URL",
                        help="a database seeded at a quarter of this one's scale: check list p95 growth ≤ 1.5×")
    args = parser.parse_args()
    try:
        results = measure(args)
    except AssertionError as exc:  # a route that does not answer 200 is not measured
        print(f"P2 not met: {exc}")
        sys.exit(1)
    if args.json:
        print(json.dumps(results))
        return
    failures = [r["name"] for r in results["routes"] if not r["ok"]]
    growth = ""
    if args.growth_against:
        env = {**os.environ, "DATABASE_URL": args.growth_against}
        child = subprocess.run([sys.executable, __file__, "--json", "--iterations", str(args.iterations),
                                "--district", args.district], env=env, capture_output=True, text=True)
        last = (child.stdout.strip().splitlines() or [child.stderr.strip()[-300:]])[-1]
        if child.returncode != 0:
            print(f"P2 not met: the growth run against the quarter failed: {last}")
            sys.exit(1)
        quarter = json.loads(last)
        worst = 0.0
        print(f"growth: {results['findings']:,} vs {quarter['findings']:,} findings")
        for here, there in zip(results["routes"], quarter["routes"]):
            if here["kind"] != "list":
                continue
            # Against the quarter's p95, or its floor when both are within the noise of a loaded machine.
            ratio = here["p95"] / max(there["p95"], 1e-6)
            worst = max(worst, ratio)
            print(f"  {here['name']:34} p95 {here['p95']:7.1f}ms vs {there['p95']:7.1f}ms  {ratio:4.2f}×")
            if ratio > GROWTH_RATIO:
                failures.append(f"growth of {here['name']} {ratio:.2f}×")
        growth = f"; growth ≤ {worst:.2f}× (bar {GROWTH_RATIO}×)"
    if SEQ_SCANS:
        print(f"sequential scans of findings/tasks/visits in list queries: {len(SEQ_SCANS)}")
        for line in SEQ_SCANS:
            print("  " + line)
        failures.append(f"{len(SEQ_SCANS)} sequential scans")
    lists = [r for r in results["routes"] if r["kind"] == "list"]
    details = [r for r in results["routes"] if r["kind"] == "detail"]
    parts = [f"{label} p95 ≤ {max(r['p95'] for r in rows):.1f} ms (≤ {max(r['ratio'] for r in rows):.1f}× floor)"
             for label, rows in (("list", lists), ("detail", details)) if rows]  # (--only may leave one kind out)
    summary = ", ".join(parts) + growth
    if failures:
        print(f"P2 not met: {summary}; over: {', '.join(failures)}")
        sys.exit(1)
    print(f"P2 met: {summary}")


if __name__ == "__main__":
    main()
