"""Issue 20: the global search (/search/) finds findings and tasks by number, units by
name or code, points and volunteers by name — only in the user's scope, in a fixed
number of queries however many rows match."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns.models import Point
from tests.inspections.helpers import dispatched, world
from tests.volunteers.conftest import make_volunteer

pytestmark = pytest.mark.django_db


def kinds(response) -> dict[str, list[str]]:
    assert response.status_code == 200
    r = response.context["results"]
    return {"findings": [f.pk for f in r.findings], "tasks": [t.pk for t in r.tasks],
            "units": [u.name for u in r.units], "points": [p.name for p in r.points],
            "volunteers": [v.name for v in r.volunteers]}


def test_search_respects_scope(login, city, personas):
    w = world(city, personas)
    task_a = dispatched(w, personas)  # community A1 (district A)
    task_b = dispatched(w, personas, visit=w.visit_b)  # street B1 (district B)
    make_volunteer(city.community_a1, name="李春晖")
    make_volunteer(city.street_b1, name="王春晖")
    Point.objects.create(name="春晖路口", point_type=w.point_type, unit=city.street_b1)  # out of A's scope

    office = kinds(login(personas.supervisor).get("/search/", {"q": "春晖"}))
    assert office["units"] == ["春晖社区", "春晖社区第1网格"]
    assert office["points"] == ["春晖农贸市场", "春晖路口"]
    assert office["volunteers"] == ["李春晖", "王春晖"]

    a = kinds(login(personas.handler_a).get("/search/", {"q": "春晖"}))
    assert a["units"] == ["春晖社区", "春晖社区第1网格"] and a["points"] == ["春晖农贸市场"]
    assert a["volunteers"] == ["李春晖"]
    b = kinds(login(personas.handler_b).get("/search/", {"q": "春晖"}))
    assert b == {"findings": [], "tasks": [], "units": [], "points": ["春晖路口"], "volunteers": ["王春晖"]}

    # By number: a task and a finding, in scope only.
    assert kinds(login(personas.handler_a).get("/search/", {"q": f"#{task_a.pk}"}))["tasks"] == [task_a.pk]
    assert kinds(login(personas.handler_a).get("/search/", {"q": str(task_b.pk)}))["tasks"] == []
    assert kinds(login(personas.handler_b).get("/search/", {"q": str(task_b.finding_id)}))["findings"] == [task_b.finding_id]
    assert kinds(login(personas.handler_b).get("/search/", {"q": str(task_a.finding_id)}))["findings"] == []
    # By code.
    assert kinds(login(personas.handler_a).get("/search/", {"q": "C-B"}))["units"] == []
    assert kinds(login(personas.supervisor).get("/search/", {"q": "C-B"}))["units"] == ["西江区", "解放街道"]


def test_search_page_links_each_result_and_says_when_nothing_matches(login, city, personas):
    w = world(city, personas)
    task = dispatched(w, personas)
    html = login(personas.supervisor).get("/search/", {"q": str(task.pk)}).content.decode()
    assert f'href="/tasks/{task.pk}/"' in html
    html = login(personas.supervisor).get("/search/", {"q": "春晖社区"}).content.decode()
    assert f'href="/units/{city.community_a1.pk}/"' in html
    html = login(personas.handler_b).get("/search/", {"q": "春晖社区"}).content.decode()
    assert "在您的范围内没有与" in html
    header = login(personas.handler_a).get("/").content.decode()
    assert 'action="/search/"' in header  # the box in the header


def test_search_needs_a_login_and_survives_garbage(client, login, personas):
    assert client.get("/search/", {"q": "春晖"}).status_code == 302
    office = login(personas.supervisor)
    assert office.get("/search/", {"q": "\x00"}).status_code == 400  # refused before any view, as everywhere
    for garbage in ("", "%", "#", "＃１２", "²", "9" * 40, "x" * 5000):
        assert office.get("/search/", {"q": garbage}).status_code == 200


def test_search_query_count_is_pinned_and_does_not_grow(login, city, personas):
    w = world(city, personas)
    task = dispatched(w, personas)
    office = login(personas.supervisor)

    def count(text):
        office.get("/search/", {"q": text})  # warm the session
        with CaptureQueriesContext(connection) as queries:
            office.get("/search/", {"q": text})
        return len(queries)

    few = count(str(task.pk))
    for n in range(25):
        make_volunteer(city.community_a1, name=f"志愿者{task.pk}号{n}")
        Point.objects.create(name=f"{task.pk}号点位{n}", point_type=w.point_type, unit=city.community_a1)
    assert count(str(task.pk)) == few <= 9
