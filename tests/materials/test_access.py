"""Scope (outsiders get 404/403, out-of-scope rows never listed) and query counts for the materials routes."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns.models import Unit
from materials import services
from materials.models import MaterialSubmission

from ..factories import make_unit
from .helpers import open_calls, pdf, submit, world


def count(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, (url, response.content[:300])
    return len(ctx.captured_queries)


@pytest.fixture
def many(city, personas):
    w = world(city, personas)
    for i in range(8):
        make_unit(city.district_a, kind=Unit.Kind.STREET, name=f"街道{i}", code=f"C-A-S{i}")
    codes = ["1.1.1.1", "1.1.1.2", "1.1.1.3", "2.1.1.1"]
    calls = open_calls(w, personas, city, codes=codes, deadline=dt.date.today() + dt.timedelta(days=5))
    for sub in MaterialSubmission.objects.all()[:12]:
        submit(sub, personas.handler_a)
    return w, calls


API = ["material-calls", "material-submissions", f"material-completeness"]


@pytest.mark.parametrize("resource", API)
def test_api_list_query_count_does_not_grow_with_page_size(many, personas, api, resource):
    client = api(personas.handler_a)
    small = count(client, f"/api/v1/{resource}/?limit=1")
    large = count(client, f"/api/v1/{resource}/?limit=50")
    assert small == large <= 8, (small, large)


def test_pages_and_exports_run_a_fixed_number_of_queries(many, personas, login):
    w, calls = many
    client = login(personas.handler_a)
    for url in ["/materials/calls/?per_page={n}", "/materials/owed/?per_page={n}",
                f"/materials/calls/{calls[0].pk}/?per_page={{n}}", "/materials/archives/?per_page={n}"]:
        small, large = count(client, url.format(n=1)), count(client, url.format(n=50))
        assert small == large <= 8, (url, small, large)
    matrix = count(client, f"/materials/campaigns/{w.campaign.pk}/completeness/")
    exports = [count(client, u) for u in ("/materials/calls/export.xlsx", "/materials/owed/export.xlsx",
                                          f"/materials/campaigns/{w.campaign.pk}/completeness/export.xlsx")]
    assert matrix <= 8 and max(exports) <= 8, (matrix, exports)
    sub = MaterialSubmission.objects.filter(status="pending").first()
    assert count(client, f"/materials/submissions/{sub.pk}/") <= 10


def test_outsiders_get_404_and_out_of_scope_rows_are_never_listed(many, city, personas, api, login, client):
    w, calls = many
    sub = MaterialSubmission.objects.filter(unit=city.street_a1).first()
    for user in (personas.handler_b, w.clerk_b1, w.clerk_a2):
        c = api(user)
        assert c.get(f"/api/v1/material-submissions/{sub.pk}/").status_code == 404
        assert all(r["unit"] != city.street_a1.pk for r in c.get("/api/v1/material-completeness/").json()["results"])
        login(user)
        assert client.get(f"/materials/submissions/{sub.pk}/").status_code == 404
    # Outsiders without a role: 403 on pages and API lists, never data.
    login(personas.outsider)
    for url in ("/materials/calls/", "/materials/owed/", f"/materials/submissions/{sub.pk}/",
                f"/materials/campaigns/{w.campaign.pk}/completeness/"):
        assert client.get(url).status_code in (403, 404), url
    for resource in API:
        assert api(personas.outsider).get(f"/api/v1/{resource}/").status_code == 403
        assert api().get(f"/api/v1/{resource}/").status_code == 401
    # Handlers cannot open calls or review; a district B clerk cannot submit for A.
    r = api(personas.handler_a).post("/api/v1/material-calls/", {
        "campaign": w.campaign.pk, "indicator": w.ind["1.1.1"].pk, "evidence": "x", "deadline": "2026-12-01",
        "units": [city.street_a1.code]}, format="json")
    assert r.status_code == 403
    assert api(w.clerk_b1).post(f"/api/v1/material-submissions/{sub.pk}/submit/", {"files": [pdf()]},
                                format="multipart").status_code == 404


def test_office_opens_a_call_through_the_api(city, personas, api):
    w = world(city, personas)
    r = api(personas.supervisor).post("/api/v1/material-calls/", {
        "campaign": w.campaign.pk, "indicator": w.ind["1.1.1.1"].pk, "evidence": "台账", "deadline": "2026-12-01",
        "kind": "street", "within": city.district_a.code}, format="json")
    assert r.status_code == 201, r.content
    assert sorted(MaterialSubmission.objects.values_list("unit__code", flat=True)) == ["C-A-1", "C-A-2"]
    again = api(personas.supervisor).post("/api/v1/material-calls/", {
        "campaign": w.campaign.pk, "indicator": w.ind["1.1.1.1"].pk, "evidence": "台账", "deadline": "2026-12-01",
        "units": [city.street_b1.code]}, format="json")
    assert again.status_code == 400


def test_completeness_api_filters_by_state_and_section(many, personas, api):
    w, calls = many
    rows = api(personas.supervisor).get(f"/api/v1/material-completeness/?campaign={w.campaign.pk}&section=2&limit=200").json()["results"]
    assert {r["indicator_code"] for r in rows} == {"2.1.1.1"} and len(rows) == 10
    pending = api(personas.supervisor).get("/api/v1/material-completeness/?state=pending&limit=200").json()["results"]
    assert len(pending) == 12
