"""The archive zip (acceptance 3): exactly the approved files, the documented layout, an index, scope-checked."""

from __future__ import annotations

import io
import zipfile

from openpyxl import load_workbook

from materials import services
from materials.archive import archive_job_run
from materials.models import ArchiveJob

from ..factories import make_member
from .helpers import Role, open_calls, pdf, png, submit, world


def _world(city, personas):
    w = world(city, personas)
    calls = open_calls(w, personas, city, codes=("1.1.1.1", "2.1.1.1"))
    b_call = services.material_call_create(actor=personas.supervisor, campaign=w.campaign, indicator=w.ind["1.1.1.2"],
                                           title="B", evidence="x", deadline=calls[0].deadline, units=[city.street_b1])
    a1 = {c.indicator.code: c.submissions.get(unit=city.street_a1) for c in calls}
    # 1.1.1.1: returned once (round 1 file not approved), passed in round 2.
    submit(a1["1.1.1.1"], w.clerk_a1, [pdf("旧.pdf")])
    services.material_submission_return(actor=personas.supervisor, submission=a1["1.1.1.1"], reason="旧")
    a1["1.1.1.1"].refresh_from_db()
    submit(a1["1.1.1.1"], w.clerk_a1, [pdf("新.pdf"), png("现场.png")])
    a1["1.1.1.1"].refresh_from_db()
    services.material_submission_review(actor=personas.supervisor, submission=a1["1.1.1.1"])
    # 2.1.1.1: pending, not approved.
    submit(a1["2.1.1.1"], w.clerk_a1, [pdf("待审.pdf")])
    # Street A2 partly passed; street B1 passed.
    a2 = calls[0].submissions.get(unit=w.street_a2)
    submit(a2, w.clerk_a2, [pdf("A2.pdf")])
    a2.refresh_from_db()
    services.material_submission_review(actor=personas.supervisor, submission=a2, share="0.5")
    b1 = b_call.submissions.get()
    submit(b1, w.clerk_b1, [pdf("B1.pdf")])
    b1.refresh_from_db()
    services.material_submission_review(actor=personas.supervisor, submission=b1)
    return w


def _build(actor, campaign, unit=None, capture=None):
    job = services.archive_job_start(actor=actor, campaign=campaign, unit=unit)
    archive_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == ArchiveJob.Status.DONE and job.progress == 100
    return job


def test_unit_archive_holds_exactly_its_approved_files_in_the_layout_with_an_index(city, personas, login, client):
    w = _world(city, personas)
    job = _build(personas.supervisor, w.campaign, city.street_a1)
    login(personas.supervisor)
    response = client.get(f"/materials/archives/{job.pk}/download/")
    assert response.status_code == 200 and response["Content-Disposition"].startswith("attachment")
    zf = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    names = sorted(zf.namelist())
    folder = "1 公共文明/1.1 文明宣传/1.1.1 公益广告/"
    assert names == sorted([folder + "C-A-1-人民路街道-新.pdf", folder + "C-A-1-人民路街道-现场.png", "index.xlsx"])
    assert zf.read(folder + "C-A-1-人民路街道-新.pdf").startswith(b"%PDF")
    index = list(load_workbook(io.BytesIO(zf.read("index.xlsx")), read_only=True).worksheets[0].iter_rows(values_only=True))
    assert len(index) == 3
    assert {row[8] for row in index[1:]} == set(names) - {"index.xlsx"}
    assert {row[3] for row in index[1:]} == {"1.1.1.1"}


def test_archive_with_files_outside_the_users_scope_cannot_be_downloaded(city, personas, login, client):
    w = _world(city, personas)
    district_office = make_member(city.district_a, Role.SUPERVISOR, "office_a")
    job = _build(district_office, w.campaign)  # the whole campaign: holds street B1's file too
    assert job.file_count == 4
    login(district_office)
    assert client.get(f"/materials/archives/{job.pk}/").status_code == 200
    assert client.get(f"/materials/archives/{job.pk}/download/").status_code == 403
    # Another user does not even see the job.
    login(personas.handler_b)
    assert client.get(f"/materials/archives/{job.pk}/download/").status_code == 404
    # Its own district's archive is fine.
    job_a = _build(district_office, w.campaign, city.district_a)
    login(district_office)
    assert client.get(f"/materials/archives/{job_a.pk}/download/").status_code == 200
    assert job_a.file_count == 3


def test_archive_job_runs_once_and_reports_progress(city, personas, login, client):
    w = _world(city, personas)
    job = _build(personas.supervisor, w.campaign)
    first = job.archive.name
    archive_job_run(job_id=job.pk)  # a redelivered message does nothing
    job.refresh_from_db()
    assert job.archive.name == first
    login(personas.supervisor)
    body = client.get(f"/materials/archives/{job.pk}/status/").json()
    assert body["status"] == "done" and body["progress"] == 100 and body["files"] == 4
