"""Every channel gives a finding without a campaign the active campaign, or
refuses it when none or several are active (issue 14, acceptance 1): the
API, bulk intake, Open311 and the HTML form agree; old NULL-campaign
findings get the campaign of the day they were recorded."""

from __future__ import annotations

import datetime as dt
import importlib

import pytest
from django.apps import apps
from django.utils import timezone

from campaigns.models import Campaign, Membership
from inspections import services
from inspections.models import Finding
from scores.compute import month_bounds, task_facts

from .helpers import world

Role = Membership.Role
pytestmark = pytest.mark.django_db


@pytest.fixture
def w(city, personas):
    return world(city, personas)


@pytest.fixture
def channels(city, personas, w, api, api_key, key_api, login, settings):
    """name → function(n) that files one finding without a campaign and returns (status, finding or None)."""
    settings.API_RATE_PER_MINUTE = 0
    _client, key = api_key(personas.supervisor, city.city, role=Role.SUPERVISOR, name="12345")
    _client, o_key = api_key(personas.supervisor, city.district_a, role=Role.INSPECTOR, name="open311")

    def api_post(n):
        r = api(personas.supervisor).post("/api/v1/findings/", {
            "source": "hotline", "category": w.category.pk, "unit": city.street_a1.pk,
            "description": f"API {n}", "external_id": f"API-{n}"}, format="json")
        return r.status_code, r.json()

    def bulk(n):
        r = key_api(key).post("/api/v1/findings/bulk/", {"items": [{
            "source": "hotline", "external_id": f"BULK-{n}", "category": w.category.code,
            "unit": city.street_a1.code, "description": f"bulk {n}"}]}, format="json")
        body = r.json()
        status = 201 if r.status_code == 200 and body["results"][0]["result"] == "created" else 400
        return status, body

    def open311(n):
        from django.test import Client

        r = Client().post("/open311/v2/requests.json", {
            "api_key": o_key, "service_code": w.category.code, "lat": "29.870150", "long": "121.550050",
            "description": f"open311 {n}"})
        return r.status_code, r.json()

    def form(n):
        r = login(personas.supervisor).post("/findings/new/", {
            "source": "hotline", "unit": city.street_a1.pk, "category": w.category.pk,
            "description": f"form {n}"})
        return (201 if r.status_code == 302 else 400), r.content.decode()

    return {"api": api_post, "bulk": bulk, "open311": open311, "form": form}


def made(name, n):
    prefix = {"api": "API", "bulk": "bulk", "open311": "open311", "form": "form"}[name]
    return Finding.objects.filter(description=f"{prefix} {n}").first()


def test_every_channel_takes_the_active_campaign(channels, w):
    for name, file_one in channels.items():
        status, body = file_one(1)
        assert status == 201, (name, body)
        assert made(name, 1).campaign == w.campaign, name


def test_every_channel_refuses_when_no_campaign_is_active(channels, w):
    Campaign.objects.update(status=Campaign.Status.CLOSED)
    for name, file_one in channels.items():
        status, body = file_one(2)
        assert status == 400, (name, body)
        assert made(name, 2) is None, name
        assert "campaign" in str(body) or "活动" in str(body) or "创城" in str(body), (name, body)


def test_every_channel_refuses_when_several_campaigns_are_active(channels, w):
    Campaign.objects.create(name="2027创城", starts_on=dt.date(2027, 1, 1), ends_on=dt.date(2027, 12, 31),
                            status=Campaign.Status.ACTIVE)
    for name, file_one in channels.items():
        status, body = file_one(3)
        assert status == 400, (name, body)
        assert made(name, 3) is None, name


def test_api_error_names_the_campaign_field(city, personas, w, api):
    Campaign.objects.update(status=Campaign.Status.CLOSED)
    r = api(personas.supervisor).post("/api/v1/findings/", {
        "source": "hotline", "category": w.category.pk, "unit": city.street_a1.pk, "description": "x"},
        format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 400 and "campaign" in r.json()["errors"]


def test_a_finding_posted_without_campaign_counts_in_the_index(city, personas, w, api):
    r = api(personas.supervisor).post("/api/v1/findings/", {
        "source": "hotline", "category": w.category.pk, "unit": city.street_a1.pk, "description": "API 9"},
        format="json")
    assert r.status_code == 201, r.content
    finding = Finding.objects.get(pk=r.json()["id"])
    task = services.task_dispatch(actor=personas.supervisor, finding=finding)
    month = timezone.localtime(task.due_at).date().replace(day=1)
    start, end = month_bounds(month)
    counted = sum(row["n"] for row in task_facts(w.campaign, start, end))
    assert counted == 1


def test_migration_assigns_null_campaign_findings_by_creation_date(city, personas, w):
    later = Campaign.objects.create(name="2027创城", starts_on=dt.date(2027, 1, 1), ends_on=dt.date(2027, 12, 31),
                                    status=Campaign.Status.DRAFT)
    f_2026, _ = services.finding_create(actor=personas.supervisor, source="hotline", category=w.category,
                                        unit=city.street_a1, description="一")
    f_2027, _ = services.finding_create(actor=personas.supervisor, source="hotline", category=w.category,
                                        unit=city.street_a1, description="二")
    f_outside, _ = services.finding_create(actor=personas.supervisor, source="hotline", category=w.category,
                                           unit=city.street_a1, description="三")
    shanghai = dt.timezone(dt.timedelta(hours=8))
    Finding.objects.filter(pk=f_2026.pk).update(campaign=None, created_at=dt.datetime(2026, 12, 31, 23, 30,
                                                                                      tzinfo=shanghai))
    Finding.objects.filter(pk=f_2027.pk).update(campaign=None, created_at=dt.datetime(2027, 1, 1, 0, 30,
                                                                                      tzinfo=shanghai))
    Finding.objects.filter(pk=f_outside.pk).update(campaign=None, created_at=dt.datetime(2025, 6, 1, tzinfo=shanghai))
    migration = importlib.import_module("inspections.migrations.0009_findings_without_campaign")
    migration.assign_campaigns(apps, None)
    assert Finding.objects.get(pk=f_2026.pk).campaign == w.campaign
    assert Finding.objects.get(pk=f_2027.pk).campaign == later
    assert Finding.objects.get(pk=f_outside.pk).campaign is None
