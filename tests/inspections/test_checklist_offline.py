"""The checklist sent from the phone's outbox (docs/offline.md): JSON answers,
exactly once on a resend, a refusal the outbox can show, the page kept offline."""

from __future__ import annotations

import uuid

import pytest

from inspections.models import Finding, FindingPhoto, VisitCheck

from .checks_helpers import edition
from .helpers import jpeg, world

pytestmark = pytest.mark.django_db
JSON = {"accept": "application/json"}


@pytest.fixture
def w(city, personas):
    w = world(city, personas)
    w.ed = edition(w)
    return w


def _draft(w, client_id, *, photo=True) -> dict:
    failed, met = w.ed.by_code["1.1.1.1"].pk, w.ed.by_code["1.1.1.2"].pk
    data = {"client_id": str(client_id), f"c-{failed}-result": "failed", f"c-{failed}-category": str(w.category.pk),
            f"c-{failed}-note": "市场内垃圾堆积", f"c-{met}-result": "met"}
    if photo:
        data[f"c-{failed}-photos"] = jpeg("c.jpg")
    return data


def test_the_outbox_resend_of_a_checklist_answers_the_same_and_records_once(w, personas, login):
    client, cid, url = login(personas.inspector), uuid.uuid4(), f"/visits/{w.visit_a.pk}/checks/"
    outbox = {**JSON, "x-outbox-user": str(personas.inspector.pk)}
    first = client.post(url, _draft(w, cid), headers=outbox)
    second = client.post(url, _draft(w, cid), headers=outbox)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json() == {"id": w.visit_a.pk, "url": url, "created": True}
    assert second.json()["created"] is False
    assert VisitCheck.objects.filter(visit=w.visit_a).count() == 2
    finding = Finding.objects.get(indicator=w.ed.by_code["1.1.1.1"])
    assert FindingPhoto.objects.filter(finding=finding).count() == 1
    # Sent in the background: no "saved" message waits for the next page.
    assert "msg-success" not in client.get("/workbench/").content.decode()


def test_a_refused_checklist_answers_json_errors_and_records_nothing(w, personas, login):
    r = login(personas.inspector).post(f"/visits/{w.visit_a.pk}/checks/", _draft(w, uuid.uuid4(), photo=False),
                                       headers=JSON)
    assert r.status_code == 400
    assert any("照片" in line for line in r.json()["errors"]), r.json()
    assert not VisitCheck.objects.exists() and not Finding.objects.exists()


def test_the_checklist_page_is_kept_for_offline_use_with_fresh_draft_ids(w, personas, login):
    r = login(personas.inspector).get(f"/visits/{w.visit_a.pk}/checks/")
    body = r.content.decode()
    assert r["X-Offline-Page"] == "1"
    assert body.count("data-offline ") == 2 and body.count("data-client-id") == 2
