from datetime import timedelta

import pytest
from django.urls import reverse

from volunteers import services
from volunteers.models import Activity, Signup, Team, Volunteer

from .conftest import make_activity, make_volunteer

LIST_PAGES = ["volunteers:volunteer_list", "volunteers:team_list", "volunteers:activity_list", "volunteers:ledger"]


@pytest.mark.parametrize("name", LIST_PAGES + ["volunteers:statistics"])
def test_pages_render_for_the_supervisor(vol, personas, login, name):
    assert login(personas.supervisor).get(reverse(name)).status_code == 200


@pytest.mark.parametrize("name", LIST_PAGES + ["volunteers:statistics", "volunteers:volunteer_export"])
def test_user_without_any_role_is_refused(vol, personas, login, name):
    assert login(personas.outsider).get(reverse(name)).status_code == 403


@pytest.mark.parametrize("name", ["volunteers:volunteer_detail", "volunteers:volunteer_certificate",
                                  "volunteers:volunteer_edit"])
def test_out_of_scope_volunteer_pages_answer_404(vol, personas, login, name):
    assert login(personas.handler_b).get(reverse(name, args=[vol.own.pk])).status_code == 404


@pytest.mark.parametrize("name", ["volunteers:activity_detail", "volunteers:activity_edit", "volunteers:activity_qr",
                                  "volunteers:activity_qr_svg", "volunteers:activity_signups_export"])
def test_out_of_scope_activity_pages_answer_404(vol, personas, login, name):
    assert login(personas.handler_b).get(reverse(name, args=[vol.activity.pk])).status_code == 404


def test_out_of_scope_team_answers_404(vol, personas, login, city):
    team = services.team_create(actor=personas.handler_a, unit=city.community_a1, name="春晖文明劝导队")
    assert login(personas.handler_b).get(reverse("volunteers:team_detail", args=[team.pk])).status_code == 404


def test_leader_reads_but_may_not_edit(vol, personas, login):
    client = login(personas.leader)
    assert client.get(reverse("volunteers:volunteer_detail", args=[vol.own.pk])).status_code == 200
    assert client.get(reverse("volunteers:volunteer_edit", args=[vol.own.pk])).status_code == 403
    assert client.get(reverse("volunteers:activity_qr", args=[vol.activity.pk])).status_code == 403


def test_out_of_scope_post_actions_answer_404_and_change_nothing(vol, personas, login):
    signup = services.signup_create(actor=vol.account, activity=vol.activity, volunteer=vol.own)
    client = login(personas.handler_b)
    assert client.post(reverse("volunteers:signup_action", args=[signup.pk, "no-show"])).status_code == 404
    assert client.post(reverse("volunteers:activity_cancel", args=[vol.activity.pk]), {"reason": "x"}).status_code == 404
    assert client.post(reverse("volunteers:volunteer_status", args=[vol.own.pk]),
                       {"status": "left", "reason": "x"}).status_code == 404
    signup.refresh_from_db()
    vol.activity.refresh_from_db()
    vol.own.refresh_from_db()
    assert (signup.status, vol.activity.status, vol.own.status) == ("signed_up", "open", "active")


@pytest.mark.parametrize("name", LIST_PAGES)
def test_list_pages_run_the_same_queries_at_page_size_1_and_50(vol, personas, login, city, name,
                                                               django_assert_max_num_queries):
    for i in range(3):
        v = make_volunteer(city.community_a1, name=f"志愿者{i}")
        a = make_activity(city.community_a1, title=f"活动{i}", starts_in=timedelta(minutes=30))
        s = services.signup_create(actor=personas.handler_a, activity=a, volunteer=v)
        services.signup_check_in(actor=personas.handler_a, signup=s, now=a.starts_at)
        s = services.signup_check_out(actor=personas.handler_a, signup=s, now=a.ends_at)
        services.signup_approve_hours(actor=personas.handler_a, signup=s)
        services.team_create(actor=personas.handler_a, unit=city.community_a1, name=f"服务队{i}")
    client = login(personas.supervisor)
    client.get(reverse(name))  # warm up session/permission caches
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for per_page in (1, 50):
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(reverse(name), {"per_page": per_page})
        assert response.status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1] <= 8, '\n'.join(q['sql'][:120] for q in ctx.captured_queries)


def test_volunteer_account_signs_up_and_cancels_through_the_pages(vol, login):
    client = login(vol.account)
    assert client.get(reverse("volunteers:activity_list")).status_code == 200
    assert client.get(reverse("volunteers:activity_detail", args=[vol.activity.pk])).status_code == 200
    client.post(reverse("volunteers:activity_sign_up", args=[vol.activity.pk]))
    signup = Signup.objects.get(volunteer=vol.own)
    client.post(reverse("volunteers:signup_action", args=[signup.pk, "cancel"]))
    signup.refresh_from_db()
    assert signup.status == Signup.Status.CANCELLED
    # The registry itself stays closed to a volunteer account.
    assert client.get(reverse("volunteers:volunteer_list")).status_code == 403
    assert client.get(reverse("volunteers:volunteer_detail", args=[vol.other.pk])).status_code == 404
    assert client.get(reverse("volunteers:me")).status_code == 302


