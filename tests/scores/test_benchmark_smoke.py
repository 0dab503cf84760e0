"""The benchmark scripts run on a tiny dataset, and the hand-written SQL of
the benchmark reads the same inputs as the computation (no timings here)."""

import datetime as dt
import importlib.util
import random
from pathlib import Path

import pytest

from scores import compute, services

ROOT = Path(__file__).resolve().parents[2]


def _load(name):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_seed_and_hand_sql_agree_with_the_computation(on_postgresql, db):
    seed, bench = _load("seed_bench"), _load("scores_month")
    stats = seed.seed(0.001, random.Random(1), out=lambda *_: None)
    assert stats["findings"] == 1000 and stats["tasks"] == 300
    from campaigns.models import Campaign

    campaign = Campaign.objects.get(pk=stats["campaign"])
    scheme = services.scheme_current()
    month = dt.date(2025, 6, 1)
    start, end = compute.month_bounds(month)
    results = compute.compute(campaign, month, scheme)
    districts = [r.values for r in results if r.kind == "district"]
    params = {"campaign": campaign.pk, "start": start, "end": end,
              "window": dt.timedelta(days=scheme.repeat_window_days), "repeat": scheme.repeat_factor,
              **{s: scheme.severity_factor(s) for s in ("minor", "moderate", "severe")}}
    from django.db import connection

    visit_sql, _finding_sql, task_sql = bench.floor_queries(scheme)
    with connection.cursor() as cursor:
        cursor.execute(visit_sql, params)
        visits = cursor.fetchall()
        cursor.execute(task_sql, params)
        tasks = cursor.fetchall()
    assert sum(d["visit_count"] for d in districts) == sum(row[3] for row in visits) > 0
    assert sum(d["task_count"] for d in districts) == sum(row[1] for row in tasks) > 0
    assert any(r.values["rank"] == 1 for r in results)


@pytest.mark.parametrize("script", ["seed_bench", "scores_month", "run_all"])
def test_benchmark_scripts_have_a_main(script):
    assert callable(_load(script).main)


def test_seed_months_keep_the_density_per_month(on_postgresql, db):
    seed = _load("seed_bench")
    assert seed.month_starts(24)[0] == dt.date(2024, 1, 1) and seed.month_starts(24)[-1] == dt.date(2025, 12, 1)
    assert seed.month_starts(12) == [dt.date(2025, m, 1) for m in range(1, 13)]
    stats = seed.seed(0.001, random.Random(1), out=lambda *_: None, months=24)
    assert stats["findings"] == 2000 and stats["tasks"] == 600
    from django.db.models import Max, Min

    from inspections.models import Finding, Visit

    span = Visit.objects.aggregate(first=Min("visited_at"), last=Max("visited_at"))
    assert span["first"].year == 2024 and span["last"].year == 2025
    assert Visit.objects.count() == 24 * stats["points"]
    start, end = compute.month_bounds(dt.date(2025, 6, 1))
    june = Finding.objects.filter(observed_at__gte=start, observed_at__lt=end).count()
    assert 40 <= june <= 130  # about a twelfth of 1,000: the month's data does not grow with the history


def test_run_all_names_databases_by_scale_and_reads_verdicts():
    run_all = _load("run_all")
    assert run_all.database_name("civportal_bench", 1.0) == "civportal_bench"
    assert run_all.database_name("civportal_bench", 0.25) == "civportal_bench_0_25"
    assert run_all.database_name("civportal_bench", 0.1, months=24) == "civportal_bench_0_1_m24"
    url = run_all.url_for("postgres://u@127.0.0.1:5432/x", "civportal_bench")
    assert url == "postgres://u@127.0.0.1:5432/civportal_bench"
    assert run_all.VERDICT.match("P3 not met: lists 7 req/s").group(1) == "not met"
    assert run_all.VERDICT.match("P2 met: list p95").group(1) == "met"
    assert not run_all.VERDICT.match("goal first send ≤ 5 s: met")


def test_the_seeder_decides_the_stored_recurrence_as_the_services_keep_it(on_postgresql, db):
    """The seeder writes Finding.recurred_at and RecurrenceTally without the refill's UPDATE; a refill
    from scratch (inspections.recurrence) must find nothing to change."""
    from inspections import recurrence
    from inspections.models import ChronicPoint, Finding, RecurrenceTally

    seed = _load("seed_bench")
    seed.seed(0.002, random.Random(3), out=lambda *_: None)

    def state():
        return (dict(Finding.objects.values_list("pk", "recurred_at")),
                sorted(RecurrenceTally.objects.values_list("campaign_key", "month", "unit_id", "department_id",
                                                           "bucket", "n")),
                sorted(ChronicPoint.objects.values_list("campaign_key", "month", "point_id", "unit_id", "department_id",
                                                        "closed", "back_30", "back_60", "back_90")))

    seeded = state()
    assert sum(1 for at in seeded[0].values() if at is not None) > 0 and seeded[1] and seeded[2]
    recurrence.refill()
    assert state() == seeded


def test_the_seeder_registers_volunteers_with_their_community_paths(on_postgresql, db):
    """TARGETS' bench-1M has 200,000 volunteers: scaled like the points, each in a community,
    with the scope path column as the services would keep it (compared with a rebuild)."""
    from campaigns.models import Unit
    from volunteers.models import Volunteer

    stats = _load("seed_bench").seed(0.002, random.Random(3), out=lambda *_: None)
    assert stats["volunteers"] == Volunteer.objects.count() == 400
    paths = dict(Unit.objects.values_list("id", "path"))
    kinds = dict(Unit.objects.values_list("id", "kind"))
    rows = list(Volunteer.objects.values_list("unit_id", "unit_path", "phone"))
    assert all(path == paths[unit] and kinds[unit] == Unit.Kind.COMMUNITY for unit, path, _phone in rows)
    assert len({phone for _unit, _path, phone in rows}) == len(rows)  # the unique phone key was rebuilt
    assert Volunteer.objects.filter(status=Volunteer.Status.ACTIVE).count() > len(rows) // 2


def test_the_seeder_copies_each_findings_category_onto_its_task(on_postgresql, db):
    """The task's category column (the task lists' category filter) is written by the COPY, no UPDATE."""
    from inspections.models import RectificationTask

    seed = _load("seed_bench")
    seed.seed(0.001, random.Random(5), out=lambda *_: None)
    pairs = list(RectificationTask.objects.values_list("category_id", "finding__category_id"))
    assert pairs and all(stored == expected for stored, expected in pairs)
