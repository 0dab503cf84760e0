"""The planning API: writes through services, transitions as actions, one error format."""

import datetime as dt

import pytest

from campaigns.models import Campaign, Point, WorkItem

from .planning_helpers import planned


@pytest.fixture
def plan(city, personas):
    return planned(city)


def test_supervisor_creates_and_updates_a_campaign(plan, personas, api):
    client = api(personas.supervisor)
    response = client.post("/api/v1/campaigns/", {"name": "2027", "starts_on": "2027-01-01", "ends_on": "2027-12-31",
                                                  "indicator_system": plan.system.pk}, format="json")
    assert response.status_code == 201, response.json()
    pk = response.json()["id"]
    response = client.patch(f"/api/v1/campaigns/{pk}/", {"status": "active"}, format="json")
    assert response.json()["status"] == "active"
    response = client.patch(f"/api/v1/campaigns/{pk}/", {"status": "draft"}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "invalid"
    assert Campaign.objects.get(pk=pk).status == "active"


def test_indicators_carry_rolled_up_points_and_filter_by_edition(plan, personas, api):
    response = api(personas.handler_a).get(f"/api/v1/indicators/?system={plan.system.pk}&level=section")
    rows = response.json()["results"]
    assert [(r["code"], r["total_points"]) for r in rows] == [("1", "5.00")]


def test_frozen_edition_refuses_indicator_changes_and_copy_works(plan, personas, api):
    client = api(personas.supervisor)
    indicator = plan.system.indicators.get(code="1.1.1.1")
    response = client.patch(f"/api/v1/indicators/{indicator.pk}/", {"name": "新"}, format="json")
    assert response.status_code == 400
    response = client.post(f"/api/v1/indicator-systems/{plan.system.pk}/copy/", {"name": "副本"}, format="json")
    assert response.status_code == 201 and response.json()["indicator_count"] == 5
    assert response.json()["total_points"] == "5.00"


def test_point_create_in_scope_and_refused_outside(plan, personas, api, city):
    from campaigns.models import Membership

    Membership.objects.create(user=personas.head_a, unit=city.district_a, role=Membership.Role.SUPERVISOR)
    client = api(personas.head_a)
    data = {"name": "新点位", "point_type": plan.types["车站"].pk, "unit": city.street_a1.pk, "latitude": "29.900000",
            "longitude": "121.500000"}
    response = client.post("/api/v1/points/", data, format="json")
    assert response.status_code == 201, response.json()
    response = client.post("/api/v1/points/", {**data, "unit": city.street_b1.pk}, format="json")
    assert response.status_code == 400 and "unit" in response.json()["errors"]
    response = client.post(f"/api/v1/points/{plan.point_a.pk}/deactivate/")
    assert response.status_code == 200 and Point.objects.get(pk=plan.point_a.pk).active is False


def test_work_item_actions_progress_submit_verify(plan, personas, api):
    item = plan.item_a
    response = api(personas.handler_a).post(f"/api/v1/work-items/{item.pk}/progress/", {"text": "进展"}, format="json")
    assert response.status_code == 201 and response.json()["kind"] == "progress"
    response = api(personas.handler_a).post(f"/api/v1/work-items/{item.pk}/submit/", {"text": "完成"}, format="json")
    assert response.json()["status"] == "submitted"
    response = api(personas.handler_a).post(f"/api/v1/work-items/{item.pk}/submit/", {}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "conflict"
    response = api(personas.supervisor).post(f"/api/v1/work-items/{item.pk}/return/", {"text": "补材料"}, format="json")
    assert response.json()["status"] == "in_progress"
    response = api(personas.leader).get(f"/api/v1/work-items/{item.pk}/reports/")
    assert [r["kind"] for r in response.json()] == ["progress", "submission", "return"]


def test_supervisor_creates_a_work_item_with_cooperating_units(plan, personas, api, city):
    response = api(personas.supervisor).post("/api/v1/work-items/", {
        "campaign": plan.campaign.pk, "indicator": plan.criterion.pk, "title": "新任务", "lead_unit": city.district_a.pk,
        "cooperating_units": [city.department.pk], "deadline": "2026-09-30"}, format="json")
    assert response.status_code == 201, response.json()
    item = WorkItem.objects.get(title="新任务")
    assert list(item.cooperating_units.all()) == [city.department] and item.created_by == personas.supervisor
    assert response.json()["cooperating"] == [{"id": city.department.pk, "code": city.department.code,
                                               "name": city.department.name}]
    assert item.deadline == dt.date(2026, 9, 30)


def test_edition_import_endpoint_reports_row_errors_and_creates_nothing(plan, personas, api):
    from campaigns.models import IndicatorSystem

    from .planning_helpers import xlsx
    from .test_planning_imports import OFFICE_SAMPLE

    client = api(personas.supervisor)
    bad = xlsx([["编码", "上级编码", "名称", "分值"], ["1", "", "环境", "x"]])
    response = client.post("/api/v1/indicator-systems/import/", {"file": bad, "name": "坏"}, format="multipart")
    assert response.status_code == 400
    assert response.json()["errors"]["rows"] == [{"row": 2, "column": "分值", "message": "“x”不是有效的分值。"}]
    assert not IndicatorSystem.objects.filter(name="坏").exists()
    response = client.post("/api/v1/indicator-systems/import/", {"file": b"nope", "name": "非"}, format="multipart")
    assert response.status_code == 400
    with OFFICE_SAMPLE.open("rb") as f:
        response = client.post("/api/v1/indicator-systems/import/", {"file": f, "name": "接口导入"}, format="multipart")
    assert response.status_code == 201 and response.json()["created"] > 40
    assert api(personas.handler_a).post("/api/v1/indicator-systems/import/", {}, format="multipart").status_code == 403


def test_large_api_imports_answer_202_with_a_job_the_caller_can_read(plan, personas, api, city, settings):
    from .planning_helpers import xlsx

    settings.INLINE_IMPORT_BYTES = 0
    client = api(personas.supervisor)
    sheet = xlsx([["工作任务", "牵头单位", "完成时限"], ["接口任务", city.district_a.code, "2026-08-01"]])
    response = client.post("/api/v1/work-items/import/", {"file": sheet, "campaign": plan.campaign.pk},
                           format="multipart")
    assert response.status_code == 202
    job = response.json()["job"]
    assert client.get(f"/api/v1/import-jobs/{job}/").json()["status"] == "queued"
    assert api(personas.handler_a).get(f"/api/v1/import-jobs/{job}/").status_code == 404
    settings.INLINE_IMPORT_BYTES = 10**7
    sheet = xlsx([["点位名称", "点位类型", "属地单位"], ["接口点位", "车站", city.street_a1.code]])
    response = client.post("/api/v1/points/import/", {"file": sheet}, format="multipart")
    assert response.status_code == 201 and response.json()["created"] == 1
