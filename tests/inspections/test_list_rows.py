"""The finding, task and visit API lists build their rows from ``.values()``
(inspections/api/rows.py): the JSON must be exactly what the serializers give for
the same rows — nulls, photos' absolute URLs, traffic lights, pending extension
requests, datetimes in the active time zone, translated labels — in every
language and time zone, on every page of the cursor pagination."""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid
from decimal import Decimal

import pytest
from django.test import RequestFactory
from django.utils import timezone, translation

from campaigns.models import Unit
from civportal.api.parsers import SafeJSONRenderer
from inspections import selectors
from inspections.api.serializers import FindingSerializer, TaskSerializer, VisitSerializer
from inspections.models import (
    ExtensionRequest, Finding, FindingCategory, FindingPhoto, RectificationTask, Severity, Visit,
)

from .helpers import finding as make_finding
from .helpers import world

pytestmark = pytest.mark.django_db
Status, TaskStatus = Finding.Status, RectificationTask.Status


@pytest.fixture
def rows(city, personas):
    """40 findings with random attributes (a fixed seed) and 0–3 tasks, 0–2 photos each."""
    rng = random.Random(1313)
    w = world(city, personas)
    make_finding(w, personas)  # one through the services, with a real photo
    other = FindingCategory.objects.create(code="HJ-02", name="道路破损", group=w.group)
    now = timezone.now()
    units = [city.community_a1, city.street_a1, city.grid_a1, city.district_a]
    findings = []
    for i in range(40):
        point = rng.choice([w.point_a, None])
        closed = rng.random() < 0.3
        findings.append(Finding(
            campaign=rng.choice([w.campaign, None]), source=rng.choice(Finding.Source.values),
            external_id=rng.choice([None, f"12345-{i}"]), client_id=rng.choice([None, uuid.uuid4()]),
            visit=w.visit_a if point else None, point=point, unit=point.unit if point else rng.choice(units),
            department=rng.choice([None, city.department]), category=rng.choice([w.category, other]),
            severity=rng.choice(Severity.values), description=f"问题 {i} “引号” <b>&</b>\n第二行",
            address=rng.choice(["", "中山路 18 号"]),
            latitude=rng.choice([None, Decimal("29.868336"), Decimal("-0.000001"), Decimal("0")]),
            longitude=rng.choice([None, Decimal("121.543990"), Decimal("180.000000")]),
            observed_at=now - dt.timedelta(hours=rng.randint(0, 2000), microseconds=rng.randint(0, 999999)),
            reporter=rng.choice([None, personas.inspector]), reporter_name=rng.choice(["", "李女士"]),
            is_repeat=rng.random() < 0.2,
            status=Status.CLOSED if closed else rng.choice([Status.NEW, Status.DISPATCHED, Status.VOID]),
            void_reason=rng.choice(["", "重复上报"]), closed_at=now - dt.timedelta(days=1) if closed else None))
    findings = Finding.objects.bulk_create(findings)
    Finding.objects.filter(pk=findings[1].pk).update(duplicate_of=findings[0], status=Status.DUPLICATE)
    FindingPhoto.objects.bulk_create([
        FindingPhoto(finding=f, image=f"photos/x{f.pk}-{n}.jpg", thumbnail=f"photos/t{f.pk}-{n}.jpg",
                     content_type="image/jpeg", width=rng.randint(1, 4000), height=rng.randint(1, 3000))
        for f in findings for n in range(rng.randint(0, 2))])
    tasks = []
    for f in findings:
        for n in range(rng.randint(0, 3)):
            start = now - dt.timedelta(days=rng.randint(6, 40), minutes=n)
            due = now + dt.timedelta(days=rng.choice([-5, 1, 9]), hours=rng.randint(0, 5))
            warn = start + (due - start) * 0.8
            status = TaskStatus.CLOSED if n else rng.choice(TaskStatus.values)  # at most one open task
            tasks.append(RectificationTask(
                finding=f, unit=f.unit, status=status, supervision=rng.choice(RectificationTask.Supervision.values),
                instructions=rng.choice(["", "三日内整改"]), dispatched_at=start,
                dispatched_by=rng.choice([None, personas.supervisor]), original_due_at=due, due_at=due, warn_at=warn,
                accepted_at=rng.choice([None, start + dt.timedelta(hours=1)]),
                closed_at=start + dt.timedelta(days=1) if status == TaskStatus.CLOSED else None,
                closed_by=personas.supervisor if status == TaskStatus.CLOSED else None,
                rework_count=rng.randint(0, 2), extension_count=rng.randint(0, 1)))
    tasks = RectificationTask.objects.bulk_create(tasks)
    pending = ExtensionRequest.Status.PENDING
    ExtensionRequest.objects.bulk_create(
        [ExtensionRequest(task=t, reason="雨天施工", requested_due_at=t.due_at + dt.timedelta(days=3),
                          previous_due_at=t.due_at, requested_by=personas.handler_a,
                          requested_at=now - dt.timedelta(hours=5), status=pending)
         for t in tasks[::3]]
        + [ExtensionRequest(task=t, reason="已处理", requested_due_at=t.due_at, previous_due_at=t.due_at,
                            requested_by=personas.handler_a, status=ExtensionRequest.Status.APPROVED,
                            decided_by=personas.supervisor, decided_at=now, decision_note="同意")
           for t in tasks[1::3]])
    return w


