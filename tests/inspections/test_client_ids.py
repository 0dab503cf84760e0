"""Findings sent with a client-generated id (the phone's offline outbox,
docs/offline.md) are recorded exactly once: a resend answers the finding of
the first send, a race makes one row, someone else's id is refused."""

from __future__ import annotations

import re
import threading
import uuid

import pytest
from django.db import connections

from inspections.models import Finding, FindingPhoto, RectificationTask

from .helpers import jpeg, world


@pytest.fixture
def w(city, personas):
    return world(city, personas)


def form_data(w, client_id, **extra):
    return {"source": "inspection", "point": w.point_a.pk, "visit": w.visit_a.pk, "category": w.category.pk,
            "severity": "", "description": "垃圾桶满溢", "photos": [jpeg("a.jpg")], "client_id": str(client_id),
            **extra}


def test_the_form_sent_twice_with_one_client_id_records_one_finding(w, personas, login):
    client, cid = login(personas.inspector), uuid.uuid4()
    first = client.post("/findings/new/", form_data(w, cid))
    second = client.post("/findings/new/", form_data(w, cid))
    finding = Finding.objects.get()
    assert (first.status_code, second.status_code) == (302, 302)
    assert first.url == second.url == f"/findings/{finding.pk}/"
    assert finding.client_id == cid and finding.photos.count() == 1
    assert FindingPhoto.objects.count() == 1  # the resend's photo was not stored


def test_the_outbox_gets_json_201_then_200_with_the_same_finding(w, personas, login):
    client, cid = login(personas.inspector), uuid.uuid4()
    first = client.post("/findings/new/", form_data(w, cid), headers={"accept": "application/json"})
    second = client.post("/findings/new/", form_data(w, cid, description="改过的描述"),
                         headers={"accept": "application/json"})
    finding = Finding.objects.get()
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json() == {"id": finding.pk, "url": f"/findings/{finding.pk}/", "created": True}
    assert second.json() == {"id": finding.pk, "url": f"/findings/{finding.pk}/", "created": False}
    assert finding.description == "垃圾桶满溢"


def test_the_outbox_gets_json_400_with_readable_errors_and_nothing_changes(w, personas, login):
    r = login(personas.inspector).post("/findings/new/", form_data(w, uuid.uuid4(), description=""),
                                       headers={"accept": "application/json"})
    assert r.status_code == 400
    assert any(line.startswith("说明: ") for line in r.json()["errors"]), r.json()
    assert not Finding.objects.exists()


def test_a_resend_with_dispatch_now_does_not_dispatch_twice(w, personas, login):
    client, cid = login(personas.supervisor), uuid.uuid4()
    for _ in range(2):
        assert client.post("/findings/new/", form_data(w, cid, dispatch_now="on")).status_code == 302
    assert Finding.objects.count() == 1 and RectificationTask.objects.count() == 1


def test_the_api_answers_a_resend_with_the_first_finding(w, personas, api):
    client, cid = api(personas.inspector), uuid.uuid4()
    first = client.post("/api/v1/findings/", form_data(w, cid), format="multipart")
    second = client.post("/api/v1/findings/", form_data(w, cid), format="multipart")
    assert (first.status_code, second.status_code) == (201, 200), second.json()
    assert first.json()["id"] == second.json()["id"] == Finding.objects.get().pk
    assert second.json()["client_id"] == str(cid)


def test_another_users_client_id_is_refused_without_showing_their_finding(w, personas, login, api):
    cid = uuid.uuid4()
    assert login(personas.inspector).post("/findings/new/", form_data(w, cid)).status_code == 302
    mine = Finding.objects.get()
    page = login(personas.supervisor).post("/findings/new/", form_data(w, cid, description="别人的"),
                                           headers={"accept": "application/json"})
    by_api = api(personas.supervisor).post("/api/v1/findings/", form_data(w, cid, description="别人的"),
                                           format="multipart")
    assert (page.status_code, by_api.status_code) == (409, 409)
    assert by_api.json()["code"] == "conflict"
    assert set(page.json()) == {"errors"} and set(by_api.json()) <= {"code", "detail", "errors"}
    for body in (page.json(), by_api.json()):
        text = str(body)
        assert "草稿编号已被使用" in text
        assert f"/findings/{mine.pk}/" not in text and "垃圾桶满溢" not in text and str(mine.uid) not in text
        assert not re.search(rf"\b{mine.pk}\b", text)
    assert Finding.objects.count() == 1


def test_a_bad_client_id_is_a_clear_400(w, personas, login, api):
    page = login(personas.inspector).post("/findings/new/", form_data(w, "not-a-uuid"),
                                          headers={"accept": "application/json"})
    by_api = api(personas.inspector).post("/api/v1/findings/", form_data(w, "not-a-uuid"), format="multipart")
    assert (page.status_code, by_api.status_code) == (400, 400)
    assert "client_id" in by_api.json()["errors"]
    assert not Finding.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_racing_resends_of_one_draft_make_one_row(city, personas, api, on_postgresql):
    w, cid = world(city, personas), uuid.uuid4()
    barrier = threading.Barrier(4)
    answers: list[tuple[int, int]] = []

    def send():
        client = api(personas.inspector)
        try:
            barrier.wait(timeout=10)
            r = client.post("/api/v1/findings/", form_data(w, cid), format="multipart")
            answers.append((r.status_code, r.json().get("id")))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    finding = Finding.objects.get()
    assert sorted(code for code, _ in answers) == [200, 200, 200, 201]
    assert {pk for _, pk in answers} == {finding.pk}
    assert FindingPhoto.objects.filter(finding=finding).count() == 1
