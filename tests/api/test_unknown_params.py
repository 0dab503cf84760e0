"""Unknown query parameters on API lists answer 400 naming the parameter
(issue 14, acceptance 8); known ones (filters, ordering, pagination) still
work; ``unit`` filters findings and tasks to exactly that unit; HTML pages
ignore tracking parameters."""

from __future__ import annotations

import pytest
from drf_spectacular.generators import EndpointEnumerator

from campaigns.models import Membership
from inspections import services as loop
from inspections.models import Finding

from .world import build_world

Role = Membership.Role
pytestmark = pytest.mark.django_db


def list_routes() -> list[str]:
    routes = set()
    for path, _regex, method, callback in EndpointEnumerator().get_api_endpoints():
        actions = getattr(callback, "actions", None) or {}
        if method == "GET" and actions.get("get") == "list":
            routes.add(path)
    return sorted(routes)


def test_every_list_route_is_walked():
    routes = list_routes()
    assert "/api/v1/findings/" in routes and "/api/v1/tasks/" in routes and len(routes) >= 20


@pytest.fixture
def sup(city, personas, api, settings):
    settings.API_RATE_PER_MINUTE = 0
    build_world(city, personas)
    return api(personas.supervisor)


def required_params(route: str, personas) -> str:
    """The query a report route cannot answer without (its own 400 would name those too)."""
    from campaigns.models import Campaign, Unit

    campaign = Campaign.objects.order_by("pk").first()
    if route == "/api/v1/annual-reports/":
        return f"campaign={campaign.pk}&year=2026&unit={Unit.objects.get(code='C-A-1').pk}&"
    if route == "/api/v1/survey-results/":
        from surveys import services as surveys

        survey = surveys.survey_create(actor=personas.supervisor, name="问卷", name_en="Survey", standard=True)
        wave = surveys.wave_create(actor=personas.supervisor, survey=survey, campaign=campaign, name="第一轮",
                                   starts_on=campaign.starts_on, ends_on=campaign.ends_on,
                                   units=[Unit.objects.get(code="C-A-1")], quota=10)
        return f"wave={wave.pk}&"
    return ""


@pytest.mark.parametrize("route", list_routes())
def test_unknown_parameter_is_a_400_naming_it(route, sup, personas):
    needs = required_params(route, personas)
    response = sup.get(f"{route}?{needs}colour=red", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400, (route, response.status_code)
    body = response.json()
    assert body["code"] == "invalid" and list(body["errors"]) == ["colour"]
    assert "colour" in body["errors"]["colour"][0]
    # Known parameters pass (the annual report and lost points are one document each, not a paged list).
    known = "format=json" if route in ("/api/v1/annual-reports/", "/api/v1/lost-points/") else "limit=5"
    assert sup.get(f"{route}?{needs}{known}").status_code == 200, route


def test_acceptance_findings_colour(sup):
    response = sup.get("/api/v1/findings/?colour=red")
    assert response.status_code == 400 and "colour" in response.json()["errors"]


def test_filters_ordering_and_pagination_are_known(sup, city):
    assert sup.get(f"/api/v1/units/?within={city.city.code}&kind=street&ordering=-code&limit=10&offset=0"
                   ).status_code == 200
    first = sup.get("/api/v1/findings/?limit=1&source=hotline&ordering=-observed_at").json()
    assert sup.get(first["next"]).status_code == 200  # the cursor parameter is known


def test_unit_filters_findings_and_tasks_to_exactly_that_unit(sup, city, personas):
    category = Finding.objects.first().category
    loop.finding_create(actor=personas.supervisor, source="hotline", category=category, unit=city.district_a,
                        description="区级问题")
    rows = sup.get(f"/api/v1/findings/?unit={city.district_a.code}").json()["results"]
    assert [r["description"] for r in rows] == ["区级问题"]
    assert len(sup.get(f"/api/v1/findings/?within={city.district_a.code}").json()["results"]) == 3
    tasks = sup.get(f"/api/v1/tasks/?unit={city.street_a1.pk}").json()["results"]
    assert len(tasks) == 1
    assert sup.get(f"/api/v1/tasks/?unit={city.district_a.pk}").json()["results"] == []


def test_html_pages_ignore_tracking_parameters(personas, login, city):
    page = login(personas.supervisor).get("/findings/?utm_source=wechat&page=1")
    assert page.status_code == 200
