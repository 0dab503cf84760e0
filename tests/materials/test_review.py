"""Calls, submissions and review (acceptance 1) and uploads (acceptance 6)."""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from materials.models import MaterialEvent, MaterialFile, MaterialSubmission

from ..factories import make_member
from .helpers import Role, docx, open_calls, pdf, png, world


@pytest.fixture
def w(city, personas):
    return world(city, personas)


def test_call_to_the_streets_of_a_district_each_street_sees_exactly_its_calls(w, city, personas, api):
    calls = open_calls(w, personas, city)
    for clerk, unit in ((w.clerk_a1, city.street_a1), (w.clerk_a2, w.street_a2)):
        rows = api(clerk).get("/api/v1/material-submissions/?limit=50").json()["results"]
        assert sorted(r["call"] for r in rows) == sorted(c.pk for c in calls)
        assert {r["unit"] for r in rows} == {unit.pk}
        assert {r["status"] for r in rows} == {"not_submitted"}
        listed = api(clerk).get("/api/v1/material-calls/").json()["results"]
        assert sorted(r["id"] for r in listed) == sorted(c.pk for c in calls)
    # District B's street was not asked and sees nothing.
    assert api(w.clerk_b1).get("/api/v1/material-submissions/").json()["results"] == []
    assert api(w.clerk_b1).get("/api/v1/material-calls/").json()["results"] == []
    assert MaterialSubmission.objects.count() == 6


