"""Volunteers' reports from the street: a finding with source ``volunteer`` in
the office's triage queue, whose status only the reporting volunteer follows."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inspections import services
from inspections.models import Finding, FindingPhoto
from tests.factories import UserFactory
from tests.volunteers.conftest import make_volunteer
from volunteers.models import Volunteer

from .helpers import jpeg, text_as_jpeg, world

pytestmark = pytest.mark.django_db


@pytest.fixture
def w(city, personas):
    return world(city, personas)


@pytest.fixture
def volunteer(city):
    account = UserFactory(username="v_reporter")
    return make_volunteer(city.community_a1, name="王小明", user=account)


@pytest.fixture
def other_volunteer(city):
    return make_volunteer(city.community_a1, name="李小红", user=UserFactory(username="v_other"))


def report(volunteer, w, **kw):
    data = {"category": w.category, "description": "人行道井盖缺失", "address": "人民路12号门口", "photos_in": []}
    data.update(kw)
    return services.finding_report_by_volunteer(actor=volunteer.user, **data)


def test_service_records_a_new_volunteer_finding_for_the_volunteers_community(volunteer, w, city):
    finding = report(volunteer, w, photos_in=[jpeg()])
    assert finding.source == Finding.Source.VOLUNTEER
    assert finding.status == Finding.Status.NEW
    assert finding.reporter == volunteer.user and finding.reporter_name == "王小明"
    assert finding.unit == city.community_a1
    assert finding.campaign == w.campaign
    assert finding.photos.count() == 1
    assert finding.history.first().history_user == volunteer.user


def test_service_gives_a_report_at_a_point_to_the_points_unit(volunteer, w):
    finding = report(volunteer, w, point=w.point_b, address="")
    assert finding.unit == w.point_b.unit and finding.latitude == w.point_b.latitude


@pytest.mark.parametrize("status", [Volunteer.Status.APPLIED, Volunteer.Status.SUSPENDED, Volunteer.Status.LEFT])
def test_service_refuses_inactive_volunteers(volunteer, w, status):
    volunteer.status = status
    volunteer.save()
    with pytest.raises(services.PermissionDenied):
        report(volunteer, w)
    assert not Finding.objects.exists()


def test_report_page_puts_the_finding_in_the_supervisors_triage_queue_page_and_api(volunteer, w, login, api,
                                                                                  personas):
    client = login(volunteer.user)
    assert client.get("/my-reports/new/").status_code == 200
    response = client.post("/my-reports/new/", {
        "category": w.category.pk, "description": "小区门口垃圾堆积", "address": "幸福路3号",
        "latitude": "29.871000", "longitude": "121.551000", "photos": [jpeg()],
    })
    finding = Finding.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/my-reports/{finding.pk}/"
    assert finding.source == Finding.Source.VOLUNTEER and finding.photos.count() == 1

    page = login(personas.supervisor).get("/findings/triage/")
    assert f"#{finding.pk}".encode() in page.content and "小区门口垃圾堆积".encode() in page.content
    data = api(personas.supervisor).get("/api/v1/findings/?status=new").json()
    assert [(r["id"], r["source"]) for r in data["results"]] == [(finding.pk, "volunteer")]


def test_volunteer_sees_the_status_change_after_the_supervisor_dispatches(volunteer, w, login, api, personas):
    finding = report(volunteer, w)
    client = login(volunteer.user)
    assert b"status-new" in client.get("/my-reports/").content
    task = services.task_dispatch(actor=personas.supervisor, finding=finding)

    listing = client.get("/my-reports/").content.decode()
    detail = client.get(f"/my-reports/{finding.pk}/").content.decode()
    for text in (listing, detail):
        assert "status-dispatched" in text and "status-new" not in text
        assert task.unit.name in text
        assert "light-green" in text
    body = api(volunteer.user).get("/api/v1/my-reports/").json()
    assert body["results"][0]["status"] == "dispatched"
    assert body["results"][0]["tasks"][0]["light"] == "green"
    assert body["results"][0]["tasks"][0]["status"] == task.status


def test_another_volunteer_gets_404_for_a_report_that_is_not_theirs(volunteer, other_volunteer, w, login, api):
    finding = report(volunteer, w)
    assert login(other_volunteer.user).get(f"/my-reports/{finding.pk}/").status_code == 404
    assert api(other_volunteer.user).get(f"/api/v1/my-reports/{finding.pk}/").status_code == 404
    assert api(other_volunteer.user).get("/api/v1/my-reports/").json()["count"] == 0
    assert f"#{finding.pk}".encode() not in login(other_volunteer.user).get("/my-reports/").content


def test_a_user_without_a_volunteer_record_is_refused(w, login, api, personas):
    outsider = personas.outsider
    client = login(outsider)
    assert client.get("/my-reports/new/").status_code == 403
    assert client.post("/my-reports/new/", {"category": w.category.pk, "description": "x", "address": "y"}
                       ).status_code == 403
    assert client.get("/my-reports/").status_code == 403
    response = api(outsider).post("/api/v1/my-reports/", {"category": w.category.pk, "description": "x",
                                                          "address": "y"}, format="json")
    assert response.status_code == 403
    assert not Finding.objects.exists()


def test_volunteer_nav_links_to_reporting(volunteer, login):
    content = login(volunteer.user).get("/").content
    assert b'href="/my-reports/new/"' in content and b'href="/my-reports/"' in content


@pytest.mark.parametrize("bad", [
    {"description": ""},
    {"description": "垃圾\x00堆积"},
    {"address": "人民路\x00"},
    {"photos": "text"},
    {"address": "", "latitude": "", "longitude": ""},
])
def test_bad_input_on_the_page_answers_400_and_creates_nothing(volunteer, w, login, bad):
    data = {"category": w.category.pk, "description": "垃圾堆积", "address": "人民路"}
    data.update(bad)
    if data.get("photos") == "text":
        data["photos"] = [text_as_jpeg()]
    response = login(volunteer.user).post("/my-reports/new/", data)
    assert response.status_code == 400
    assert b'class="error" role="alert"' in response.content
    assert not Finding.objects.exists() and not FindingPhoto.objects.exists()


@pytest.mark.parametrize("bad", [
    {"description": ""},
    {"description": "垃圾\x00堆积"},
    {"photos": "text"},
    {"category": 999999},
    {"address": ""},
])
def test_bad_input_on_the_api_answers_400_with_field_errors_and_creates_nothing(volunteer, w, api, bad):
    data = {"category": w.category.pk, "description": "垃圾堆积", "address": "人民路"}
    data.update(bad)
    if data.get("photos") == "text":
        data["photos"] = [text_as_jpeg()]
    response = api(volunteer.user).post("/api/v1/my-reports/", data, format="multipart")
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] and body["errors"]
    assert not Finding.objects.exists() and not FindingPhoto.objects.exists()


def test_api_report_creates_a_volunteer_finding(volunteer, w, api):
    response = api(volunteer.user).post("/api/v1/my-reports/", {
        "category": w.category.pk, "description": "路灯不亮", "point": w.point_a.pk, "photos": [jpeg()]},
        format="multipart")
    assert response.status_code == 201, response.content
    finding = Finding.objects.get()
    assert response.json()["id"] == finding.pk and finding.source == "volunteer" and finding.unit == w.point_a.unit


def _count(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_my_reports_page_and_api_query_counts_do_not_grow(volunteer, w, login, api, personas):
    for i in range(60):
        finding = report(volunteer, w, description=f"问题{i}")
        if i % 2:
            services.task_dispatch(actor=personas.supervisor, finding=finding)
    page = login(volunteer.user)
    small, large = _count(page, "/my-reports/?per_page=1"), _count(page, "/my-reports/?per_page=50")
    # session + user + volunteer record + permissions + count + rows + tasks prefetch
    assert small == large == 8, (small, large)
    assert page.get("/my-reports/?per_page=50").content.count(b"<tr>") > 40
    client = api(volunteer.user)
    small, large = _count(client, "/api/v1/my-reports/?limit=1"), _count(client, "/api/v1/my-reports/?limit=50")
    assert small == large == 4, (small, large)  # token + count + rows + tasks prefetch
