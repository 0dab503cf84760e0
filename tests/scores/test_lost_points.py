"""Issue 18, acceptance 2: lost points by criterion. Over generated checklists, each node's totals equal the
sum over its failed criteria (hand count in Python), the xlsx export is the page's table, the API agrees,
the queries do not grow with the data, and the scope holds."""

from __future__ import annotations

import io
import random
import re
from collections import defaultdict
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from campaigns.models import Indicator, IndicatorSystem
from campaigns.planning.indicator_io import Node, store_nodes
from inspections.models import VisitCheck
from scores.lost import period_bounds

from .helpers import at, campaign, category, finding, inspection, point, point_type, visit

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def world(city):
    market, lane = point_type("M", "农贸市场", "1.5"), point_type("L", "背街小巷", "1.0")
    system = IndicatorSystem.objects.create(name="体系", status=IndicatorSystem.Status.PUBLISHED)
    store_nodes(system, [
        Node(0, "1", "", "公共环境", D(0), ""), Node(0, "1.1", "1", "农贸市场", D(0), ""),
        Node(0, "1.1.1", "1.1", "市场要求", D(0), ""),
        Node(0, "1.1.1.1", "1.1.1", "环境整洁", D("2"), "field", [market]),
        Node(0, "1.1.1.2", "1.1.1", "摊位整齐", D("1"), "field", [market]),
        Node(0, "1.2", "1", "背街小巷", D(0), ""), Node(0, "1.2.1", "1.2", "小巷要求", D(0), ""),
        Node(0, "1.2.1.1", "1.2.1", "路面平整", D("1.5"), "field", [lane]),
        Node(0, "2", "", "诚信建设", D(0), ""), Node(0, "2.1", "2", "诚信宣传", D(0), ""),
        Node(0, "2.1.1", "2.1", "宣传要求", D(0), ""),
        Node(0, "2.1.1.1", "2.1.1", "诚信公示", D("0.5"), "field", [market, lane]),
    ])
    camp = campaign(indicator_system=system)
    criteria = {c.code: c for c in Indicator.objects.filter(system=system, level="criterion")}
    return type("W", (), {"camp": camp, "system": system, "criteria": criteria, "market": market, "lane": lane,
                          "insp": inspection(camp, city.city), "cat": category("X", "环境问题", "2")})


def generate(w, city, n_visits: int, seed: int = 7):
    rng = random.Random(seed)
    units = [city.community_a1, city.street_a1, city.street_b1]
    points = [point(u, t) for u in units for t in (w.market, w.lane)]
    applies = {w.market.pk: ["1.1.1.1", "1.1.1.2", "2.1.1.1"], w.lane.pk: ["1.2.1.1", "2.1.1.1"]}
    rows = []
    for n in range(n_visits):
        p = rng.choice(points)
        v = visit(w.insp, p, at(10, 1 + n % 28, 9 + n % 10))
        for code in applies[p.point_type_id]:
            result = rng.choice(["met", "met", "failed", "na"])
            f = finding(w.camp, w.cat, "moderate", visit_=v, indicator=w.criteria[code]) if result == "failed" else None
            rows.append(VisitCheck(visit=v, indicator=w.criteria[code], result=result, finding=f))
    # Outside the period: never counted.
    v = visit(w.insp, points[0], at(11, 2))
    rows.append(VisitCheck(visit=v, indicator=w.criteria["1.1.1.1"], result="failed"))
    VisitCheck.objects.bulk_create(rows)
    return rows


def hand(w, rows, *, path_prefix=""):
    """Per node code: (stake, lost, failed) over October's checks whose visit's unit path starts with the prefix."""
    paths = {i.code: i.path for i in Indicator.objects.filter(system=w.system)}
    totals = defaultdict(lambda: [D(0), D(0), 0])
    for c in rows:
        if c.visit.visited_at.month != 10 or c.result == "na" or not c.visit.unit.path.startswith(path_prefix):
            continue
        for code, path in paths.items():
            if c.indicator.path.startswith(path):
                t = totals[code]
                t[0] += c.indicator.points
                if c.result == "failed":
                    t[1] += c.indicator.points
                    t[2] += 1
    return {code: tuple(t) for code, t in totals.items()}


def _page_table(body: str) -> dict:
    out = {}
    for code, cells in re.findall(r'<tr data-node="([^"]+)"[^>]*>(.*?)</tr>', body, re.S):
        texts = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", cells, re.S)]
        out[code] = texts
    return out


def test_page_totals_per_node_equal_the_failed_criteria_points_and_export_matches(world, city, personas, login):
    rows = generate(world, city, 40)
    expected = hand(world, rows)
    client = login(personas.supervisor)
    r = client.get("/scores/lost-points/", {"campaign": world.camp.pk, "period": "2026-10"})
    assert r.status_code == 200
    table = _page_table(r.content.decode())
    assert set(table) == set(expected)
    for code, (stake, lost, failed) in expected.items():
        cells = table[code]
        assert (D(cells[3]), D(cells[4]), int(cells[6])) == (stake, lost, failed), code
        assert cells[5] == str(((stake - lost) * 100 / stake).quantize(D("0.01")))
    # The section's totals are the sums of its criteria, and the top node of section 1 sums both items.
    assert expected["1"][1] == expected["1.1"][1] + expected["1.2"][1] > 0
    x = client.get("/scores/lost-points.xlsx", {"campaign": world.camp.pk, "period": "2026-10"})
    assert x.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(x.streaming_content))).active
    exported = list(sheet.iter_rows(values_only=True))
    assert len(exported) == len(table) + 1
    for row in exported[1:]:
        cells = table[row[0]]
        assert list(row[:3]) == cells[:3]
        assert [D(str(v)) for v in row[3:7]] == [D(c) for c in cells[3:7]]
        assert (row[7] or "—") == cells[7]