def rendered(data):
    return json.loads(SafeJSONRenderer().render(data))


def walk(client, url, language):
    """Every row of a list, following the cursor pages."""
    out = []
    while url:
        response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 200, response.content[:300]
        body = response.json()
        out.extend(body["results"])
        url = body["next"]
    return out


def serialized(serializer, queryset, language):
    request = RequestFactory().get("/")  # host "testserver", as the test client's
    with translation.override(language):
        return rendered(serializer(queryset, many=True, context={"request": request}).data)


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "UTC", "America/St_Johns"])
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_finding_rows_are_the_serializers_json(rows, personas, api, settings, zone, language):
    settings.TIME_ZONE = zone
    client = api(personas.supervisor)
    fast = walk(client, "/api/v1/findings/?limit=7", language)
    with timezone.override(zone):
        slow = serialized(FindingSerializer, selectors.findings_for(personas.supervisor, lean=True)
                          .order_by("-created_at", "-id"), language)
    assert len(fast) == Finding.objects.count() > 40
    assert fast == slow
    assert any(r["photos"] for r in fast) and any(len(r["tasks"]) > 1 for r in fast)
    assert {r["latitude"] for r in fast} >= {None, "0.000000", "-0.000001"}
    assert fast[0]["photos"][0]["url"].startswith("http://testserver/")


@pytest.mark.parametrize("query", ["", "?ordering=due_at", "?light=yellow&light=red", "?status=closed&ordering=-dispatched_at",
                                   "?extension_pending=true"])
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_task_rows_are_the_serializers_json(rows, personas, api, settings, language, query):
    settings.TIME_ZONE = "UTC" if language == "en" else "Asia/Shanghai"
    client = api(personas.supervisor)
    separator = "&" if query else "?"
    fast = walk(client, f"/api/v1/tasks/{query}{separator}limit=6", language)
    # The serializer over the same filtered, ordered rows (the view's own filter backends).
    from django.http import QueryDict

    from inspections.filtersets import TaskFilterSet

    params = QueryDict(query.lstrip("?"), mutable=True)
    ordering = params.pop("ordering", ["-created_at"])[0]
    request = RequestFactory().get("/")
    request.user = personas.supervisor
    filterset = TaskFilterSet(params, selectors.tasks_for(personas.supervisor, lean=True), request=request)
    assert filterset.is_valid(), filterset.errors
    direction = "-" if ordering.startswith("-") else ""
    with timezone.override(settings.TIME_ZONE):
        slow = serialized(TaskSerializer, filterset.qs.order_by(ordering, f"{direction}id"), language)
    assert fast == slow
    assert fast, query
    if not query:
        assert len(fast) == RectificationTask.objects.count()
        assert {r["light"] for r in fast} == {"", "green", "yellow", "red"}
        assert any(r["pending_extension"] for r in fast) and any(r["point_name"] is None for r in fast)


