"""Scope matrix for units and memberships: every persona, pages and API.
A unit outside the user's subtrees never appears in lists or exports and answers 404."""

import io

import pytest
from openpyxl import load_workbook

from campaigns.models import Membership, Unit

ALL = {"C", "C-A", "C-A-1", "C-A-1-1", "C-A-1-1-1", "C-B", "C-B-1", "C-CGJ"}
A = {"C-A", "C-A-1", "C-A-1-1", "C-A-1-1-1"}
B = {"C-B", "C-B-1"}
EXPECTED = {
    "supervisor": ALL,
    "inspector": ALL,
    "leader": A,
    "head_a": A,
    "handler_a": A,
    "handler_b": B,
}


@pytest.mark.parametrize("persona", sorted(EXPECTED))
def test_api_lists_and_details_follow_scope(personas, city, api, persona):
    client = api(getattr(personas, persona))
    response = client.get("/api/v1/units/", {"limit": 200})
    assert response.status_code == 200
    assert {row["code"] for row in response.json()["results"]} == EXPECTED[persona]
    for unit in Unit.objects.all():
        status = client.get(f"/api/v1/units/{unit.pk}/").status_code
        assert status == (200 if unit.code in EXPECTED[persona] else 404), (persona, unit.code)


@pytest.mark.parametrize("persona", sorted(EXPECTED))
def test_api_memberships_follow_scope(personas, city, api, persona):
    client = api(getattr(personas, persona))
    rows = client.get("/api/v1/memberships/", {"limit": 200}).json()["results"]
    assert rows, persona
    assert {row["unit_code"] for row in rows} <= EXPECTED[persona]
    outside = Membership.objects.exclude(unit__code__in=EXPECTED[persona]).first()
    if outside is not None:
        assert client.get(f"/api/v1/memberships/{outside.pk}/").status_code == 404


@pytest.mark.parametrize("persona", sorted(EXPECTED))
def test_pages_follow_scope(personas, city, login, persona):
    client = login(getattr(personas, persona))
    listed = {u.code for u in client.get("/units/", {"per_page": 200}).context["page"]}
    assert listed == EXPECTED[persona]
    for unit in Unit.objects.all():
        status = client.get(f"/units/{unit.pk}/").status_code
        assert status == (200 if unit.code in EXPECTED[persona] else 404), (persona, unit.code)
        tree_status = client.get("/units/tree/", {"root": unit.pk}).status_code
        assert tree_status == (200 if unit.code in EXPECTED[persona] else 404)


@pytest.mark.parametrize("persona", sorted(EXPECTED))
def test_export_follows_scope(personas, city, login, persona):
    response = login(getattr(personas, persona)).get("/units/export.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    codes = {row[0] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert codes == EXPECTED[persona]


def test_handler_b_does_not_see_district_a_members(personas, city, login):
    body = login(personas.handler_b).get(f"/units/{city.district_b.pk}/").content.decode()
    assert personas.handler_b.username in body
    assert personas.handler_a.username not in body


def test_outsider_without_role_is_refused(personas, city, login, api):
    assert login(personas.outsider).get("/units/").status_code == 403
    assert api(personas.outsider).get("/api/v1/units/").status_code == 403
    assert api(personas.outsider).get(f"/api/v1/units/{city.city.pk}/").status_code == 403


def test_anonymous_is_sent_to_login_or_401(client, city, api):
    response = client.get("/units/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert api().get("/api/v1/units/").status_code == 401
    assert api().get("/api/v1/memberships/").status_code == 401


@pytest.mark.parametrize("persona", ["handler_a", "head_a", "leader", "inspector"])
def test_non_supervisors_cannot_write(personas, city, api, login, persona):
    user = getattr(personas, persona)
    client = api(user)
    payload = {"parent": city.street_a1.pk, "code": "NEW", "name": "新社区", "kind": "community"}
    assert client.post("/api/v1/units/", payload).status_code == 403
    assert client.post(f"/api/v1/units/{city.street_a1.pk}/deactivate/").status_code in (403, 404)
    membership = {"user": personas.outsider.pk, "unit": city.district_a.pk, "role": "handler"}
    assert client.post("/api/v1/memberships/", membership).status_code == 403
    page = login(user)
    assert page.post("/units/new/?parent=%d" % city.street_a1.pk, {"name": "x", "code": "NEW", "kind": "community"}).status_code == 403
    assert page.post(f"/units/{city.street_a1.pk}/active/", {"active": "0"}).status_code == 403
    assert not Unit.objects.filter(code="NEW").exists()
    assert Unit.objects.filter(active=False).count() == 0


def test_handler_cannot_act_on_other_district_even_by_id(personas, city, api, login):
    client = api(personas.handler_a)
    assert client.post(f"/api/v1/units/{city.street_b1.pk}/move/", {"parent": city.district_a.pk}).status_code in (403, 404)
    assert login(personas.handler_a).get(f"/units/{city.street_b1.pk}/edit/").status_code in (403, 404)