def test_api_agrees_and_queries_do_not_grow_with_rows(world, city, personas, api, django_assert_num_queries):
    client = api(personas.supervisor)
    query = {"campaign": world.camp.pk, "period": "2026-10"}
    client.get("/api/v1/lost-points/", query)  # warm the token and role caches
    rows = generate(world, city, 4, seed=1)
    with django_assert_num_queries(7):
        few = client.get("/api/v1/lost-points/", query)
    rows += generate(world, city, 40, seed=2)
    with django_assert_num_queries(7):
        many = client.get("/api/v1/lost-points/", query)
    assert few.status_code == many.status_code == 200
    expected = hand(world, rows)
    nodes = {n["code"]: n for n in many.json()["nodes"]}
    assert {c: (D(n["points_at_stake"]), D(n["points_lost"]), n["failed_checks"]) for c, n in nodes.items()} == expected
    top = nodes["1"]["top_units"]
    assert top and D(top[0]["lost"]) >= D(top[-1]["lost"])
    drill = client.get(nodes["1.1.1.1"]["findings_url"])
    assert drill.status_code == 200 and drill.json()["results"]
    assert all(f["indicator"] == world.criteria["1.1.1.1"].pk for f in drill.json()["results"])


def test_scope_and_filters(world, city, personas, api):
    rows = generate(world, city, 30)
    # handler_b (district B) sees only district B's checks.
    body = api(personas.handler_b).get("/api/v1/lost-points/", {"campaign": world.camp.pk, "period": "2026-10"}).json()
    got = {n["code"]: (D(n["points_at_stake"]), D(n["points_lost"]), n["failed_checks"]) for n in body["nodes"]}
    assert got == hand(world, rows, path_prefix=city.district_b.path)
    names = {u["name"] for n in body["nodes"] for u in n["top_units"]}
    assert names <= {city.street_b1.name}
    # The office filters by unit subtree and point type.
    q = {"campaign": world.camp.pk, "period": "2026-10", "within": city.district_a.code, "point_type": world.lane.pk}
    body = api(personas.supervisor).get("/api/v1/lost-points/", q).json()
    assert {n["code"] for n in body["nodes"]} <= {"1", "1.2", "1.2.1", "1.2.1.1", "2", "2.1", "2.1.1", "2.1.1.1"}
    # A unit outside the caller's scope is a 400, never data.
    r = api(personas.handler_b).get("/api/v1/lost-points/", {"within": city.district_a.code})
    assert r.status_code == 400


@pytest.mark.parametrize("params", [{"period": "2026-13"}, {"period": "x"}, {"campaign": "abc"},
                                    {"point_type": "999999999999"}, {"colour": "red"}, {"period": "2026-Q5"}])
def test_bad_filters_are_400(world, personas, api, params):
    assert api(personas.supervisor).get("/api/v1/lost-points/", params).status_code == 400


def test_periods():
    assert period_bounds("2026-10") == (period_bounds("2026-10")[0], period_bounds("2026-11")[0])
    assert [str(d) for d in period_bounds("2026-Q4")] == ["2026-10-01", "2027-01-01"]
    assert [str(d) for d in period_bounds("2026-H1")] == ["2026-01-01", "2026-07-01"]
    assert [str(d) for d in period_bounds("2026")] == ["2026-01-01", "2027-01-01"]


def _count(client, url, params) -> tuple[int, str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(ctx.captured_queries), response.content.decode()


def test_unit_score_page_and_dashboards_show_top_lost_criteria_with_flat_queries(world, city, personas, login):
    from scores import services
    from scores.models import MonthlyScore

    client = login(personas.supervisor)
    rows = generate(world, city, 4, seed=3)
    services.scores_recompute(actor=personas.supervisor, campaign=world.camp, month=period_bounds("2026-10")[0])
    score = MonthlyScore.objects.get(campaign=world.camp, unit=city.street_a1)
    params = {"campaign": world.camp.pk, "month": "2026-10"}
    client.get(f"/scores/{score.pk}/")
    few_page, _body = _count(client, f"/scores/{score.pk}/", {})
    few_dash, _body = _count(client, "/dashboard/", params)
    rows += generate(world, city, 40, seed=4)
    services.scores_recompute(actor=personas.supervisor, campaign=world.camp, month=period_bounds("2026-10")[0])
    many_page, page = _count(client, f"/scores/{score.pk}/", {})
    many_dash, dash = _count(client, "/dashboard/", params)
    assert (few_page, few_dash) == (many_page, many_dash)
    # The street's own losses: its subtree's failed checks, largest first.
    own = hand(world, rows, path_prefix=city.street_a1.path)
    leaves = sorted(((lost, code) for code, (_s, lost, _f) in own.items() if code.count(".") == 3 and lost),
                    reverse=True)
    shown = re.findall(r'<tr data-criterion="([^"]+)">', page.split('id="lost-criteria"')[1].split("</section>")[0])
    assert shown and set(shown) == {code for _lost, code in leaves}
    assert own[shown[0]][1] == leaves[0][0]
    panel = dash.split('id="top-lost-criteria"')[1].split("</section>")[0]
    city_wide = hand(world, rows)
    top = re.findall(r'<tr data-criterion="([^"]+)">', panel)
    assert top and city_wide[top[0]][1] == max(l for c, (_s, l, _f) in city_wide.items() if c.count(".") == 3)