def test_an_empty_page_and_the_photo_urls_of_a_real_photo(rows, personas, api):
    client = api(personas.supervisor)
    assert client.get("/api/v1/findings/?status=new&source=media&q=没有这样的描述").json()["results"] == []
    real = Finding.objects.filter(photos__isnull=False, source=Finding.Source.INSPECTION,
                                  description="市场门口垃圾堆积").get()
    row = next(r for r in walk(client, "/api/v1/findings/?limit=50", "zh-hans") if r["id"] == real.pk)
    photo = real.photos.get()
    assert row["photos"] == [{"id": photo.pk, "width": photo.width, "height": photo.height,
                              "url": f"http://testserver/photos/finding/{photo.pk}/full/",
                              "thumbnail_url": f"http://testserver/photos/finding/{photo.pk}/thumb/"}]
    assert client.get(row["photos"][0]["url"]).status_code == 200
    assert Unit.objects.filter(pk=row["unit"]).exists()


@pytest.mark.parametrize("query", ["", "?is_clean=false&ordering=visited_at", "?within=C-A&limit=3&offset=1"])
def test_visit_rows_are_the_serializers_json(rows, personas, api, settings, query):
    settings.TIME_ZONE = "America/St_Johns"
    rng = random.Random(7)
    visits = Visit.objects.bulk_create([
        Visit(inspection=rows.inspection, point=rows.point_a, unit=rows.point_a.unit, inspector=personas.inspector,
              visited_at=timezone.now() - dt.timedelta(minutes=i), is_clean=rng.random() < 0.5,
              notes=rng.choice(["", "门口整洁"]), latitude=rng.choice([None, Decimal("29.870000")]),
              longitude=rng.choice([None, Decimal("121.550000")])) for i in range(12)])
    Finding.objects.filter(visit=rows.visit_a).update(visit=visits[0])
    response = api(personas.supervisor).get(f"/api/v1/visits/{query}")
    assert response.status_code == 200
    fast = response.json()
    params = dict(p.split("=") for p in query.lstrip("?").split("&") if p)
    queryset = selectors.visits_for(personas.supervisor)
    if "is_clean" in params:
        queryset = queryset.filter(is_clean=False)
    if "within" in params:
        queryset = queryset.filter(unit_path__startswith=Unit.objects.get(code="C-A").path)
    queryset = queryset.order_by(*(["visited_at", "id"] if "ordering" in params else ["-visited_at", "-id"]))
    offset, limit = int(params.get("offset", 0)), int(params.get("limit", 50))
    with timezone.override(settings.TIME_ZONE):
        slow = serialized(VisitSerializer, queryset[offset:offset + limit], "zh-hans")
    assert fast["results"] == slow and fast["count"] == queryset.count()
    assert any(r["finding_count"] for r in fast["results"]) or query


