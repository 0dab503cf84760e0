"""Issue 13: on PostgreSQL the month's visits and findings are rolled up to the ranked units in SQL
(owner keys × GROUPING SETS, the category breakdown rounded and ordered by the database, the
breakdown written as JSON as it is built); elsewhere in Python. Both must give every unit the same
values and breakdown, and the upsert must store the JSON written along the way as the breakdown."""

import datetime as dt
import json

import pytest

from campaigns.models import User
from scores import compute, services
from scores.models import MonthlyScore

from .test_bench_month_reference import REFERENCE, bench_campaign  # noqa: F401  (the fixture)


def _plain(results) -> dict:
    return {r.unit_id: json.loads(json.dumps(r.values, default=str)) for r in results}


@pytest.mark.parametrize("month", sorted(REFERENCE["months"]))
def test_the_sql_and_python_rollups_agree(bench_campaign, month, monkeypatch):  # noqa: F811
    month = dt.date.fromisoformat(f"{month}-01")
    scheme = services.scheme_current()
    in_sql = compute.compute(bench_campaign, month, scheme)
    monkeypatch.setattr(compute, "ROLLUP_IN_SQL", False)
    in_python = compute.compute(bench_campaign, month, scheme)
    assert all(r.breakdown_json is None for r in in_python)
    got, expected = _plain(in_sql), _plain(in_python)
    assert sorted(got) == sorted(expected)
    differ = [pk for pk in expected if got[pk] != expected[pk]]
    assert not differ, f"{len(differ)} units differ, e.g. {got[differ[0]]} != {expected[differ[0]]}"
    assert sum(len(v["breakdown"]["categories"]) for v in got.values()) > 0
    # The JSON written along the way is the breakdown.
    assert all(json.loads(r.breakdown_json) == got[r.unit_id]["breakdown"] for r in in_sql)


def test_the_upsert_stores_the_breakdown_written_along_the_way(bench_campaign):  # noqa: F811
    month = dt.date.fromisoformat(f"{min(REFERENCE['months'])}-01")
    admin = User.objects.create_superuser("rollup-admin", "", None)
    services.scores_recompute(actor=admin, campaign=bench_campaign, month=month)
    expected = _plain(compute.compute(bench_campaign, month, services.scheme_current()))
    stored = dict(MonthlyScore.objects.filter(campaign=bench_campaign, month=month).values_list("unit_id", "breakdown"))
    assert stored.keys() == expected.keys()
    assert all(stored[pk] == expected[pk]["breakdown"] for pk in expected)
    assert any(stored[pk]["categories"] for pk in stored)
