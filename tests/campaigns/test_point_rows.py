"""The point API list (issue 13, P2): rows from ``.values()`` (campaigns/planning/rows.py) are
exactly PointSerializer's JSON on every page, in every language and time zone; the count
is capped past the offset (``count_capped``) and walking ``next`` still reaches every row;
``within`` a unit of the caller's scope stands in for the scope clause it implies and
returns exactly the rows of the old subquery rule."""

from __future__ import annotations

import json
import random
from decimal import Decimal

import pytest
from django.test import RequestFactory
from django.utils import timezone, translation

from campaigns.models import Membership, Point, PointType, Unit
from campaigns.planning.filtersets import PointFilterSet
from campaigns.planning.serializers import PointSerializer
from campaigns.scope import scope_paths, scope_q
from civportal.api.pagination import CappedLimitOffsetPagination
from civportal.api.parsers import SafeJSONRenderer
from tests.factories import UserFactory, make_member, make_unit

pytestmark = pytest.mark.django_db


@pytest.fixture
def points(city, personas):
    """45 points with random attributes (a fixed seed) over both districts, some supervised
    by a city department and some by a department inside district A."""
    rng = random.Random(1313)
    dept_a = make_unit(city.district_a, kind=Unit.Kind.DEPARTMENT, name="东湖区城管局", code="C-A-CG")
    types = [PointType.objects.create(code=f"PT{i}", name=f"类型{i}") for i in range(3)]
    units = [city.district_a, city.street_a1, city.community_a1, city.grid_a1, city.district_b, city.street_b1]
    Point.objects.bulk_create([Point(
        code=rng.choice(["", f"P{i:03d}"]), name=rng.choice(["市场", "学校 “东门”", "公园 <b>&</b>", "Ä车站"]) + str(i % 7),
        point_type=rng.choice(types), address=rng.choice(["", "中山路 18 号\n二楼"]),
        latitude=rng.choice([None, Decimal("29.868336"), Decimal("-0.000001"), Decimal("0")]),
        longitude=rng.choice([None, Decimal("121.543990"), Decimal("-180.000000")]),
        unit=rng.choice(units), department=rng.choice([None, city.department, dept_a]),
        active=rng.random() < 0.8) for i in range(45)])
    return dept_a


def rendered(data):
    return json.loads(SafeJSONRenderer().render(data))


def walk(client, url, language="zh-hans"):
    """Every row of a list, following ``next``; the pages' bodies too."""
    out, bodies = [], []
    while url:
        response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 200, response.content[:300]
        body = response.json()
        bodies.append(body)
        out.extend(body["results"])
        url = body["next"]
    return out, bodies


def slow_rows(user, query: str, language: str, zone: str):
    """PointSerializer over the same filtered rows in the view's order."""
    from django.http import QueryDict

    params = QueryDict(query.lstrip("?"), mutable=True)
    ordering = params.pop("ordering", None)
    for name in ("limit", "offset"):
        params.pop(name, None)
    request = RequestFactory().get("/")
    request.user = user
    filterset = PointFilterSet(params, Point.objects.visible_to(user).select_related("point_type", "unit", "department"),
                               request=request)
    assert filterset.is_valid(), filterset.errors
    order = [ordering[0], "id" if not ordering[0].startswith("-") else "-id"] if ordering else ["point_type_id", "name", "id"]
    with translation.override(language), timezone.override(zone):
        return rendered(PointSerializer(filterset.qs.order_by(*order), many=True, context={"request": request}).data)


@pytest.mark.parametrize("zone", ["UTC", "America/St_Johns"])
@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("query", ["", "?within={home}", "?within={home}&active=true", "?ordering=-created_at",
                                   "?q=市场{dept}", "?point_type={type}&within={home}"])
@pytest.mark.parametrize("who", ["supervisor", "handler_a", "handler_b"])
def test_point_rows_are_the_serializers_json(points, personas, api, settings, zone, language, query, who):
    settings.TIME_ZONE = zone
    user = getattr(personas, who)
    # Unit filters name units in the caller's scope (else a 400, tested below).
    home = {"supervisor": "C", "handler_a": "C-A-1", "handler_b": "C-B"}[who]
    dept = {"supervisor": "&department=C-CGJ", "handler_a": "&department=C-A-CG", "handler_b": ""}[who]
    query = query.format(type=PointType.objects.get(code="PT1").pk, home=home, dept=dept)
    separator = "&" if query else "?"
    fast, _bodies = walk(api(user), f"/api/v1/points/{query}{separator}limit=7", language)
    assert fast == slow_rows(user, query, language, zone)
    if who == "supervisor" and not query:
        assert len(fast) == Point.objects.count() == 45
        assert {r["latitude"] for r in fast} >= {None, "0.000000", "-0.000001"}
        assert {r["department_name"] for r in fast} >= {None, "东湖区城管局"}


