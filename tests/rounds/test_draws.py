"""Point draws (issue 18, acceptance 3): reproducible from seed and rule, stratified per district with
the largest-remainder rule, balanced over the inspectors, concealed from the evaluated units until the
round ends, exported to xlsx, with pinned query counts."""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.db.models.functions import Substr
from django.utils import timezone

from campaigns.models import Point, Unit
from inspections import services as loop
from inspections.models import Inspection
from rounds import services
from rounds.models import PlannedVisit, PointDraw

from ..campaigns.planning_helpers import read_xlsx
from .conftest import draw

pytestmark = pytest.mark.django_db


def drawn(d: PointDraw) -> list[int]:
    return list(d.planned_visits.order_by("point_id").values_list("point_id", flat=True))


def test_the_same_seed_and_rule_reproduce_the_same_draw(rounds_world, city, personas):
    first = draw(rounds_world, personas, city.city, seed=20261207)
    again = draw(rounds_world, personas, city.city, seed=20261207, title="复现")
    other = [drawn(draw(rounds_world, personas, city.city, seed=seed, title=f"换种子{seed}")) for seed in (1, 2, 3)]
    assert drawn(first) == drawn(again) and len(drawn(first)) == 10
    assert first.rule == again.rule == {"version": 1, "mode": "share", "value": "0.5", "point_types": [],
                                        "exclude_days": 0}
    # Another seed gives another sample (of the same size per stratum).
    assert any(points != drawn(first) for points in other)
    assert all(len(points) == 10 for points in other)
    # The pure draw agrees with what was saved, in the stored order of the sample.
    sample = services.draw_sample(area=city.city, rule=first.rule, seed=first.seed)
    assert sorted(pk for pk, _path in sample.points) == drawn(first)


def test_a_new_draw_stores_its_seed_who_and_when(rounds_world, city, personas):
    d = draw(rounds_world, personas, city.city)
    assert d.seed > 0 and d.drawn_by == personas.supervisor and d.created_at is not None
    assert d.candidate_count == 18
    inspection = d.inspection
    assert inspection.concealed and inspection.unit == city.city
    assert inspection.kind == Inspection.Kind.FIELD_EVALUATION
    assert set(inspection.inspectors.all()) == {personas.inspector, rounds_world.inspector2}
    assert PointDraw.history.filter(id=d.pk, history_user=personas.supervisor).count() == 1
    # Repeating it with the stored seed gives the same points.
    assert drawn(draw(rounds_world, personas, city.city, seed=d.seed)) == drawn(d)


def test_allocation_is_proportional_with_the_largest_remainder_rule():
    # 5 points over strata of 7, 3 and 1 candidates: quotas 3.18, 1.36, 0.45 → 3, 1, 1.
    assert services.allocate(5, {"A": 7, "B": 3, "C": 1}) == {"A": 3, "B": 1, "C": 1}
    # A tie in the remainders goes to the smaller path.
    assert services.allocate(1, {"B": 2, "A": 2}) == {"A": 1, "B": 0}
    assert services.allocate(0, {"A": 3}) == {"A": 0}
    assert services.type_size({"mode": "share", "value": "0.1"}, 25) == 3  # 2.5 rounds half up
    assert services.type_size({"mode": "share", "value": "0.1"}, 4) == 1  # at least one per type
    assert services.type_size({"mode": "count", "value": "5"}, 3) == 3


def test_a_count_per_type_is_stratified_by_district(rounds_world, city, personas):
    d = draw(rounds_world, personas, city.city, mode="count", value=5,
             point_types=[rounds_world.market, rounds_world.road])
    rows = Counter(d.planned_visits.values_list("point__point_type__name", "stratum__name"))
    # Markets: A 7, B 3 → 3.5 / 1.5: remainders tie, A's path is smaller → A 4, B 1.
    # Roads: A 4, B 3 → 2.857 / 2.143 → 2 / 2, the remainder goes to A (0.857) → A 3, B 2.
    assert rows == {("农贸市场", "东湖区"): 4, ("农贸市场", "西江区"): 1, ("主次干道", "东湖区"): 3,
                    ("主次干道", "西江区"): 2}


def _expected_per_district(points_by_type_district: dict, share: Decimal) -> dict:
    expected = {}
    for type_id, districts in points_by_type_district.items():
        total = sum(districts.values())
        n = max(1, int((share * total).to_integral_value(rounding=ROUND_HALF_UP)))
        for district, count in districts.items():
            expected[(type_id, district)] = (math.floor(n * count / total), math.ceil(n * count / total), n)
    return expected