def test_returned_then_passed_shows_both_steps_and_counts_the_rework(w, city, personas, api):
    call = open_calls(w, personas, city, codes=("1.1.1.1",))[0]
    sub = call.submissions.get(unit=city.street_a1)
    clerk, office = api(w.clerk_a1), api(personas.supervisor)
    url = f"/api/v1/material-submissions/{sub.pk}/"
    r = clerk.post(url + "submit/", {"description": "第一版", "files": [pdf()]}, format="multipart")
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "pending"
    r = office.post(url + "return/", {"reason": "缺少照片"}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "returned"
    # The clerk may not review, and cannot submit what is already pending.
    assert clerk.post(url + "review/", {}, format="json").status_code == 403
    r = clerk.post(url + "submit/", {"description": "补充照片", "files": [png(), pdf("补充.pdf")]}, format="multipart")
    assert r.status_code == 200 and r.json()["reworks"] == 1 and r.json()["round"] == 2
    assert clerk.post(url + "submit/", {"files": [pdf()]}, format="multipart").status_code == 409
    r = office.post(url + "review/", {"note": "齐全"}, format="json")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["status"] == "passed"
    assert [e["kind"] for e in body["events"]] == ["submitted", "returned", "resubmitted", "passed"]
    assert body["events"][1]["note"] == "缺少照片"
    assert [(f["round"], f["kind"]) for f in body["files"]] == [(1, "pdf"), (2, "png"), (2, "pdf")]
    # A reviewed submission cannot be reviewed again.
    assert office.post(url + "return/", {"reason": "再看"}, format="json").status_code == 409


def test_partial_pass_needs_a_share_between_0_and_1(w, city, personas, api):
    call = open_calls(w, personas, city, codes=("1.1.1.1",))[0]
    sub = call.submissions.get(unit=city.street_a1)
    api(w.clerk_a1).post(f"/api/v1/material-submissions/{sub.pk}/submit/", {"files": [pdf()]}, format="multipart")
    office = api(personas.supervisor)
    url = f"/api/v1/material-submissions/{sub.pk}/review/"
    assert office.post(url, {"share": "0"}, format="json").status_code == 400
    assert office.post(url, {"share": "abc"}, format="json").status_code == 400
    r = office.post(url, {"share": "0.5", "note": "部分"}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "partial" and r.json()["share"] == "0.500"


def test_return_needs_a_reason(w, city, personas, api):
    call = open_calls(w, personas, city, codes=("1.1.1.1",))[0]
    sub = call.submissions.get(unit=city.street_a1)
    api(w.clerk_a1).post(f"/api/v1/material-submissions/{sub.pk}/submit/", {"files": [pdf()]}, format="multipart")
    r = api(personas.supervisor).post(f"/api/v1/material-submissions/{sub.pk}/return/", {"reason": " "}, format="json")
    assert r.status_code == 400
    sub.refresh_from_db()
    assert sub.status == "pending"


@pytest.mark.django_db(transaction=True)
def test_two_reviewers_at_once_one_wins_the_other_gets_409(city, personas, api, on_postgresql):
    w = world(city, personas)
    call = open_calls(w, personas, city, codes=("1.1.1.1",))[0]
    sub = call.submissions.get(unit=city.street_a1)
    api(w.clerk_a1).post(f"/api/v1/material-submissions/{sub.pk}/submit/", {"files": [pdf()]}, format="multipart")
    second = make_member(city.city, Role.SUPERVISOR, "p_supervisor_2")
    clients = [api(personas.supervisor), api(second)]
    barrier = threading.Barrier(2)
    results: list[int] = []

    def act(client, path, body):
        try:
            barrier.wait(timeout=10)
            results.append(client.post(path, body, format="json").status_code)
        finally:
            connections.close_all()

    base = f"/api/v1/material-submissions/{sub.pk}/"
    threads = [threading.Thread(target=act, args=(clients[0], base + "review/", {})),
               threading.Thread(target=act, args=(clients[1], base + "return/", {"reason": "不全"}))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(results) == [200, 409]
    assert MaterialEvent.objects.filter(submission=sub, kind__in=["passed", "returned"]).count() == 1


ZIP_BOMB = b"\0" * (8 * 1024 * 1024)
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


def _bad_files():
    from django.core.files.uploadedfile import SimpleUploadedFile as F

    return {
        "html": (F("evil.html", b"<!doctype html><html><script>alert(1)</script></html>"), "not an accepted file"),
        "svg": (F("logo.svg", SVG), "not an accepted file"),
        "zip_bomb": (docx("炸弹.docx", extra=ZIP_BOMB), "unreasonable size"),
        "fake_pdf": (F("假.pdf", b"MZ\x90\x00 this is an exe" * 10), "not an accepted file"),
        "pdf_named_docx": (F("伪装.docx", b"%PDF-1.4\n%%EOF\n"), "does not match"),
        "truncated_pdf": (F("半截.pdf", b"%PDF-1.4\n1 0 obj" + b"x" * 4000), "incomplete PDF"),
    }


@pytest.mark.parametrize("case", ["html", "svg", "zip_bomb", "fake_pdf", "pdf_named_docx", "truncated_pdf", "oversize"])
def test_bad_uploads_are_refused_with_a_clear_message_and_nothing_is_stored(w, city, personas, api, settings, case):
    call = open_calls(w, personas, city, codes=("1.1.1.1",))[0]
    sub = call.submissions.get(unit=city.street_a1)
    if case == "oversize":
        settings.MATERIAL_MAX_BYTES = 1024
        upload, message = pdf("大.pdf"), None
        from django.core.files.uploadedfile import SimpleUploadedFile

        upload = SimpleUploadedFile("大.pdf", b"%PDF-1.4\n" + b"x" * 2000 + b"\n%%EOF\n")
        message = "larger than"
    else:
        upload, message = _bad_files()[case]
    r = api(w.clerk_a1).post(f"/api/v1/material-submissions/{sub.pk}/submit/",
                             {"files": [pdf("好.pdf"), upload]}, format="multipart", HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 400, r.content
    assert message in str(r.json()["errors"]), r.json()
    sub.refresh_from_db()
    assert sub.status == "not_submitted" and MaterialFile.objects.count() == 0
    media = settings.MEDIA_ROOT
    assert not any(p.is_file() for p in media.rglob("*")) if media.exists() else True


def test_word_excel_and_images_are_accepted(w, city, personas, api):
    call = open_calls(w, personas, city, codes=("1.1.1.1",))[0]
    sub = call.submissions.get(unit=city.street_a1)
    r = api(w.clerk_a1).post(f"/api/v1/material-submissions/{sub.pk}/submit/",
                             {"files": [docx(), png(), pdf()]}, format="multipart")
    assert r.status_code == 200, r.content
    assert sorted(f["kind"] for f in r.json()["files"]) == ["docx", "pdf", "png"]


def test_files_download_as_attachments_within_scope_only(w, city, personas, api, login, client):
    call = open_calls(w, personas, city, codes=("1.1.1.1",))[0]
    sub = call.submissions.get(unit=city.street_a1)
    api(w.clerk_a1).post(f"/api/v1/material-submissions/{sub.pk}/submit/", {"files": [pdf()]}, format="multipart")
    f = MaterialFile.objects.get()
    assert "/" not in f.original_name and f.original_name not in f.file.name  # random stored name
    login(w.clerk_a1)
    r = client.get(f"/materials/files/{f.pk}/")
    assert r.status_code == 200
    assert r["Content-Disposition"].startswith("attachment")
    assert r["X-Content-Type-Options"] == "nosniff"
    assert b"".join(r.streaming_content).startswith(b"%PDF")
    for outsider in (w.clerk_a2, w.clerk_b1, personas.handler_b):
        login(outsider)
        assert client.get(f"/materials/files/{f.pk}/").status_code == 404
    login(personas.outsider)
    assert client.get(f"/materials/files/{f.pk}/").status_code in (403, 404)


def test_units_submit_and_office_reviews_through_the_pages(w, city, personas, login, client):
    call = open_calls(w, personas, city, codes=("1.1.1.1",))[0]
    sub = call.submissions.get(unit=city.street_a1)
    login(w.clerk_a1)
    page = client.get("/materials/calls/")
    assert page.status_code == 200 and call.title in page.content.decode()
    r = client.post(f"/materials/submissions/{sub.pk}/", {"action": "submit", "s-description": "台账",
                                                          "s-files": [pdf()]})
    assert r.status_code == 302
    login(personas.supervisor)
    r = client.post(f"/materials/submissions/{sub.pk}/", {"action": "review", "r-decision": "partial",
                                                          "r-share": "0.6", "r-note": "基本齐全"})
    assert r.status_code == 302
    sub.refresh_from_db()
    assert sub.status == "partial" and str(sub.share) == "0.600"
    assert "0.600" in client.get(f"/materials/submissions/{sub.pk}/").content.decode()
