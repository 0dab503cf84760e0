"""Regression tests for what the fuzzer found (one test per bug), so each
stays fixed even if the fuzzer's derandomized cases change."""

from __future__ import annotations

import pytest

from campaigns.models import Campaign, PointType

from .world import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(city, personas):
    return build_world(city, personas)


def test_creating_a_unit_without_parent_is_refused_not_a_crash(personas, api):
    response = api(personas.supervisor).post("/api/v1/units/", {"code": "R", "name": "根", "kind": "city"},
                                             format="json")
    assert response.status_code == 403  # only a superuser creates a root unit


def test_a_campaign_without_indicator_edition_can_be_created(personas, api):
    response = api(personas.supervisor).post(
        "/api/v1/campaigns/", {"name": "2027", "starts_on": "2027-01-01", "ends_on": "2027-12-31"}, format="json")
    assert response.status_code == 201, response.json()
    assert Campaign.objects.get(name="2027").indicator_system is None


def test_a_point_type_without_weight_gets_weight_one(personas, api):
    response = api(personas.supervisor).post("/api/v1/point-types/", {"code": "TX", "name": "广场"}, format="json")
    assert response.status_code == 201, response.json()
    assert PointType.objects.get(code="TX").weight == 1


def test_partial_update_answers_every_field(world, personas, api):
    point = world.plan.point_a
    response = api(personas.supervisor).patch(f"/api/v1/points/{point.pk}/", {"address": "新地址"}, format="json")
    assert response.status_code == 200, response.json()
    assert "department_name" in response.json() and response.json()["department_name"] is None


def test_nullable_fields_are_declared_nullable(client, db):
    schemas = client.get("/api/v1/schema/?format=json").json()["components"]["schemas"]
    assert schemas["Team"]["properties"]["leader"].get("nullable") is True
    assert schemas["WorkItem"]["properties"]["indicator_code"].get("nullable") is True


def test_total_hours_is_a_number_as_declared(world, personas, api, client):
    body = api(personas.supervisor).get(f"/api/v1/volunteers/{world.volunteer.pk}/").json()
    assert isinstance(body["total_hours"], (int, float))
    declared = client.get("/api/v1/schema/?format=json").json()["components"]["schemas"]["Volunteer"]
    assert declared["properties"]["total_hours"]["type"] == "number"


def test_activity_in_a_far_off_year_is_refused(world, personas, api):
    response = api(personas.supervisor).patch(
        f"/api/v1/activities/{world.activity.pk}/",
        {"starts_at": "1865-03-21T02:00:00+08:00", "ends_at": "1865-03-21T04:00:00+08:00"}, format="json")
    assert response.status_code == 400
    assert "starts_at" in response.json()["errors"]


def test_work_item_reports_are_a_plain_list_as_declared(world, personas, api, client):
    response = api(personas.supervisor).get(f"/api/v1/work-items/{world.plan.item_a.pk}/reports/")
    assert response.status_code == 200 and isinstance(response.json(), list)
    declared = client.get("/api/v1/schema/?format=json").json()["paths"]["/api/v1/work-items/{id}/reports/"]["get"]
    assert declared["responses"]["200"]["content"]["application/json"]["schema"]["type"] == "array"
    assert not [p for p in declared.get("parameters", []) if p["in"] == "query"]
