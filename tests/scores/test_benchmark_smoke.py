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


@pytest.mark.parametrize("script", ["seed_bench", "scores_month"])
def test_benchmark_scripts_have_a_main(script):
    assert callable(_load(script).main)
