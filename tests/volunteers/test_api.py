from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from volunteers import services
from volunteers.models import Signup, Volunteer

from .conftest import make_activity, make_volunteer

LISTS = ["/api/v1/volunteers/", "/api/v1/teams/", "/api/v1/activities/"]


@pytest.mark.parametrize("url", LISTS)
def test_lists_are_scoped_to_the_callers_subtree(vol, personas, api, city, url):
    services.team_create(actor=personas.handler_a, unit=city.community_a1, name="春晖队")
    assert api(personas.supervisor).get(url).json()["count"] >= 1
    assert api(personas.handler_b).get(url).json()["count"] == 0


@pytest.mark.parametrize("url", LISTS)
def test_user_without_a_role_and_anonymous_are_refused(vol, personas, api, url):
    assert api(personas.outsider).get(url).status_code == 403
    assert api().get(url).status_code in (401, 403)  # session auth first: DRF answers 403


@pytest.mark.parametrize("path", ["volunteers/{own}/", "activities/{activity}/", "activities/{activity}/signups/"])
def test_out_of_scope_details_answer_404(vol, personas, api, path):
    url = "/api/v1/" + path.format(own=vol.own.pk, activity=vol.activity.pk)
    assert api(personas.handler_b).get(url).status_code == 404


@pytest.mark.parametrize("url", LISTS)
def test_list_endpoints_run_the_same_queries_at_limit_1_and_50(vol, personas, api, city, url):
    for i in range(3):
        make_volunteer(city.community_a1, name=f"志愿者{i}")
        make_activity(city.community_a1, title=f"活动{i}")
        services.team_create(actor=personas.handler_a, unit=city.community_a1, name=f"队{i}")
    client = api(personas.supervisor)
    counts = []
    for limit in (1, 50):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url, {"limit": limit}).status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1] <= 8, counts


def test_signups_endpoint_query_count_does_not_grow(vol, personas, api, city):
    client = api(personas.supervisor)
    url = f"/api/v1/activities/{vol.activity.pk}/signups/"
    services.signup_create(actor=personas.handler_a, activity=vol.activity, volunteer=vol.own)
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    for i in range(5):
        services.signup_create(actor=personas.handler_a, activity=vol.activity,
                               volunteer=make_volunteer(city.community_a1))
    with CaptureQueriesContext(connection) as six:
        assert client.get(url).json()["count"] == 6
    assert len(one.captured_queries) == len(six.captured_queries) <= 8


def test_volunteer_account_signs_up_and_checks_in_by_qr_token_via_api(vol, api):
    client = api(vol.account)
    assert client.get("/api/v1/activities/").json()["count"] == 1
    response = client.post(f"/api/v1/activities/{vol.activity.pk}/sign-up/", {}, format="json")
    assert response.status_code == 201 and response.json()["volunteer_phone"] == vol.own.phone
    token = services.activity_qr_token(vol.activity)
    with time_machine.travel(vol.activity.starts_at, tick=False):
        response = client.post(f"/api/v1/activities/{vol.activity.pk}/check-in/", {"token": token}, format="json")
    assert response.status_code == 200 and response.json()["check_in_method"] == "qr"
    # ...but a volunteer cannot act as an organiser.
    response = client.post(f"/api/v1/activities/{vol.activity.pk}/approve-hours/", {"volunteer": vol.own.pk},
                           format="json")
    assert response.status_code == 403
    assert client.get("/api/v1/volunteers/").status_code == 403


