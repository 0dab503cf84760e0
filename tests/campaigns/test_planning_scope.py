"""Who sees and touches which plans (acceptance 3): per role and persona."""

import pytest

from campaigns.models import Point, WorkItem

from .planning_helpers import planned


@pytest.fixture
def plan(city, personas):
    return planned(city)


def test_district_users_see_work_items_their_subtree_leads_or_cooperates_on(plan, personas):
    for user in (personas.handler_a, personas.head_a, personas.leader):
        titles = set(WorkItem.objects.visible_to(user).values_list("title", flat=True))
        assert titles == {"A 牵头", "B 牵头 A 配合"}, user
    assert set(WorkItem.objects.visible_to(personas.handler_b).values_list("title", flat=True)) == {
        "B 牵头", "B 牵头 A 配合"}
    assert WorkItem.objects.visible_to(personas.supervisor).count() == 4
    assert not WorkItem.objects.visible_to(personas.outsider).exists()


def test_district_users_see_only_their_points_and_departments_see_what_they_supervise(plan, personas, city):
    from tests.factories import make_member

    assert list(Point.objects.visible_to(personas.handler_a)) == [plan.point_a]
    assert set(Point.objects.visible_to(personas.handler_b)) == {plan.point_b, plan.point_b_dept}
    clerk = make_member(city.department, "handler", "p_cgj")
    assert list(Point.objects.visible_to(clerk)) == [plan.point_b_dept]
    assert not Point.objects.visible_to(personas.outsider).exists()


@pytest.mark.parametrize(
    ("persona", "hidden", "shown"),
    [("handler_a", "b", "a"), ("head_a", "b", "a"), ("leader", "b", "a"), ("handler_b", "a", "b")],
)
def test_out_of_scope_work_item_and_point_answer_404_on_pages_and_api(plan, personas, login, api, persona, hidden,
                                                                      shown):
    user = getattr(personas, persona)
    client = login(user)
    hidden_item, hidden_point = getattr(plan, f"item_{hidden}"), getattr(plan, f"point_{hidden}")
    shown_item, shown_point = getattr(plan, f"item_{shown}"), getattr(plan, f"point_{shown}")
    for url in [f"/work-items/{hidden_item.pk}/", f"/work-items/{hidden_item.pk}/edit/", f"/points/{hidden_point.pk}/"]:
        assert client.get(url).status_code in (403, 404), url
    assert client.get(f"/work-items/{hidden_item.pk}/").status_code == 404
    assert client.get(f"/points/{hidden_point.pk}/").status_code == 404
    assert client.post(f"/work-items/{hidden_item.pk}/progress/", {"text": "x"}).status_code == 404
    assert client.get(f"/work-items/{shown_item.pk}/").status_code == 200
    assert client.get(f"/work-items/{plan.item_b_with_a.pk}/").status_code == 200  # B leads, A cooperates
    assert api(user).get(f"/api/v1/work-items/{hidden_item.pk}/").status_code == 404
    # A leader holds no progress permission at all (403); the others hit the scope (404).
    expected = 403 if persona == "leader" else 404
    assert api(user).post(f"/api/v1/work-items/{hidden_item.pk}/progress/", {"text": "x"}).status_code == expected
    assert api(user).get(f"/api/v1/points/{hidden_point.pk}/").status_code == 404
    assert api(user).get(f"/api/v1/points/{shown_point.pk}/").status_code == 200


def test_attachments_download_only_inside_the_scope(plan, personas, login):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from campaigns.planning import services

    report = services.work_item_report_progress(actor=personas.handler_a, item=plan.item_a, text="附件",
                                                files=[SimpleUploadedFile("清单.xlsx", b"data")])
    attachment = report.attachments.get()
    response = login(personas.head_a).get(f"/attachments/{attachment.pk}/")
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"data"
    assert login(personas.handler_b).get(f"/attachments/{attachment.pk}/").status_code == 404


def test_outsider_gets_403_on_every_planning_page_and_endpoint(plan, personas, login, api):
    client = login(personas.outsider)
    for url in ["/campaigns/", f"/campaigns/{plan.campaign.pk}/", f"/campaigns/{plan.campaign.pk}/ledger/",
                "/editions/", f"/editions/{plan.system.pk}/", "/points/", "/points/map/", "/point-types/",
                f"/work-items/{plan.item_a.pk}/", f"/units/{plan.item_a.lead_unit_id}/work-items/",
                "/points/export.xlsx", f"/campaigns/{plan.campaign.pk}/ledger/export.xlsx"]:
        assert client.get(url).status_code == 403, url
    for url in ["campaigns", "indicator-systems", "indicators", "point-types", "points", "work-items"]:
        assert api(personas.outsider).get(f"/api/v1/{url}/").status_code == 403, url
    assert api().get("/api/v1/points/").status_code in (401, 403)


def test_non_supervisors_get_403_on_planning_writes(plan, personas, login, api):
    client = login(personas.handler_a)
    for url in ["/campaigns/new/", "/editions/import/", "/points/new/", "/points/import/",
                f"/campaigns/{plan.campaign.pk}/ledger/import/", f"/campaigns/{plan.campaign.pk}/work-items/new/"]:
        assert client.get(url).status_code == 403, url
    client_api = api(personas.handler_a)
    assert client_api.post("/api/v1/campaigns/", {"name": "x"}).status_code == 403
    assert client_api.post("/api/v1/point-types/", {"code": "X", "name": "x"}).status_code == 403
    assert client_api.post(f"/api/v1/work-items/{plan.item_a.pk}/verify/").status_code == 403
    assert client_api.post(f"/api/v1/indicator-systems/{plan.system.pk}/publish/").status_code == 403


def test_ledger_filters_keep_to_the_scope(plan, personas, api, city):
    # handler_a filtering by district B's subtree gets a validation error, not B's items.
    response = api(personas.handler_a).get(f"/api/v1/work-items/?within={city.district_b.pk}")
    assert response.status_code == 400
    response = api(personas.supervisor).get(f"/api/v1/work-items/?within={city.district_a.pk}")
    assert {row["title"] for row in response.json()["results"]} == {"A 牵头", "B 牵头 A 配合"}
    response = api(personas.supervisor).get("/api/v1/work-items/?overdue=true")
    assert [row["title"] for row in response.json()["results"]] == ["B 牵头 A 配合"]
    assert response.json()["results"][0]["overdue"] is True