def test_ten_percent_per_type_over_the_demo_city_is_stratified_per_district(db):
    call_command("load_demo", "--quiet")
    city = Unit.objects.get(kind=Unit.Kind.CITY, code__startswith="MZ")
    supervisor = city.memberships.filter(role="supervisor").first().user
    inspectors = [m.user for m in Unit.objects.get(pk=city.pk).memberships.filter(role__in=["inspector",
                                                                                           "supervisor"])]
    campaign = __import__("campaigns.models", fromlist=["Campaign"]).Campaign.objects.active().first()
    today = timezone.localdate()
    d = services.point_draw_create(actor=supervisor, campaign=campaign, area=city, title="模拟测评", mode="share",
                                   value="0.1", starts_on=today, ends_on=today, inspectors=inspectors, seed=7)
    step = len(city.path) + Unit.steplen
    population = Counter(
        Point.objects.filter(active=True, unit__path__startswith=city.path)
        .annotate(district=Substr("unit__path", 1, step)).values_list("point_type_id", "district"))
    by_type: dict = {}
    for (type_id, district), count in population.items():
        by_type.setdefault(type_id, {})[district] = count
    assert len({district for _t, district in population}) >= 3  # several districts to stratify over
    expected = _expected_per_district(by_type, Decimal("0.1"))
    got = Counter(d.planned_visits.annotate(district=Substr("point__unit__path", 1, step))
                  .values_list("point__point_type_id", "district"))
    for (type_id, district), (low, high, _n) in expected.items():
        assert low <= got.get((type_id, district), 0) <= high, (type_id, district, got, expected)
    for type_id, districts in by_type.items():
        n = expected[(type_id, next(iter(districts)))][2]
        assert sum(got.get((type_id, district), 0) for district in districts) == n
    assert sum(got.values()) == d.planned_visits.count() and d.candidate_count == sum(population.values())
    # Every stop carries its district, and the inspectors' shares differ by at most one.
    assert not d.planned_visits.filter(stratum__isnull=True).exists()
    shares = Counter(d.planned_visits.values_list("inspector_id", flat=True))
    assert max(shares.values()) - min(shares.values()) <= 1 and len(shares) == len(inspectors)


def test_points_visited_in_the_last_days_are_left_out(rounds_world, city, personas):
    inspection = Inspection.objects.create(campaign=rounds_world.campaign, title="日常督查", kind="supervision",
                                           unit=city.city, starts_on=rounds_world.today,
                                           ends_on=rounds_world.today)
    recent = Point.objects.filter(code__startswith="BM")
    for point in recent[:2]:
        loop.visit_create(actor=personas.inspector, inspection=inspection, point=point,
                          visited_at=timezone.now() - dt.timedelta(days=3))
    loop.visit_create(actor=personas.inspector, inspection=inspection, point=recent[2],
                      visited_at=timezone.now() - dt.timedelta(days=40))
    d = draw(rounds_world, personas, city.city, mode="share", value="1", exclude_days=30)
    points = set(d.planned_visits.values_list("point__code", flat=True))
    assert "BM0" not in points and "BM1" not in points and "BM2" in points
    assert d.candidate_count == 16 and d.rule["exclude_days"] == 30


def test_stops_are_dealt_in_balanced_shares(rounds_world, city, personas):
    d = draw(rounds_world, personas, city.city, mode="share", value="1")
    shares = Counter(d.planned_visits.values_list("inspector__username", flat=True))
    assert shares == {"p_inspector": 9, "p_inspector2": 9}
    # Contiguous by district: the first inspector's share starts in district A.
    first = d.planned_visits.order_by("position").first()
    assert first.inspector == personas.inspector and first.stratum == city.district_a


@pytest.mark.parametrize("kwargs, field", [
    ({"value": "0"}, "value"),
    ({"value": "1.5"}, "value"),
    ({"mode": "count", "value": "2.5"}, "value"),
    ({"mode": "sometimes"}, "mode"),
    ({"exclude_days": 400}, "exclude_days"),
    ({"inspectors": []}, "inspectors"),
    ({"ends_on": dt.date(2000, 1, 1)}, "ends_on"),
    ({"seed": -1}, "seed"),
])
def test_bad_rules_are_refused_and_nothing_is_saved(rounds_world, city, personas, kwargs, field):
    with pytest.raises(ValidationError) as caught:
        draw(rounds_world, personas, city.city, **kwargs)
    assert field in caught.value.message_dict
    assert not PointDraw.objects.exists() and not Inspection.objects.exists()


