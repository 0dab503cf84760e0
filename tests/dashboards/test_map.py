"""The dashboard map (issue 20, maps): the units one level below the dashboard's
unit drawn from their boundaries, coloured by the civility index, overdue tasks
or open findings (from the scores and the rollups, a fixed number of queries),
each a link to its own dashboard; the notice without tiles speaks to people."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns.geojson import rectangle
from campaigns.models import Unit
from tests.factories import make_unit

from .conftest import make_finding, october

pytestmark = pytest.mark.django_db

WEST, EAST = rectangle(121.4, 29.8, 121.5, 29.9), rectangle(121.5, 29.8, 121.6, 29.9)


def charts(response) -> dict:
    content = response.content.decode()
    start = content.index('<script id="dashboard-data" type="application/json">') + len(
        '<script id="dashboard-data" type="application/json">')
    return json.loads(content[start:content.index("</script>", start)])


def outline(city):
    Unit.objects.filter(pk=city.district_a.pk).update(boundary=WEST)
    Unit.objects.filter(pk=city.district_b.pk).update(boundary=EAST)
    Unit.objects.filter(pk=city.city.pk).update(boundary=rectangle(121.4, 29.8, 121.6, 29.9))


def test_the_city_map_colours_its_districts_by_index_overdue_tasks_and_open_findings(facts, city, personas, login):
    outline(city)
    response = login(personas.supervisor).get("/dashboard/", october(facts.camp))
    areas = charts(response)["areas"]
    by_code = {f["properties"]["code"]: f for f in areas["features"]}
    assert set(by_code) == {"C-A", "C-B"}  # the department has no outline; grids and streets are deeper
    a, b = by_code["C-A"]["properties"], by_code["C-B"]["properties"]
    # Index from the October scores; open findings from the rollup (f1, f2, h2, h3 / f5); overdue: r1.
    assert (a["index"], a["open"], a["overdue"]) == (90.0, 4, 1)
    assert (b["index"], b["open"], b["overdue"]) == (95.0, 1, 0)
    assert by_code["C-A"]["geometry"] == WEST and areas["outline"]["type"] == "Polygon"
    assert areas["month"] == "2026-10"
    # Clicking a district opens its dashboard (the unit filter), same campaign and month.
    assert a["url"] == f"/dashboard/?unit=C-A&month=2026-10&campaign={facts.camp.pk}"
    page = response.content.decode()
    assert 'name="metric" value="overdue"' in page and "文明指数" in page
    assert f'href="/dashboard/?unit=C-A&amp;month=2026-10&amp;campaign={facts.camp.pk}">东湖区</a>' in page
    # Drilling down: the district's dashboard draws its streets.
    down = charts(login(personas.supervisor).get(a["url"]))
    assert down["areas"]["features"] == [] and down["areas"]["outline"] == WEST
    Unit.objects.filter(pk=city.street_a1.pk).update(boundary=WEST)
    down = charts(login(personas.supervisor).get(a["url"]))["areas"]
    assert [f["properties"]["code"] for f in down["features"]] == ["C-A-1"]
    assert down["features"][0]["properties"]["open"] == 4 and down["features"][0]["properties"]["index"] is None


def test_the_unit_dashboard_drills_down_within_the_leaders_scope(facts, city, personas, login):
    outline(city)
    Unit.objects.filter(pk=city.street_a1.pk).update(boundary=WEST)
    client = login(personas.leader)
    areas = charts(client.get("/dashboard/unit/", october(facts.camp)))["areas"]
    assert [f["properties"]["code"] for f in areas["features"]] == ["C-A-1"]
    assert areas["features"][0]["properties"]["url"].startswith("/dashboard/unit/?unit=C-A-1&")
    # The other district is not theirs: its code falls back to their own unit.
    other = charts(client.get("/dashboard/unit/", october(facts.camp, unit="C-B")))["areas"]
    assert [f["properties"]["code"] for f in other["features"]] == ["C-A-1"]


def test_without_tiles_the_notice_speaks_to_people(facts, city, personas, login, settings):
    settings.MAP_TILE_URL = ""
    outline(city)
    page = login(personas.supervisor).get("/dashboard/", october(facts.camp)).content.decode()
    assert "MAP_TILE" not in page.replace('data-tile-url=""', "")
    assert "未显示街道底图" in page
    for url in ("/findings/?view=map", "/points/map/"):
        assert "MAP_TILE_URL" not in login(personas.supervisor).get(url).content.decode()


@pytest.mark.parametrize("streets", [1, 12])
def test_map_areas_cost_four_queries_whatever_the_number_of_units_and_findings(facts, city, personas, login,
                                                                               streets):
    """With outlines below the dashboard's unit: four queries more than without (units, open findings by
    unit from the rollup, overdue tasks by unit, scores), whether 1 or 12 streets and their findings."""
    client = login(personas.supervisor)
    params = october(facts.camp, unit="C-A")
    client.get("/dashboard/", params)
    with CaptureQueriesContext(connection) as ctx:
        client.get("/dashboard/", params)
    without = len(ctx.captured_queries)
    # One query reads outlines (of the units below); the unit select and the scope load none.
    assert sum('"boundary"' in q["sql"] for q in ctx.captured_queries) == 2, [q["sql"][-400:] for q in ctx.captured_queries if '"boundary"' in q["sql"]]
    assert sum('"boundary" IS NOT NULL' in q["sql"] for q in ctx.captured_queries) == 1
    for n in range(streets):
        street = make_unit(city.district_a, kind=Unit.Kind.STREET, name=f"街道{n}", code=f"C-A-M{n}")
        Unit.objects.filter(pk=street.pk).update(boundary=WEST)
        make_finding(facts.camp, facts.order, street, facts.f1.observed_at)
    with CaptureQueriesContext(connection) as after:
        response = client.get("/dashboard/", params)
    assert len(charts(response)["areas"]["features"]) == streets
    assert len(after.captured_queries) == without + 3, [q["sql"] for q in after.captured_queries]

    def finding_reads(queries) -> int:
        return sum('FROM "inspections_finding" ' in q["sql"] for q in queries)

    # The figures come from the rollup and the scores: no more reads of the findings table than before.
    assert finding_reads(after.captured_queries) == finding_reads(ctx.captured_queries)