def test_full_activity_answers_409_with_the_json_error_format(vol, personas, api, city):
    activity = make_activity(city.community_a1, capacity=1)
    services.signup_create(actor=personas.handler_a, activity=activity, volunteer=vol.other)
    response = api(vol.account).post(f"/api/v1/activities/{activity.pk}/sign-up/", {}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "conflict" and response.json()["detail"]


def test_organiser_api_flow_check_in_out_and_approve_hours(vol, api):
    a = vol.activity
    client = api(vol.handler_c1)
    assert client.post(f"/api/v1/activities/{a.pk}/sign-up/", {"volunteer": vol.own.pk}, format="json").status_code == 201
    with time_machine.travel(a.starts_at, tick=False):
        assert client.post(f"/api/v1/activities/{a.pk}/check-in/", {"volunteer": vol.own.pk},
                           format="json").status_code == 200
    with time_machine.travel(a.starts_at + timedelta(minutes=75), tick=False):
        out = client.post(f"/api/v1/activities/{a.pk}/check-out/", {"volunteer": vol.own.pk}, format="json")
    assert out.json()["minutes"] == 75
    approved = client.post(f"/api/v1/activities/{a.pk}/approve-hours/", {"volunteer": vol.own.pk}, format="json")
    assert approved.status_code == 200 and approved.json()["approved_minutes"] == 75
    again = client.post(f"/api/v1/activities/{a.pk}/approve-hours/", {"volunteer": vol.own.pk}, format="json")
    assert again.status_code == 409


def test_bad_input_is_a_400_never_a_500(vol, personas, api, city):
    client = api(personas.handler_a)
    response = client.post("/api/v1/volunteers/", {"name": "x", "phone": "123", "unit": city.community_a1.pk},
                           format="json")
    assert response.status_code == 400 and "phone" in response.json()["errors"]
    response = client.post("/api/v1/activities/", {
        "title": "t", "category": "cleaning", "unit": city.community_a1.pk, "address": "a",
        "starts_at": "2030-01-01T10:00:00+08:00", "ends_at": "2030-01-01T09:00:00+08:00", "capacity": 3,
    }, format="json")
    assert response.status_code == 400 and "ends_at" in response.json()["errors"]
    response = client.post(f"/api/v1/activities/{vol.activity.pk}/check-in/", {"token": "forged"}, format="json")
    assert response.status_code == 400


def test_handler_creates_and_reviews_volunteers_in_scope_only(vol, personas, api, city):
    client = api(personas.handler_b)
    response = client.post("/api/v1/volunteers/", {"name": "新人", "phone": "13611112222",
                                                   "unit": city.community_a1.pk}, format="json")
    assert response.status_code == 400  # community A1 is not in district B's scope
    applicant = make_volunteer(vol.community_a2, status=Volunteer.Status.APPLIED)
    assert client.post(f"/api/v1/volunteers/{applicant.pk}/review/", {"approve": True},
                       format="json").status_code == 404
    ok = api(personas.handler_a).post(f"/api/v1/volunteers/{applicant.pk}/review/", {"approve": True}, format="json")
    assert ok.status_code == 200 and ok.json()["status"] == "active"


def test_leader_cannot_run_activity_actions(vol, personas, api):
    response = api(personas.leader).post(f"/api/v1/activities/{vol.activity.pk}/sign-up/",
                                         {"volunteer": vol.own.pk}, format="json")
    assert response.status_code == 403
    assert not Signup.objects.exists()


def test_the_volunteer_list_count_is_capped_not_a_full_count(vol, personas, api, city, monkeypatch):
    """Issue 13: ``count`` stops at the cap (``count_capped`` says more match), ``next`` stays right,
    pages past the cap are still served, and the count query is bounded (LIMIT) and reads no totals."""
    from civportal.api.pagination import CappedLimitOffsetPagination

    monkeypatch.setattr(CappedLimitOffsetPagination, "cap", 3)
    for i in range(6):
        make_volunteer(city.community_a1, name=f"计数{i}")
    client = api(personas.supervisor)
    everyone = Volunteer.objects.visible_to(personas.supervisor).count()
    assert everyone > 3
    with CaptureQueriesContext(connection) as ctx:
        page = client.get("/api/v1/volunteers/", {"limit": 2}).json()
    assert (page["count"], page["count_capped"], len(page["results"])) == (3, True, 2) and page["next"]
    counts = [q["sql"] for q in ctx.captured_queries if q["sql"].upper().startswith("SELECT COUNT(")]
    assert len(counts) == 1 and "LIMIT" in counts[0].upper() and "minutes" not in counts[0]
    # Past the cap: the rows are still served, and the last page has no next link.
    last = client.get("/api/v1/volunteers/", {"limit": 2, "offset": everyone - 1}).json()
    assert len(last["results"]) == 1 and last["next"] is None
    # Under the cap: the exact count.
    monkeypatch.setattr(CappedLimitOffsetPagination, "cap", 1000)
    page = client.get("/api/v1/volunteers/", {"limit": 2}).json()
    assert (page["count"], page["count_capped"]) == (everyone, False)
