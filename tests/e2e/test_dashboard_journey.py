"""Journey 1 (issue 7): the campaign office logs in and its dashboard shows
the charts (drawn by ECharts) and the map of open findings (Leaflet markers in
traffic-light colours), all from the portal's own static files."""

from __future__ import annotations

import time

import pytest
from django.core.management import call_command
from django.utils import timezone

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CHARTS = ("#chart-trend", "#chart-categories", "#chart-point-types")


@pytest.fixture
def demo_password():
    return _load_demo()


def _load_demo():
    """明州市 as `manage.py load_demo` builds it (districts, streets, communities, points, 300 findings with tasks
    in every colour, volunteers, last month's scores), plus this month's draft scores."""
    from campaigns.management.commands.load_demo import DEMO_PASSWORD
    from campaigns.models import Campaign, User
    from scores import services

    call_command("load_demo", stdout=open("/dev/null", "w"))
    admin = User.objects.get(username="supervisor")
    this_month = timezone.localdate().replace(day=1)
    for campaign in Campaign.objects.active():
        services.scores_recompute(actor=admin, campaign=campaign, month=this_month)
    return DEMO_PASSWORD


def test_supervisor_dashboard_shows_charts_and_map(journey, demo_password):
    started = time.monotonic()
    j = journey()
    j.login("supervisor", demo_password)
    # Home sends the office to its dashboard.
    assert j.page.url.endswith("/dashboard/")
    assert j.page.locator("main h1").inner_text() == "创城办看板"
    for selector in CHARTS:
        j.page.wait_for_selector(f"{selector}.dash-chart-ready canvas", timeout=10_000)
        assert j.page.locator(f"{selector} canvas").count() >= 1
    j.page.wait_for_selector("#dash-map.dash-map-ready .dash-marker, #dash-map.dash-map-ready .dash-cluster")
    markers = j.page.locator("#dash-map .dash-marker, #dash-map .dash-cluster").count()
    assert markers > 0
    # Every colour of the traffic light is on the map (clusters take their worst member's colour).
    for colour in ("red", "yellow", "green", "grey"):
        assert j.page.locator(f".dash-point-list .light-{colour}").count() > 0, colour
    # The cards are links to the lists behind them.
    assert int(j.page.locator("[data-figure=open-findings] .dash-value").inner_text()) > 0
    j.page.wait_for_timeout(300)  # let the canvas finish painting before the picture
    j.screenshot("supervisor-dashboard")
    assert j.console_errors == []
    with j.page.expect_navigation():
        j.page.click("[data-figure=overdue-tasks]")
    assert "/tasks/" in j.page.url and "overdue=true" in j.page.url
    assert time.monotonic() - started < 30