@pytest.mark.parametrize("term", ["问题 1", "中山路", "引号", "7"])
def test_a_searched_list_reads_the_page_ids_first_and_gives_the_same_rows(rows, personas, api, term,
                                                                          django_assert_num_queries):
    """``?q=`` pages read the page's ids (the covering index on PostgreSQL), then its rows by id: the same
    JSON, in the same order, on every cursor page, as the serializer over the filtered rows."""
    from urllib.parse import quote

    from django.db.models import Q

    client = api(personas.supervisor)
    fast = walk(client, f"/api/v1/findings/?q={quote(term)}&limit=4", "zh-hans")
    match = Q(description__icontains=term) | Q(address__icontains=term)
    if term.isdigit():
        match |= Q(pk=int(term))
    with timezone.override("Asia/Shanghai"):
        slow = serialized(FindingSerializer, selectors.findings_for(personas.supervisor, lean=True).filter(match)
                          .order_by("-created_at", "-id"), "zh-hans")
    assert fast == slow and fast
    # ids, then the rows, their photos and their tasks; the session, user and scope reads before them
    client.get(f"/api/v1/findings/?q={quote(term)}&limit=4")  # (warm: the first request fills per-process caches)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert client.get(f"/api/v1/findings/?q={quote(term)}&limit=4").status_code == 200
    page_sql = [q["sql"] for q in queries.captured_queries if '"inspections_finding"' in q["sql"]]
    assert len(page_sql) == 2, page_sql
    columns = page_sql[0].split(" FROM ")[0]
    assert columns.count('"inspections_finding".') == 2 and '"created_at"' in columns and '"id"' in columns
    assert "JOIN" not in page_sql[0]  # the ids' query reads the findings' own columns only (index-only)
    # the rows by id: the names as scalar subqueries of a statement compiled once, nothing to join and plan
    assert "JOIN" not in page_sql[1] and '"campaigns_unit"' in page_sql[1]


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_details_are_the_serializers_json_byte_for_byte(rows, personas, api, settings, language,
                                                         django_assert_num_queries):
    """The API details answer the list's row for one object (no FilterSet, no serializer): the
    same bytes as the serializer of the detail, with the same queries as its prefetches."""
    settings.TIME_ZONE = "America/St_Johns"
    Visit.objects.create(inspection=rows.inspection, point=rows.point_a, unit=rows.point_a.unit,
                         inspector=personas.inspector, visited_at=timezone.now(), notes="门口整洁",
                         latitude=Decimal("29.870000"))
    client = api(personas.supervisor)
    client.get("/api/v1/visits/")  # the token's first use (last-used stamp) is not the detail's
    request = RequestFactory().get("/")
    cases = [
        ("findings", FindingSerializer, selectors.findings_for(personas.supervisor, lean=True), 2 + 3),
        ("tasks", TaskSerializer, selectors.tasks_for(personas.supervisor, lean=True), 2 + 2),
        ("visits", VisitSerializer, selectors.visits_for(personas.supervisor), 2 + 2),  # row, its finding count
    ]
    for route, serializer, queryset, queries in cases:
        objects = list(queryset.order_by("id"))
        assert len(objects) > 1, route
        for obj in objects:
            with translation.override(language), timezone.override(settings.TIME_ZONE):
                expected = SafeJSONRenderer().render(serializer(obj, context={"request": request}).data)
            with django_assert_num_queries(queries):  # the token and the scope, then the row and its nested lists
                response = client.get(f"/api/v1/{route}/{obj.pk}/", HTTP_ACCEPT_LANGUAGE=language)
            assert response.status_code == 200, response.content[:300]
            assert response.content == expected, (route, obj.pk)


def test_a_detail_is_not_filtered_and_answers_404_outside_scope_or_for_a_bad_id(rows, city, personas, api):
    closed = Finding.objects.filter(status=Status.CLOSED).first()
    client = api(personas.supervisor)
    # A list's filter parameters mean nothing to a detail (they used to filter it, and 404 it).
    assert client.get(f"/api/v1/findings/{closed.pk}/?status=new").status_code == 200
    assert client.get("/api/v1/findings/99999999/").status_code == 404
    assert client.get("/api/v1/findings/abc/").status_code == 404
    assert client.get("/api/v1/tasks/99999999/").status_code == 404
    task = RectificationTask.objects.filter(unit=city.community_a1).first()
    finding = task.finding
    outsider = api(personas.handler_b)  # district B's handler: district A's rows are not theirs
    assert outsider.get(f"/api/v1/tasks/{task.pk}/").status_code == 404
    assert outsider.get(f"/api/v1/findings/{finding.pk}/").status_code == 404
    assert client.get(f"/api/v1/tasks/{task.pk}/").status_code == 200
