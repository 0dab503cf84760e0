"""A task's category (issue 13, "Literal filters"): the task carries its finding's
category, as it carries its campaign and scope paths, so that the task lists filter
``category_id IN (…)`` on the task itself through an index in the list's order
instead of joining the findings. Every writer keeps it (the dispatch service, a
direct create, the migration that fills existing rows) and a rebuild from the
findings finds nothing to change."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.db import connection
from django.db.models import OuterRef, Subquery
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inspections import services
from inspections.models import FindingCategory, RectificationTask

from .helpers import dispatched, finding, world

pytestmark = pytest.mark.django_db


def mismatches() -> list:
    """Tasks whose stored category differs from their finding's, recomputed from scratch."""
    of_finding = Subquery(RectificationTask.objects.filter(pk=OuterRef("pk")).values("finding__category_id")[:1])
    return [(pk, stored, expected) for pk, stored, expected in
            RectificationTask.objects.annotate(expected=of_finding).values_list("pk", "category_id", "expected")
            if stored != expected]


@pytest.fixture
def tasks(city, personas):
    w = world(city, personas)
    other = FindingCategory.objects.create(code="SR-01", name="占道经营")
    first = dispatched(w, personas)
    second = dispatched(w, personas, category=other, visit=w.visit_b)
    services.task_void(actor=personas.supervisor, task=second, reason="重复交办")
    again = services.task_dispatch(actor=personas.supervisor, finding=second.finding)
    direct = RectificationTask.objects.create(  # fixtures, the admin, loaders: save() copies it
        finding=finding(w, personas, category=other), unit=city.community_a1, dispatched_at=timezone.now(),
        original_due_at=timezone.now(), due_at=timezone.now(), warn_at=timezone.now())
    return w, other, [first, second, again, direct]


def test_every_writer_gives_the_task_its_findings_category(tasks):
    w, other, rows = tasks
    assert [RectificationTask.objects.get(pk=t.pk).category_id for t in rows] == [w.category.pk, other.pk, other.pk,
                                                                                 other.pk]
    assert mismatches() == []


def test_the_migration_fills_existing_tasks_in_batches(tasks, monkeypatch):
    migration = importlib.import_module("inspections.migrations.0024_task_category")
    monkeypatch.setattr(migration, "BATCH", 2)  # several batches over the four tasks
    RectificationTask.objects.update(category=None)
    migration.fill_task_categories(apps, None)
    assert RectificationTask.objects.filter(category__isnull=True).count() == 0
    assert mismatches() == []


def test_the_category_filter_reads_the_tasks_own_column(tasks, personas, api):
    w, other, rows = tasks
    client = api(personas.supervisor)
    client.get("/api/v1/tasks/")  # warm the caches (token, roles)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/api/v1/tasks/", {"category": w.group.pk})
    assert response.status_code == 200
    assert [r["id"] for r in response.json()["results"]] == [rows[0].pk]
    listed = [q["sql"] for q in ctx.captured_queries if 'FROM "inspections_rectificationtask"' in q["sql"]]
    assert listed and all('"inspections_rectificationtask"."category_id" IN' in sql for sql in listed)
    assert not any('"inspections_finding"."category_id" IN' in sql for sql in listed)
    ids = {r["id"] for r in client.get("/api/v1/tasks/", {"category": other.pk}).json()["results"]}
    assert ids == {rows[1].pk, rows[2].pk, rows[3].pk}
