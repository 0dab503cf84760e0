"""Scope matrix for the issue 17 resources: every persona sees the appeals,
accountability records and exposures of its scope only; detail routes answer
404 outside it; anonymous callers get 401."""

from __future__ import annotations

import datetime as dt

import pytest

from scores.models import AccountabilityRecord, Appeal, Exposure, ScoreMonth

from . import helpers as h
from .helpers import OCT, at

pytestmark = pytest.mark.django_db
# persona → (sees district A's records, sees district B's records)
EXPECTED = {
    "supervisor": (True, True), "inspector": (True, True), "leader": (True, False), "head_a": (True, False),
    "handler_a": (True, False), "handler_b": (False, True),
}
RESOURCES = ["appeals", "accountability-records", "exposures"]


@pytest.fixture
def records(city, personas):
    camp = h.campaign()
    t1 = h.point_type("T1", "背街小巷", 1)
    cat = h.category("C1", "垃圾乱堆", 2)
    insp = h.inspection(camp, city.city)
    month = ScoreMonth.objects.create(campaign=camp, month=OCT)
    out = {}
    for key, street in (("a", city.street_a1), ("b", city.street_b1)):
        f = h.finding(camp, cat, "moderate", visit_=h.visit(insp, h.point(street, t1), at(10, 5)))
        out[key] = {
            "appeals": Appeal.objects.create(campaign=camp, unit=street, month=OCT, score_month=month,
                                             target="finding", finding=f, reason="r",
                                             submitted_by=personas.supervisor),
            "accountability-records": AccountabilityRecord.objects.create(
                unit=street, kind="interview", decided_on=dt.date(2026, 11, 2), decision_maker="市创城办",
                created_by=personas.supervisor),
            "exposures": Exposure.objects.create(finding=f, created_by=personas.supervisor),
        }
    return out


@pytest.mark.parametrize("resource", RESOURCES)
@pytest.mark.parametrize("persona", sorted(EXPECTED))
def test_lists_and_details_follow_scope(api, personas, records, persona, resource):
    client = api(getattr(personas, persona))
    response = client.get(f"/api/v1/{resource}/")
    if response.status_code == 403:  # a role without the read permission sees nothing at all
        assert resource != "appeals"
        return
    assert response.status_code == 200, response.content
    ids = {row["id"] for row in response.json()["results"]}
    for key, visible in zip(("a", "b"), EXPECTED[persona]):
        obj = records[key][resource]
        assert (obj.pk in ids) == visible, (persona, resource, key)
        assert client.get(f"/api/v1/{resource}/{obj.pk}/").status_code == (200 if visible else 404)


@pytest.mark.parametrize("resource", RESOURCES + ["annual-reports"])
def test_anonymous_is_401(api, records, resource):
    assert api().get(f"/api/v1/{resource}/").status_code == 401
