"""The district's task lights read the task's own path through the partial index made for them, and the
migration that follows the tally rewrites (inspections 0019–0021) refreshes the tallies' statistics."""

from __future__ import annotations

import datetime as dt
import importlib
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dashboards import selectors
from tests.scores.helpers import campaign

from .conftest import at, make_finding, make_task

pytestmark = pytest.mark.django_db

MIGRATION = importlib.import_module("inspections.migrations.0022_task_lights_path_index_and_analyze_tallies")


def lights_sql(camp, root, now) -> str:
    with CaptureQueriesContext(connection) as ctx:
        selectors.task_lights(camp, root, now)
    (query,) = ctx.captured_queries
    return query["sql"]


def test_district_lights_read_the_tasks_own_path_not_the_units(city):
    camp = campaign()
    sql = lights_sql(camp, city.district_a, timezone.now())
    assert "campaigns_unit" not in sql
    assert '"inspections_rectificationtask"."unit_path"' in sql


def test_district_lights_are_covered_by_the_open_path_index(city):
    """The index exists with the key and included columns the query reads, and the query reads no other
    column of the task (not even its id), so PostgreSQL can answer it index-only (bench-1M: EXPLAIN in
    docs/dashboards.md; a test database is too small for the planner to show its choice)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'task_campaign_open_path_idx'")
        (indexdef,), = cursor.fetchall()
    assert "(campaign_id, unit_path varchar_pattern_ops) INCLUDE (due_at, warn_at) WHERE" in indexdef, indexdef
    for status in ("assigned", "in_progress", "submitted", "returned"):
        assert f"'{status}'" in indexdef
    sql = lights_sql(campaign(), city.district_a, timezone.now())
    read = set(re.findall(r'"inspections_rectificationtask"\."(\w+)"', sql))
    assert read == {"campaign_id", "unit_path", "status", "due_at", "warn_at"}, read


def test_district_lights_count_the_districts_open_tasks_only(city, personas):
    """Figures by the task's path: the district's open tasks per light, none of the other district's."""
    from inspections.models import FindingCategory

    camp = campaign()
    cat = FindingCategory.objects.create(name="垃圾", code="lights-cat")
    now = at(6, 15)
    for unit, due, warn in [(city.street_a1, now - dt.timedelta(days=1), None),
                            (city.community_a1, now + dt.timedelta(hours=5), now - dt.timedelta(hours=1)),
                            (city.street_a1, now + dt.timedelta(days=5), now + dt.timedelta(days=4)),
                            (city.street_b1, now - dt.timedelta(days=2), None)]:
        finding = make_finding(camp, cat, unit, now - dt.timedelta(days=10))
        make_task(finding, dispatched=now - dt.timedelta(days=9), due=due, warn=warn)
    assert selectors.task_lights(camp, city.district_a, now) == {"red": 1, "yellow": 1, "green": 1}
    assert selectors.task_lights(camp, city.district_b, now) == {"red": 1, "yellow": 0, "green": 0}


def test_the_migration_analyzes_every_rewritten_tally():
    with CaptureQueriesContext(connection) as ctx, connection.schema_editor(atomic=False) as editor:
        MIGRATION.analyze_tallies(None, editor)
    done = {q["sql"] for q in ctx.captured_queries}
    for table in ("inspections_findingtally", "inspections_closuretally", "inspections_recurrencetally",
                  "inspections_chronicpoint"):
        assert f"ANALYZE {table}" in done


def test_rebuild_rollups_analyzes_the_tallies_it_rewrote():
    from django.core.management import call_command

    with CaptureQueriesContext(connection) as ctx:
        call_command("rebuild_rollups", stdout=open("/dev/null", "w"))
    done = [q["sql"] for q in ctx.captured_queries]
    for table in ("inspections_findingtally", "inspections_closuretally", "inspections_recurrencetally",
                  "inspections_chronicpoint"):
        assert f"ANALYZE {table}" in done
    # After the rebuild's writes, not before them.
    assert done.index("ANALYZE inspections_findingtally") > max(
        i for i, sql in enumerate(done) if "inspections_findingtally" in sql and not sql.startswith("ANALYZE"))
