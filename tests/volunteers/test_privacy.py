"""Acceptance 4: a handler of another community never sees a volunteer's full
phone number, in pages, exports or the API."""

import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from volunteers import services

FULL = "13900000002"  # vol.other, community A2
MASKED = "139****0002"
FULL_ID = "330102199202021234"


@pytest.fixture
def joined(vol, personas):
    """vol.other (community A2) signed up for community A1's activity: handler_c1 organises it."""
    services.signup_create(actor=personas.handler_a, activity=vol.activity, volunteer=vol.other)
    return vol


def _xlsx_text(response) -> str:
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    return " ".join(str(c) for row in workbook.active.iter_rows(values_only=True) for c in row if c is not None)


def test_other_community_handler_sees_masked_phone_on_the_activity_page(joined, login):
    body = login(joined.handler_c1).get(reverse("volunteers:activity_detail", args=[joined.activity.pk])).content.decode()
    assert joined.other.name in body and MASKED in body
    assert FULL not in body


def test_other_community_handler_gets_masked_phone_in_the_sign_up_export(joined, login):
    response = login(joined.handler_c1).get(reverse("volunteers:activity_signups_export", args=[joined.activity.pk]))
    text = _xlsx_text(response)
    assert MASKED in text and FULL not in text


def test_other_community_handler_gets_masked_phone_in_the_api(joined, api):
    response = api(joined.handler_c1).get(f"/api/v1/activities/{joined.activity.pk}/signups/")
    assert response.status_code == 200
    phones = {row["volunteer_name"]: row["volunteer_phone"] for row in response.json()["results"]}
    assert phones[joined.other.name] == MASKED
    assert FULL not in response.content.decode()


def test_other_community_handler_cannot_reach_the_volunteer_at_all(joined, login, api):
    client = login(joined.handler_c1)
    assert client.get(reverse("volunteers:volunteer_detail", args=[joined.other.pk])).status_code == 404
    assert client.get(reverse("volunteers:volunteer_certificate", args=[joined.other.pk])).status_code == 404
    assert FULL not in client.get(reverse("volunteers:volunteer_list")).content.decode()
    assert FULL not in _xlsx_text(client.get(reverse("volunteers:volunteer_export")))
    assert api(joined.handler_c1).get(f"/api/v1/volunteers/{joined.other.pk}/").status_code == 404
    assert FULL not in api(joined.handler_c1).get("/api/v1/volunteers/").content.decode()


def test_handler_of_the_volunteers_own_district_sees_the_full_phone(joined, personas, login):
    body = login(personas.handler_a).get(
        reverse("volunteers:volunteer_detail", args=[joined.other.pk])).content.decode()
    assert FULL in body and FULL_ID in body


def test_leader_in_scope_sees_masked_phone_and_id_everywhere(joined, personas, login, api):
    client = login(personas.leader)
    detail = client.get(reverse("volunteers:volunteer_detail", args=[joined.other.pk])).content.decode()
    assert MASKED in detail and FULL not in detail and FULL_ID not in detail
    listing = client.get(reverse("volunteers:volunteer_list")).content.decode()
    assert MASKED in listing and FULL not in listing
    export = _xlsx_text(client.get(reverse("volunteers:volunteer_export")))
    assert MASKED in export and FULL not in export and FULL_ID not in export
    data = api(personas.leader).get(f"/api/v1/volunteers/{joined.other.pk}/").json()
    assert data["phone"] == MASKED and data["id_number"] == "33**************34"


def test_supervisor_sees_full_phone_in_page_export_and_api(joined, personas, login, api):
    client = login(personas.supervisor)
    assert FULL in client.get(reverse("volunteers:volunteer_list")).content.decode()
    assert FULL in _xlsx_text(client.get(reverse("volunteers:volunteer_export")))
    assert api(personas.supervisor).get(f"/api/v1/volunteers/{joined.other.pk}/").json()["phone"] == FULL


def test_volunteer_sees_own_full_phone_on_own_profile(vol, login):
    body = login(vol.account).get(reverse("volunteers:volunteer_detail", args=[vol.own.pk])).content.decode()
    assert vol.own.phone in body


def test_phone_search_is_not_offered(joined, personas, api):
    """A search by number would let masked viewers probe full numbers."""
    response = api(personas.leader).get("/api/v1/volunteers/", {"q": FULL})
    assert response.json()["count"] == 0
