"""Cursor pagination of the findings and tasks lists (issue 8): every row
once, no count, page size in ``limit`` (at most 200), cursor-safe ordering."""

from __future__ import annotations

import pytest

from inspections import services
from inspections.models import Finding

from ..inspections.helpers import world

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows(city, personas):
    w = world(city, personas)
    findings = []
    for n in range(7):
        finding, _created = services.finding_create(
            actor=personas.supervisor, source=Finding.Source.HOTLINE, category=w.category, unit=city.street_a1,
            description=f"第 {n} 件", external_id=f"C-{n}")
        findings.append(finding)
    tasks = [services.task_dispatch(actor=personas.supervisor, finding=f) for f in findings[:5]]
    return findings, tasks


def walk(client, url):
    seen, pages = [], 0
    while url:
        body = client.get(url).json()
        assert "count" not in body and set(body) == {"next", "previous", "results"}
        seen += [row["id"] for row in body["results"]]
        url, pages = body["next"], pages + 1
    return seen, pages


@pytest.mark.parametrize("resource,index", [("findings", 0), ("tasks", 1)])
def test_walking_the_cursor_sees_every_row_once_newest_first(rows, personas, api, resource, index):
    client = api(personas.supervisor)
    expected = sorted((obj.pk for obj in rows[index]), reverse=True)
    seen, pages = walk(client, f"/api/v1/{resource}/?limit=2")
    assert seen == expected and pages == (len(expected) + 1) // 2
    oldest_first, _pages = walk(client, f"/api/v1/{resource}/?limit=3&ordering=created_at")
    assert oldest_first == sorted(expected)


def test_new_rows_do_not_shift_the_pages(rows, city, personas, api):
    client = api(personas.supervisor)
    first = client.get("/api/v1/findings/?limit=3").json()
    services.finding_create(actor=personas.supervisor, source=Finding.Source.HOTLINE, category=rows[0][0].category,
                            unit=city.street_a1, description="新的一件", external_id="C-new")
    second = client.get(first["next"]).json()
    assert [r["id"] for r in second["results"]] == sorted((f.pk for f in rows[0]), reverse=True)[3:6]


def test_page_size_is_capped_and_bad_cursors_answer_404(rows, personas, api):
    client = api(personas.supervisor)
    assert len(client.get("/api/v1/findings/?limit=1000").json()["results"]) == 7  # capped at 200, 7 exist
    response = client.get("/api/v1/findings/?cursor=bm9wZQ")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_the_schema_declares_cursor_pagination(client, db):
    schema = client.get("/api/v1/schema/?format=json").json()
    for path in ("/api/v1/findings/", "/api/v1/tasks/"):
        names = {p["name"] for p in schema["paths"][path]["get"]["parameters"]}
        assert {"cursor", "limit", "ordering"} <= names and "offset" not in names
    listed = schema["components"]["schemas"]["PaginatedFindingList"]["properties"]
    assert "count" not in listed and {"next", "previous", "results"} <= set(listed)
    assert "offset" in {p["name"] for p in schema["paths"]["/api/v1/visits/"]["get"]["parameters"]}
