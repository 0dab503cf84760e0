"""Issue 13: the O(month) computation gives the index it gave before. Two months of a bench-like
dataset (benchmarks/seed_bench.py at a 200th of bench-1M: voids, duplicates, repeats, hotline
findings, reworks, extensions) were computed by the earlier implementation and stored in
data/bench_month_reference.json; the current one must give every unit the same values and the
same breakdown. The stored repeat flags are the seeder's (computed as the services keep them)."""

import datetime as dt
import hashlib
import importlib.util
import json
import random
from pathlib import Path

import pytest

from campaigns.models import Campaign, Unit
from scores import compute, services

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = json.loads((Path(__file__).parent / "data" / "bench_month_reference.json").read_text())


def _seeder():
    spec = importlib.util.spec_from_file_location("bench_seed_reference", ROOT / "benchmarks" / "seed_bench.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _row(values: dict) -> list:
    plain = json.loads(json.dumps(values, default=str))
    # Without database ids: the point types and categories are created afresh for each test.
    breakdown = {part: [{k: v for k, v in entry.items() if k != "id"} for entry in entries]
                 for part, entries in plain["breakdown"].items()}
    breakdown = json.dumps(breakdown, sort_keys=True, separators=(",", ":"))
    return [plain[k] for k in REFERENCE["keys"]] + [hashlib.sha1(breakdown.encode()).hexdigest()]


@pytest.fixture
def bench_campaign(on_postgresql, db):
    stats = _seeder().seed(REFERENCE["scale"], random.Random(1), out=lambda *_: None)
    return Campaign.objects.get(pk=stats["campaign"])


@pytest.mark.parametrize("month", sorted(REFERENCE["months"]))
def test_the_index_of_a_bench_month_is_unchanged(bench_campaign, month, django_assert_max_num_queries):
    codes = dict(Unit.objects.values_list("id", "code"))
    with django_assert_max_num_queries(19):  # a constant number whatever the data
        results = compute.compute(bench_campaign, dt.date.fromisoformat(f"{month}-01"), services.scheme_current())
    got = {codes[r.unit_id]: _row(r.values) for r in results}
    expected = REFERENCE["months"][month]
    assert sorted(got) == sorted(expected)
    differ = {code: (got[code], row) for code, row in expected.items() if got[code] != row}
    assert not differ, f"{len(differ)} units differ, e.g. {next(iter(differ.items()))}"
    assert sum(row[REFERENCE["keys"].index("repeat_finding_count")] for row in expected.values()) > 0