def test_only_the_office_over_the_area_draws_and_only_inspectors_are_assigned(rounds_world, city, personas):
    with pytest.raises(PermissionDenied):
        draw(rounds_world, personas, city.district_a, actor=personas.head_a)
    with pytest.raises(ValidationError) as caught:
        draw(rounds_world, personas, city.city, inspectors=[personas.handler_a])
    assert "inspectors" in caught.value.message_dict
    with pytest.raises(ValidationError):
        draw(rounds_world, personas, city.district_b, point_types=[rounds_world.plan.types["医院"]])
    assert not PlannedVisit.objects.exists()


# --- 暗访: scope ------------------------------------------------------------------------------


def _end(d: PointDraw) -> None:
    past = timezone.localdate() - dt.timedelta(days=1)
    PointDraw.objects.filter(pk=d.pk).update(starts_on=past, ends_on=past)
    Inspection.objects.filter(pk=d.inspection_id).update(starts_on=past, ends_on=past)


def test_evaluated_units_cannot_see_the_draw_before_the_round_ends(rounds_world, city, personas, api, login):
    d = draw(rounds_world, personas, city.district_a)
    hidden = [personas.head_a, personas.handler_a, personas.leader, personas.handler_b, personas.outsider]
    for user in hidden:
        client = api(user)
        body = client.get("/api/v1/point-draws/").json()
        assert body.get("count", 0) == 0, user
        assert client.get(f"/api/v1/point-draws/{d.pk}/").status_code in (403, 404)
        assert client.get(f"/api/v1/inspections/{d.inspection_id}/").status_code in (403, 404)
        assert d.inspection_id not in [row["id"] for row in client.get("/api/v1/inspections/").json().get(
            "results", [])]
        assert not PlannedVisit.objects.visible_to(user).exists()
    page = login(personas.head_a)
    assert page.get(f"/rounds/draws/{d.pk}/").status_code == 404
    assert page.get(f"/inspections/{d.inspection_id}/").status_code == 404
    assert page.get(f"/rounds/draws/{d.pk}/export.xlsx").status_code == 404
    assert len(read_xlsx(page.get("/rounds/draws/export.xlsx").getvalue())) == 1  # the header only
    # The office and the round's inspectors see it; each inspector only their own stops.
    assert api(personas.supervisor).get(f"/api/v1/point-draws/{d.pk}/").json()["stops"].__len__() == \
        d.planned_visits.count()
    mine = api(personas.inspector).get(f"/api/v1/point-draws/{d.pk}/").json()["stops"]
    assert mine and {s["inspector"] for s in mine} == {personas.inspector.pk}
    assert api(personas.inspector).get(f"/api/v1/inspections/{d.inspection_id}/").status_code == 200


def test_the_units_see_the_draw_once_the_round_ended(rounds_world, city, personas, api):
    d = draw(rounds_world, personas, city.district_a)
    _end(d)
    body = api(personas.head_a).get(f"/api/v1/point-draws/{d.pk}/").json()
    assert body["concealed"] is False and len(body["stops"]) == d.planned_visits.count()
    assert api(personas.head_a).get(f"/api/v1/inspections/{d.inspection_id}/").status_code == 200
    # District B's clerk still sees nothing of district A's round.
    assert api(personas.handler_b).get(f"/api/v1/point-draws/{d.pk}/").status_code == 404


def test_unconcealed_inspections_keep_their_ordinary_scope(rounds_world, city, personas, api):
    inspection = loop.inspection_create(actor=personas.supervisor, campaign=rounds_world.campaign, title="督查",
                                        kind="supervision", unit=city.district_a, starts_on=rounds_world.today,
                                        ends_on=rounds_world.ends_on)
    assert api(personas.head_a).get(f"/api/v1/inspections/{inspection.pk}/").status_code == 200
    assert api(personas.handler_b).get(f"/api/v1/inspections/{inspection.pk}/").status_code == 404


# --- API, pages, export, query counts --------------------------------------------------------