def test_the_count_is_capped_past_the_offset_and_next_reaches_every_row(points, personas, api, monkeypatch):
    monkeypatch.setattr(CappedLimitOffsetPagination, "cap", 5)
    client = api(personas.supervisor)
    body = client.get("/api/v1/points/?limit=2").json()
    assert list(body) == ["count", "count_capped", "next", "previous", "results"]
    assert body["count"] == 5 and body["count_capped"] is True and body["next"]
    rows, bodies = walk(client, "/api/v1/points/?limit=4")
    assert [r["id"] for r in rows] == list(Point.objects.order_by("point_type_id", "name", "id")
                                           .values_list("id", flat=True))
    assert bodies[-1]["count_capped"] is False and bodies[-1]["count"] == 45
    assert all(b["count_capped"] for b in bodies[:-3])  # five rows past the offset not yet the end
    # Below the cap the count is exact; an offset past the end is an empty page with the true count.
    monkeypatch.setattr(CappedLimitOffsetPagination, "cap", 1000)
    body = client.get("/api/v1/points/?within=C-A-1-1-1&limit=2").json()
    assert body["count"] == Point.objects.filter(unit__path__startswith=Unit.objects.get(code="C-A-1-1-1").path).count()
    assert body["count_capped"] is False
    body = client.get("/api/v1/points/?offset=100").json()
    assert body["results"] == [] and body["count"] == 45 and body["count_capped"] is False


def where(queryset) -> str:
    """The WHERE clause of a queryset's SQL (the SELECT list names every column)."""
    return str(queryset.query).split(" WHERE ", 1)[1]


def test_within_stands_in_for_the_scope_only_when_it_implies_it(points, city, personas):
    dept_handler = make_member(Unit.objects.get(code="C-A-CG"), Membership.Role.HANDLER, "p_dept_a")
    street_b = make_member(city.street_b1, Membership.Role.HANDLER, "p_street_b")
    root = UserFactory(username="root", is_superuser=True)
    users = [personas.supervisor, personas.leader, personas.handler_a, personas.handler_b, personas.outsider,
             dept_handler, street_b, root]
    units = [city.city, city.district_a, city.street_a1, city.grid_a1, city.district_b, city.street_b1,
             Unit.objects.get(code="C-A-CG")]
    sizes = set()
    for user in users:
        paths = scope_paths(user)
        before = Point.objects.all() if paths is None else \
            Point.objects.filter(scope_q(user, "unit__path") | scope_q(user, "department__path"))
        for unit in units:
            now = set(Point.objects.visible_to(user).within(unit).values_list("pk", flat=True))
            assert now == set(before.filter(unit__path__startswith=unit.path).values_list("pk", flat=True)), \
                (user.username, unit.code)
            sizes.add(len(now))
            if paths == []:
                continue  # no scope: nothing matches (WHERE 0 = 1)
            sql = where(Point.objects.visible_to(user).within(unit))
            implied = paths is None or any(unit.path.startswith(p) for p in paths)
            assert ("department_path" in sql) == (not implied), (user.username, unit.code, sql)
    assert 0 in sizes and len(sizes) >= 4  # the scopes and subtrees differ: the comparison has teeth
    # Another filter applied first keeps the scope clause (the WHERE is no longer the scope's alone).
    sql = where(Point.objects.visible_to(personas.handler_a).filter(active=True).within(city.street_a1))
    assert "department_path" in sql
    # Out of the caller's scope: a 400 in the API, never the district's points.
    request = RequestFactory().get("/")
    request.user = personas.handler_a
    filterset = PointFilterSet({"within": "C-B"}, Point.objects.visible_to(personas.handler_a), request=request)
    assert not filterset.is_valid()


def test_the_point_list_and_page_filter_on_the_path_columns_not_unit_subqueries(points, city, personas):
    sql = where(Point.objects.visible_to(personas.handler_a))
    assert '"unit_path"::text LIKE' in sql and "campaigns_unit" not in sql, sql
    request = RequestFactory().get("/")
    request.user = personas.handler_a
    filterset = PointFilterSet({"within": "C-A-1"}, Point.objects.visible_to(personas.handler_a), request=request)
    sql = str(filterset.qs.query)
    assert "campaigns_unit" not in sql, sql
    sql = where(filterset.qs)
    assert sql.startswith(f'"campaigns_point"."unit_path"::text LIKE {city.street_a1.path}%') and "department_path" not in sql, sql
