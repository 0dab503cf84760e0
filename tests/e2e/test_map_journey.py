"""Journey (issue 20, acceptance 5): without map tiles the supervisor's
dashboard draws the districts of the demo city from their boundaries, coloured
by the civility index with a legend; the switch recolours them by overdue
tasks; clicking a district opens its dashboard with its streets. Nothing is
requested from another host (the journey fixture fails otherwise)."""

from __future__ import annotations

import pytest

from .conftest import SCREENSHOTS
from .test_dashboard_journey import _load_demo

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_dashboard_map_without_tiles_draws_a_choropleth_and_drills_down(journey, settings):
    settings.MAP_TILE_URL = ""
    password = _load_demo()
    j = journey()
    j.login("supervisor", password)
    j.goto("/dashboard/")
    page = j.page
    page.wait_for_selector("#dash-map.dash-map-ready path.dash-area")
    assert page.locator("#dash-map path.dash-area").count() == 4  # the four districts
    # Coloured by the index: at least two colours among the districts, and a legend naming the figure.
    fills = {page.locator("#dash-map path.dash-area").nth(i).get_attribute("fill") for i in range(4)}
    assert len(fills) >= 2 and "#d5d9de" not in fills, fills
    legend = page.locator("#dash-map .dash-legend")
    assert "文明指数" in legend.inner_text() and "逾期" in legend.inner_text()
    assert page.locator("#dash-map .dash-legend .dash-swatch").count() >= 8
    # No attribution flag or link: the prefix is off and there are no tiles to credit.
    assert page.locator("#dash-map .leaflet-control-attribution a").count() == 0
    assert page.locator("#dash-map .leaflet-control-attribution svg").count() == 0
    notice = page.locator(".dash-map-note").inner_text()
    assert "底图" in notice and "MAP_TILE" not in notice
    # Cluster counts sit in the middle of their circle.
    cluster = page.locator("#dash-map .dash-cluster").first
    if cluster.count():
        box, text = cluster.bounding_box(), cluster.locator("span").bounding_box()
        assert abs((box["x"] + box["width"] / 2) - (text["x"] + text["width"] / 2)) < 2
        assert abs((box["y"] + box["height"] / 2) - (text["y"] + text["height"] / 2)) < 3
    page.locator("#dash-map").scroll_into_view_if_needed()
    page.wait_for_timeout(200)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#map-title").locator("xpath=..").screenshot(path=str(SCREENSHOTS / "dashboard-map.png"))
    # The switch recolours by overdue tasks and the legend follows.
    page.check("#dash-metric input[value=overdue]")
    assert page.locator("#dash-map").get_attribute("data-metric") == "overdue"
    assert "逾期任务" in page.locator("#dash-map .dash-legend").inner_text()
    # Clicking a district (东湖区, MZ01) drills down to its dashboard, which draws its three streets.
    with page.expect_navigation():
        page.locator('#dash-map path.dash-area[data-code="MZ01"]').dispatch_event("click")
    assert "unit=MZ01" in page.url
    page.wait_for_selector("#dash-map.dash-map-ready path.dash-area")
    assert page.locator("#dash-map path.dash-area").count() == 3
    assert page.locator("#id_unit").input_value() == "MZ01"