def test_api_draws_and_answers_bad_input_with_400(rounds_world, city, personas, api):
    client = api(personas.supervisor)
    payload = {"campaign": rounds_world.campaign.pk, "title": "模拟测评", "area": city.city.pk, "mode": "share",
               "value": "0.5", "starts_on": str(rounds_world.starts_on), "ends_on": str(rounds_world.ends_on),
               "inspectors": [personas.inspector.pk, rounds_world.inspector2.pk], "seed": 99}
    created = client.post("/api/v1/point-draws/", payload, format="json")
    assert created.status_code == 201, created.content
    again = client.post("/api/v1/point-draws/", payload, format="json").json()
    assert [s["point"] for s in created.json()["stops"]] == [s["point"] for s in again["stops"]]
    for bad in ({"value": "2"}, {"inspectors": []}, {"inspectors": [personas.handler_b.pk]}, {"area": 999999},
                {"mode": "x"}, {"seed": -5}, {"exclude_days": "many"}):
        response = client.post("/api/v1/point-draws/", {**payload, **bad}, format="json")
        assert response.status_code == 400, (bad, response.content)
    assert PointDraw.objects.count() == 2
    assert api(personas.handler_a).post("/api/v1/point-draws/", payload, format="json").status_code == 403


def test_pages_draw_list_detail_and_export(rounds_world, city, personas, login):
    client = login(personas.supervisor)
    assert client.get("/rounds/draws/new/").status_code == 200
    response = client.post("/rounds/draws/new/", {
        "campaign": rounds_world.campaign.pk, "title": "十二月模拟测评", "area": city.city.code, "mode": "count",
        "value": "2", "starts_on": str(rounds_world.starts_on), "ends_on": str(rounds_world.ends_on),
        "inspectors": [personas.inspector.pk], "kind": "field_evaluation", "exclude_days": "0"})
    assert response.status_code == 302, response.content.decode()[:2000]
    d = PointDraw.objects.get()
    detail = client.get(f"/rounds/draws/{d.pk}/").content.decode()
    assert "十二月模拟测评" in detail and str(d.seed) in detail
    rows = read_xlsx(client.get(f"/rounds/draws/{d.pk}/export.xlsx").getvalue())
    stops = list(d.planned_visits.order_by("position").values_list("position", "point__name", "inspector__username"))
    assert [(r[0], r[2], r[9]) for r in rows[1:]] == stops
    listed = read_xlsx(client.get("/rounds/draws/export.xlsx").getvalue())
    assert listed[1][0] == "十二月模拟测评" and listed[1][4] == d.seed and listed[1][6] == len(stops)
    bad = client.post("/rounds/draws/new/", {"campaign": rounds_world.campaign.pk, "title": "x", "area": "C",
                                              "mode": "share", "value": "3", "starts_on": "2026-01-02",
                                              "ends_on": "2026-01-01", "inspectors": [personas.inspector.pk],
                                              "kind": "field_evaluation"})
    assert bad.status_code == 400 and PointDraw.objects.count() == 1


def test_inspector_sees_own_stops_nearest_first(rounds_world, city, personas, login):
    d = draw(rounds_world, personas, city.city, mode="share", value="1", inspectors=[personas.inspector])
    client = login(personas.inspector)
    by_name = client.get("/rounds/mine/").context["page"].object_list
    assert [s.pk for s in by_name] and all(s.inspector_id == personas.inspector.pk for s in by_name)
    near = list(client.get("/rounds/mine/?lat=29.95&lng=121.50").context["page"].object_list)
    # 东湖市场5 sits at 29.95: nearest; points without coordinates come after those with them.
    assert near[0].point.name == "东湖市场5"
    located = [s for s in near if s.point.latitude is not None]
    assert near[:len(located)] == located
    assert client.get("/rounds/mine/?lat=abc&lng=1e999").status_code == 200
    other = login(rounds_world.inspector2)
    assert not list(other.get("/rounds/mine/").context["page"].object_list)
    assert d.planned_visits.count() == 18


@pytest.mark.parametrize("size", [1, 50])
def test_draw_lists_hold_their_query_count(rounds_world, city, personas, api, login, size,
                                           django_assert_num_queries):
    for i in range(3):
        draw(rounds_world, personas, city.city, title=f"第{i}轮")
    client = api(personas.supervisor)
    client.get("/api/v1/point-draws/")  # warm the token and content types
    with django_assert_num_queries(4):
        assert len(client.get(f"/api/v1/point-draws/?limit={size}").json()["results"]) == min(size, 3)
    with django_assert_num_queries(5):
        assert client.get(f"/api/v1/point-draws/{PointDraw.objects.first().pk}/").status_code == 200
    page = login(personas.inspector)
    page.get("/rounds/mine/")
    with django_assert_num_queries(5):  # session, user, memberships, count, rows
        page.get(f"/rounds/mine/?page_size={size}")
