"""Every list runs the same, pinned number of queries at page size 1 and 50 (acceptance 6)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inspections.models import (
    ExtensionRequest, Finding, FindingCategory, FindingPhoto, Inspection, RectificationTask, Severity, TaskEvent, Visit,
)

from .helpers import world

pytestmark = pytest.mark.django_db


@pytest.fixture
def many(city, personas):
    """60 visits, findings (each with a photo), tasks (each with an event; some with a pending extension) in district A."""
    w = world(city, personas)
    now = timezone.now()
    for i in range(60):
        FindingCategory.objects.create(code=f"Q{i:02d}", name=f"类别{i}", group=w.group)
    inspections = Inspection.objects.bulk_create([
        Inspection(campaign=w.campaign, title=f"检查{i}", kind=Inspection.Kind.SUPERVISION, unit=city.district_a,
                   starts_on=dt.date(2026, 11, 1), ends_on=dt.date(2026, 11, 2)) for i in range(60)])
    for inspection in inspections:
        inspection.inspectors.add(personas.inspector)
    visits = Visit.objects.bulk_create([
        Visit(inspection=inspections[i], point=w.point_a, unit=w.point_a.unit, visited_at=now - dt.timedelta(hours=i),
              inspector=personas.inspector) for i in range(60)])
    findings = Finding.objects.bulk_create([
        Finding(campaign=w.campaign, visit=visits[i], point=w.point_a, unit=w.point_a.unit, category=w.category,
                severity=Severity.MODERATE, description=f"问题{i}", observed_at=now - dt.timedelta(hours=i),
                status=Finding.Status.DISPATCHED if i % 3 else Finding.Status.NEW, latitude=w.point_a.latitude,
                longitude=w.point_a.longitude) for i in range(60)])
    FindingPhoto.objects.bulk_create([
        FindingPhoto(finding=f, image=f"photos/x{f.pk}.jpg", thumbnail=f"photos/t{f.pk}.jpg", content_type="image/jpeg",
                     width=64, height=48)
        for f in findings])
    start = now - dt.timedelta(days=30)

    def task(i, f):
        due = now + dt.timedelta(days=i - 20)  # overdue, due soon and on time
        return RectificationTask(finding=f, unit=f.unit, dispatched_at=start, original_due_at=due, due_at=due,
                                 warn_at=start + (due - start) * 0.8)

    tasks = RectificationTask.objects.bulk_create([task(i, f) for i, f in enumerate(findings)
                                                   if f.status == Finding.Status.DISPATCHED])
    TaskEvent.objects.bulk_create([TaskEvent(task=t, actor=personas.supervisor, action="dispatch", to_status="assigned")
                                   for t in tasks])
    ExtensionRequest.objects.bulk_create([
        ExtensionRequest(task=t, reason="r", requested_due_at=t.due_at + dt.timedelta(days=3),
                         previous_due_at=t.due_at, requested_by=personas.handler_a) for t in tasks[::4]])
    return w


def count(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, (url, response.content[:300])
    return len(ctx.captured_queries)


# Pinned: token + memberships + count + rows + one per prefetch.
API_LISTS = {
    "findings": 5,            # + photos, tasks (cursor pagination: no count)
    "tasks": 4,               # + pending extension requests (cursor pagination: no count)
    "visits": 5,              # + the page's finding counts (capped count, rows without a GROUP BY)
    "inspections": 5,         # + inspectors
    "finding-categories": 4,
}


@pytest.mark.parametrize("resource", API_LISTS)
def test_api_list_query_count_is_pinned_and_does_not_grow(many, personas, api, resource):
    client = api(personas.handler_a)
    small = count(client, f"/api/v1/{resource}/?limit=1")
    large = count(client, f"/api/v1/{resource}/?limit=50")
    assert small == large == API_LISTS[resource], (small, large)


# Pinned: session + user + memberships (+ permission lookups) + count + rows + prefetches + filter dropdowns.
PAGES = {
    "/findings/?per_page={n}": 8,
    "/tasks/?per_page={n}": 7,
    "/workbench/?per_page={n}": 7,    # the three light counts in one capped query, no page count
    "/inspections/?per_page={n}": 7,
    "/findings/triage/?per_page={n}": 8,
}


@pytest.mark.parametrize("url", PAGES)
def test_list_pages_query_count_is_pinned_and_does_not_grow(many, personas, login, url):
    who = personas.supervisor if "triage" in url else personas.handler_a
    client = login(who)
    small, large = count(client, url.format(n=1)), count(client, url.format(n=50))
    assert small == large == PAGES[url], (url, small, large)
    assert client.get(url.format(n=50)).content.count(b"<tr>") > 10  # the large page really has rows


def test_exports_map_and_category_list_run_a_fixed_number_of_queries(many, personas, login, city):
    client = login(personas.supervisor)
    urls = ["/findings/export.xlsx", "/tasks/export.xlsx", "/findings/map.json", "/finding-categories/"]
    before = {url: count(client, url) for url in urls}
    Finding.objects.bulk_create([Finding(unit=city.district_b, category=many.category, severity="minor",
                                         description=f"再{i}", latitude=1, longitude=1) for i in range(30)])
    assert {url: count(client, url) for url in urls} == before
    assert max(before.values()) <= 8, before


def test_finding_detail_page_query_count_is_pinned(many, personas, login):
    """The detail reads its tasks once (no prefetch of the open task besides, no pending extension
    rows: the page shows neither). More events do not add queries."""
    client = login(personas.supervisor)
    task = RectificationTask.objects.filter(extension_requests__isnull=False).select_related("finding").first()
    url = f"/findings/{task.finding_id}/"
    before = count(client, url)
    TaskEvent.objects.bulk_create([TaskEvent(task=task, actor=personas.handler_a, action="note", to_status=task.status)
                                   for _ in range(5)])
    # 12 before the two prefetches were dropped, 10 before the events' actors and the submissions'
    # submitters came in the events' and submissions' own queries; 9 before the finding's relations came
    # in a statement of their own (civportal.related) instead of six joins; 10 before the finding itself
    # came in that statement (its scope tested on the row: Scope.covers)
    assert count(client, url) == before == 9, before
    assert task.finding.description.encode() in client.get(url).content


@pytest.mark.parametrize("url, index", [
    ("/api/v1/findings/?status=dispatched&category={category}", "finding_cat_status_created_idx"),
    ("/api/v1/tasks/?overdue=true", "task_open_created_id_idx"),
])
def test_api_filtered_lists_walk_an_index_in_their_order(many, personas, login, url, index):
    """The API's filtered lists (newest first by creation) can be read page by page from an index in
    their order, without sorting the matching rows (at bench-1M the planner picks it on costs; here
    the alternatives are disabled so that the test sees whether the index can serve the query)."""
    client = login(personas.head_a)
    category = Finding.objects.values_list("category_id", flat=True).first()
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url.format(category=category)).status_code == 200
    main = next(q["sql"] for q in ctx.captured_queries if "LIMIT" in q["sql"] and "ORDER BY" in q["sql"]
                and ('FROM "inspections_finding"' in q["sql"] or 'FROM "inspections_rectificationtask"' in q["sql"]))
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off; SET LOCAL enable_sort = off")
        cursor.execute("EXPLAIN " + main)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert index in plan, plan
    assert "Sort" not in plan, plan
