"""Time the dashboards' recurrence panel (回头看, issue 13): ``inspections.rechecks.panel`` for the
city (a city supervisor) and one district (its head), against the computation it replaced — the
correlated subquery per closed finding ("first counting finding of the same point and category
after the closure"), kept here as ``old_panel`` — on the same data, and checks both give the same
figures. Then EXPLAIN (ANALYZE) of the panel's two queries (rates from RecurrenceTally, 顽疾点位 from
ChronicPoint) for both.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/civportal_bench \
        .venv/bin/python benchmarks/recurrence_panel.py [--month 2025-06] [--runs 10]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "civportal.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.db.models import OuterRef, Subquery  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from campaigns.models import Campaign, Membership, Unit, User  # noqa: E402
from inspections import rechecks  # noqa: E402
from inspections.models import Finding  # noqa: E402


def persona(username: str, unit: Unit, role: str) -> User:
    user, _ = User.objects.get_or_create(username=username, defaults={"display_name": username})
    Membership.objects.get_or_create(user=user, unit=unit, role=role, defaults={"active": True})
    return user


def old_closed_findings(rng: rechecks.Range, user):
    """Before issue 13: the return time as a correlated subquery per closed finding."""
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(rng.closed_from, dt.time(), tzinfo=tz)
    end = dt.datetime.combine(rng.closed_to + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    back = (Finding.objects.counting()
            .filter(point_id=OuterRef("point_id"), category_id=OuterRef("category_id"),
                    observed_at__gt=OuterRef("closed_at"))
            .order_by("observed_at").values("observed_at")[:1])
    return (Finding.objects.visible_to(user)
            .filter(campaign=rng.campaign, status=Finding.Status.CLOSED, point__isnull=False,
                    closed_at__gte=start, closed_at__lt=end)
            .annotate(back_at=Subquery(back)))


def old_panel(user, campaign, unit, last_day):
    first = (last_day.replace(day=1) - dt.timedelta(days=62)).replace(day=1)
    rng = rechecks.Range(campaign, first, last_day)
    qs = rechecks._within(old_closed_findings(rng, user), unit)
    rates = rechecks.with_rates(qs.order_by().aggregate(**rechecks.counts()))
    rows = (qs.order_by().values("point_id", "point__name", "point__code").annotate(**rechecks.counts())
            .filter(back_90__gte=rechecks.CHRONIC_MIN_RETURNS).order_by("-back_90", "-closed", "point_id"))
    return {"range": rng, "rates": rates, "chronic": [rechecks.point_row(r) for r in rows[:5]]}


def timed(fn, runs: int) -> tuple[list[float], object]:
    out = fn()  # warm-up
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - t0) * 1000)
    return times, out


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, round(0.95 * len(values)) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--month", default="2025-06")
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("run this against PostgreSQL (a bench database)")
    city = Unit.objects.filter(depth=1).order_by("path").first()
    district = Unit.objects.filter(depth=2, kind=Unit.Kind.DISTRICT).order_by("path").first()
    if city is None or district is None:
        sys.exit("no units: seed the database first (benchmarks/seed_bench.py)")
    campaign = Campaign.objects.order_by("-starts_on").first()
    month = dt.date.fromisoformat(args.month + "-01")
    last_day = (month + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    print(f"{Finding.objects.count():,} findings; campaign {campaign}; panel up to {last_day}")
    supervisor = persona("bench_supervisor", city, Membership.Role.SUPERVISOR)
    head = persona("bench_head", district, Membership.Role.HEAD)
    for user, unit, label in [(supervisor, city, "city"), (head, district, f"district ({district.name})")]:
        new_t, new = timed(lambda: rechecks.panel(user, campaign, unit, last_day), args.runs)
        old_t, old = timed(lambda: old_panel(user, campaign, unit, last_day), max(1, args.runs // 5))
        same = new["rates"] == old["rates"] and new["chronic"] == old["chronic"]
        print(f"{label:28} closed {new['rates']['closed']:>7,}  back_90 {new['rates']['back_90']:>6,}  "
              f"new p50 {statistics.median(new_t):8.1f} ms p95 {p95(new_t):8.1f} ms | "
              f"old p50 {statistics.median(old_t):8.1f} ms max {max(old_t):8.1f} ms | same figures: {same}")
    bad = 0
    for user, unit, label in [(supervisor, city, "city"), (head, district, "district")]:
        with CaptureQueriesContext(connection) as ctx:
            rechecks.panel(user, campaign, unit, last_day)
        for query in ctx.captured_queries:
            if "recurrencetally" not in query["sql"] and "chronicpoint" not in query["sql"]:
                continue
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {query['sql']}")
                plan = [r[0] for r in cursor.fetchall()]
            print(f"\n-- {label}: {' '.join(query['sql'].split())[:120]}…")
            print("\n".join(plan))
            bad += sum("Seq Scan on inspections_finding" in line for line in plan)
    print("sequential scans of findings:", bad)


if __name__ == "__main__":
    main()