def test_organiser_runs_an_activity_from_sign_up_to_approved_hours(vol, login, personas):
    a = vol.activity
    Activity.objects.filter(pk=a.pk).update(starts_at=a.starts_at - timedelta(days=2, minutes=-30),
                                             ends_at=a.ends_at - timedelta(days=2, minutes=-30))
    a.refresh_from_db()
    client = login(vol.handler_c1)
    response = client.post(reverse("volunteers:activity_sign_up", args=[a.pk]), {"phone": vol.own.phone})
    assert response.status_code == 302
    signup = Signup.objects.get(activity=a, volunteer=vol.own)
    import time_machine

    with time_machine.travel(a.starts_at, tick=False):
        client.post(reverse("volunteers:signup_action", args=[signup.pk, "check-in"]))
    with time_machine.travel(a.starts_at + timedelta(minutes=100), tick=False):
        client.post(reverse("volunteers:signup_action", args=[signup.pk, "check-out"]))
    client.post(reverse("volunteers:signup_action", args=[signup.pk, "approve"]), {"minutes": "90"})
    signup.refresh_from_db()
    assert (signup.minutes, signup.hour_entry.minutes) == (100, 90)
    page = client.get(reverse("volunteers:activity_detail", args=[a.pk])).content.decode()
    assert "1.5" in page


def test_qr_page_and_svg_are_served_to_the_organiser(vol, login):
    client = login(vol.handler_c1)
    assert client.get(reverse("volunteers:activity_qr", args=[vol.activity.pk])).status_code == 200
    svg = client.get(reverse("volunteers:activity_qr_svg", args=[vol.activity.pk]))
    assert svg["Content-Type"] == "image/svg+xml" and svg.content.startswith(b"<svg")


def test_scanning_the_qr_code_checks_the_volunteer_in(vol, login):
    import time_machine

    services.signup_create(actor=vol.account, activity=vol.activity, volunteer=vol.own)
    token = services.activity_qr_token(vol.activity)
    url = reverse("volunteers:scan", args=[token])
    with time_machine.travel(vol.activity.starts_at, tick=False):
        client = login(vol.account)
        assert client.get(url).status_code == 200
        client.post(url)
    assert Signup.objects.get(volunteer=vol.own).check_in_method == Signup.Method.QR


def test_scanning_a_forged_code_is_a_clear_400(vol, login):
    response = login(vol.account).get(reverse("volunteers:scan", args=["not-a-token"]))
    assert response.status_code == 400


def test_handler_reviews_an_application_from_the_profile(vol, personas, login):
    applicant = make_volunteer(vol.community_a2, status=Volunteer.Status.APPLIED)
    client = login(personas.handler_a)
    client.post(reverse("volunteers:volunteer_review", args=[applicant.pk]), {"approve": "1", "note": ""})
    applicant.refresh_from_db()
    assert applicant.status == Volunteer.Status.ACTIVE


def test_create_forms_work_and_bad_input_is_a_form_error(vol, personas, login, city):
    client = login(personas.handler_a)
    response = client.post(reverse("volunteers:team_create"), {"unit": city.community_a1.pk, "name": "队"})
    assert response.status_code == 302 and Team.objects.filter(name="队").exists()
    response = client.post(reverse("volunteers:activity_create"), {
        "unit": city.community_a1.pk, "title": "清洁", "category": "cleaning", "address": "x",
        "starts_at": "2030-05-01T09:00", "ends_at": "2030-05-01T08:00", "capacity": "5",
    })
    assert response.status_code == 200 and response.context["form"].errors.get("ends_at")
    response = client.post(reverse("volunteers:volunteer_create"), {
        "name": "新人", "phone": vol.own.phone, "unit": city.community_a1.pk,
    })
    assert response.status_code == 200 and response.context["form"].errors.get("phone")


def test_handler_links_a_login_account_and_the_api_update_keeps_it(vol, personas, login, api, city):
    from tests.factories import UserFactory

    account = UserFactory(username="citizen_zhao")
    data = {"name": vol.other.name, "phone": vol.other.phone, "unit": vol.other.unit_id, "account": "citizen_zhao"}
    response = login(personas.handler_a).post(reverse("volunteers:volunteer_edit", args=[vol.other.pk]), data)
    assert response.status_code == 302
    vol.other.refresh_from_db()
    assert vol.other.user == account
    api(personas.handler_a).patch(f"/api/v1/volunteers/{vol.other.pk}/", {"skills": "急救"}, format="json")
    vol.other.refresh_from_db()
    assert (vol.other.user, vol.other.skills) == (account, "急救")
    # An account belongs to one volunteer only.
    data = {"name": vol.own.name, "phone": vol.own.phone, "unit": vol.own.unit_id, "account": "citizen_zhao"}
    response = login(personas.handler_a).post(reverse("volunteers:volunteer_edit", args=[vol.own.pk]), data)
    assert response.status_code == 200 and response.context["form"].non_field_errors()
    vol.own.refresh_from_db()
    assert vol.own.user == vol.account
