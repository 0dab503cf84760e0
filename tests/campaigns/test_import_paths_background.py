"""Issue 14, acceptance 6: a 100k-row junk workbook on the import paths that
had no background run (the units and volunteers pages, the editions API) goes
to the background, runs through the Celery task and fails with the first
1,000 row errors, their count and a full xlsx report; the job list stays
small. The workbook is written once (openpyxl write_only) with every path's
columns side by side (seven, shared), so each import finds its header and a
bad value in every row. Each path's time is printed (run with -s to see it). The points
page (test_import_job_bounds.py) and API and the ledger (test_planning_api.py,
test_planning_jobs.py) had their background runs already; the editions page
shares the editions runner and is checked here with a small file."""

from __future__ import annotations

import io
import time
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from campaigns.models import ImportJob, Indicator, IndicatorSystem, Point, Unit
from volunteers.models import Volunteer

JUNK_ROWS = 100_000
# English headers that the three imports share: units (code, name, kind, parent code), editions in the
# portal layout (code, parent code, name, points), volunteers (name, phone, community code).
HEADERS = ["code", "name", "kind", "parent code", "points", "phone", "community code"]


@pytest.fixture(scope="module")
def junk_workbook(tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("junk") / "junk.xlsx"
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(HEADERS)
    for i in range(JUNK_ROWS):
        sheet.append([f"J{i}", f"=junk{i}", "不存在的类型", "火星区", "很多分", "12", "火星区"])
    book.save(path)
    return path.read_bytes()


@pytest.fixture
def eager_worker():
    """The task runs where it is queued (after the request's commit): the same task code a worker runs."""
    from civportal.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


def _page(path: str, **fields):
    def post(client, upload):
        response = client.post(path, {"file": upload, **fields})
        assert response.status_code == 302, response.content[:2000]
        assert "/imports/" in response.url, response.url
        return int(response.url.rstrip("/").rsplit("/", 1)[-1])
    return post


def _api(path: str, **fields):
    def post(client, upload):
        response = client.post(path, {"file": upload, **fields}, format="multipart")
        assert response.status_code == 202, response.content[:2000]
        return response.json()["job"]
    return post


PATHS = {
    "units page": (_page("/units/import/"), ImportJob.Kind.UNITS, Unit),
    "volunteers page": (_page("/volunteers/import/"), ImportJob.Kind.VOLUNTEERS, Volunteer),
    "editions API": (_api("/api/v1/indicator-systems/import/", name="垃圾版", layout="portal"),
                     ImportJob.Kind.INDICATORS, Indicator),
}


def _report_rows(job) -> int:
    """Data rows of the report, counted in the sheet's XML (parsing 100k rows with openpyxl costs more)."""
    with job.report.open("rb") as handle, zipfile.ZipFile(io.BytesIO(handle.read())) as book:
        with book.open("xl/worksheets/sheet1.xml") as sheet:
            rows, tail = 0, b""
            while chunk := sheet.read(1 << 20):
                data = tail + chunk
                rows += data.count(b"<row ")
                tail = data[-4:]
    return rows - 1  # the header


@pytest.mark.parametrize("path", list(PATHS))
def test_a_100k_row_junk_workbook_runs_in_the_background_with_bounded_errors(
        path, junk_workbook, city, personas, login, api, eager_worker, django_capture_on_commit_callbacks):
    post, kind, model = PATHS[path]
    client = api(personas.supervisor) if "API" in path else login(personas.supervisor)
    before = model.objects.count()
    systems = IndicatorSystem.objects.count()
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True) as queued:
        job_id = post(client, SimpleUploadedFile("junk.xlsx", junk_workbook))
    elapsed = time.monotonic() - started
    assert len(queued) == 1  # the job was handed to the worker after the commit
    job = ImportJob.objects.get(pk=job_id)
    assert job.kind == kind and job.created_by == personas.supervisor
    assert job.status == ImportJob.Status.FAILED, (job.status, job.message, job.errors[:3])
    assert len(job.errors) == ImportJob.ERRORS_KEPT and job.error_count >= JUNK_ROWS, (job.message, job.errors[:3])
    assert model.objects.count() == before and IndicatorSystem.objects.count() == systems  # nothing imported
    # The full report, every error once.
    assert _report_rows(job) == job.error_count
    # The lists never carry the row errors.
    listing = api(personas.supervisor).get("/api/v1/import-jobs/?limit=50")
    assert listing.status_code == 200 and len(listing.content) < 1_000_000
    assert listing.json()["results"][0]["error_count"] == job.error_count
    print(f"\n{path}: {JUNK_ROWS} junk rows, {job.error_count} errors, {elapsed:.1f} s (upload, import and report)")



def test_a_large_edition_on_the_page_goes_to_the_background_too(city, personas, login, eager_worker, settings,
                                                                 django_capture_on_commit_callbacks):
    settings.INLINE_IMPORT_BYTES = 0  # a small junk sheet stands for a large one
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(HEADERS)
    for i in range(5):
        sheet.append([f"J{i}", f"=junk{i}", "x", "火星区", "很多分"])
    upload = io.BytesIO()
    book.save(upload)
    client = login(personas.supervisor)
    with django_capture_on_commit_callbacks(execute=True):
        job_id = _page("/editions/import/", name="垃圾版", layout="portal")(
            client, SimpleUploadedFile("junk.xlsx", upload.getvalue()))
    job = ImportJob.objects.get(pk=job_id)
    assert job.kind == ImportJob.Kind.INDICATORS and job.status == ImportJob.Status.FAILED
    assert job.error_count >= 5 and not IndicatorSystem.objects.filter(name="垃圾版").exists()
    assert client.get(f"/imports/{job.pk}/status.json").json()["errors"] == job.error_count
