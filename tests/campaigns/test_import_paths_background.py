"""Issue 14, acceptance 6: a 100k-row junk workbook on the import paths that
had no background run (the units, volunteers, staff-account and score-entry
pages, the editions and staff-account APIs) goes to the background, runs
through the Celery task and fails with the first 1,000 row errors, their count
and a full xlsx report; nothing is written and the job list stays small. The
workbook is written once (openpyxl write_only) with every path's columns side
by side (twelve, shared), so each import finds its header and a bad value in
every row. Each path's time is printed (run with -s to see it). The points
page (test_import_job_bounds.py) and API and the ledger (test_planning_api.py,
test_planning_jobs.py) had their background runs already; the editions page
shares the editions runner and is checked here with a small file. Small valid
account and score sheets sent to the background land their rows. The holiday
calendar's import (one year, at most 366 rows) stays inline and refuses the
junk workbook at its 367th row instead."""

from __future__ import annotations

import io
import time
import zipfile

import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from campaigns.models import Campaign, ImportJob, Indicator, IndicatorSystem, Membership, Unit, User
from scores.models import MaterialsScore, SurveyScore
from volunteers.models import Volunteer

JUNK_ROWS = 100_000
# English headers that the imports share: units (code, name, kind, parent code), editions in the
# portal layout (code, parent code, name, points), volunteers (name, phone, community code), staff
# accounts (name, username, phone, unit code, role), survey and materials scores (code, score), the
# holiday calendar (date, kind).
HEADERS = ["code", "name", "kind", "parent code", "points", "phone", "community code", "username", "unit code",
           "role", "score", "date"]


@pytest.fixture(scope="module")
def junk_workbook(tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("junk") / "junk.xlsx"
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(HEADERS)
    for i in range(JUNK_ROWS):
        sheet.append([f"J{i}", f"=junk{i}", "不存在的类型", "火星区", "很多分", "12", "火星区", f"j{i}", "火星区",
                      "不存在的角色", "很多分", "火星日"])
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


def _fields(fields: dict, campaign) -> dict:
    return {name: value(campaign) if callable(value) else value for name, value in fields.items()}


def _page(path: str, file_field: str = "file", **fields):
    def post(client, upload, campaign=None):
        response = client.post(path, {file_field: upload, **_fields(fields, campaign)})
        assert response.status_code == 302, response.content[:2000]
        assert "/imports/" in response.url, response.url
        return int(response.url.rstrip("/").rsplit("/", 1)[-1])
    return post


def _api(path: str, **fields):
    def post(client, upload, campaign=None):
        response = client.post(path, {"file": upload, **_fields(fields, campaign)}, format="multipart")
        assert response.status_code == 202, response.content[:2000]
        return response.json()["job"]
    return post


def _campaign_pk(campaign) -> int:
    return campaign.pk


SCORES_PAGE = _page("/scores/entries/", file_field="i-file", form="import", **{
    "i-kind": "survey", "i-campaign": _campaign_pk, "i-month": "2026-10"})

PATHS = {
    "units page": (_page("/units/import/"), ImportJob.Kind.UNITS, Unit),
    "volunteers page": (_page("/volunteers/import/"), ImportJob.Kind.VOLUNTEERS, Volunteer),
    "editions API": (_api("/api/v1/indicator-systems/import/", name="垃圾版", layout="portal"),
                     ImportJob.Kind.INDICATORS, Indicator),
    "accounts page": (_page("/accounts/users/import/"), ImportJob.Kind.ACCOUNTS, User),
    "accounts API": (_api("/api/v1/users/import/"), ImportJob.Kind.ACCOUNTS, User),
    "scores page": (SCORES_PAGE, ImportJob.Kind.SCORE_ENTRIES, SurveyScore),
}


@pytest.fixture
def campaign(db):
    """What the score pages import into (October 2026 lies in it)."""
    return Campaign.objects.create(name="2026创城", starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2026, 12, 31),
                                   status=Campaign.Status.ACTIVE)


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
        path, junk_workbook, city, personas, campaign, login, api, eager_worker, django_capture_on_commit_callbacks):
    post, kind, model = PATHS[path]
    client = api(personas.supervisor) if "API" in path else login(personas.supervisor)
    before = model.objects.count()
    systems, memberships = IndicatorSystem.objects.count(), Membership.objects.count()
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True) as queued:
        job_id = post(client, SimpleUploadedFile("junk.xlsx", junk_workbook), campaign)
    elapsed = time.monotonic() - started
    assert len(queued) == 1  # the job was handed to the worker after the commit
    job = ImportJob.objects.get(pk=job_id)
    assert job.kind == kind and job.created_by == personas.supervisor
    assert job.status == ImportJob.Status.FAILED, (job.status, job.message, job.errors[:3])
    assert len(job.errors) == ImportJob.ERRORS_KEPT and job.error_count >= JUNK_ROWS, (job.message, job.errors[:3])
    assert model.objects.count() == before and IndicatorSystem.objects.count() == systems  # nothing imported
    assert Membership.objects.count() == memberships
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


def test_the_calendar_page_refuses_the_junk_workbook_at_once(junk_workbook, city, personas, login):
    from inspections.models import CalendarOverride, HolidaySchedule

    client = login(personas.supervisor)
    started = time.monotonic()
    response = client.post("/calendar/", {"form": "import", "i-file": SimpleUploadedFile("junk.xlsx", junk_workbook)},
                           follow=True)
    elapsed = time.monotonic() - started
    assert response.status_code == 200 and len(response.content) < 200_000
    assert "366" in response.content.decode()  # "at most 366 rows", not 100k row errors
    assert not CalendarOverride.objects.exists() and not HolidaySchedule.objects.exists()
    assert not ImportJob.objects.exists()
    print(f"\ncalendar page: {JUNK_ROWS} junk rows refused in {elapsed:.1f} s")


def _sheet(rows: list[list]) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    for row in rows:
        sheet.append(row)
    upload = io.BytesIO()
    book.save(upload)
    return upload.getvalue()


@pytest.mark.parametrize("path", ["accounts page", "accounts API"])
def test_a_valid_account_sheet_in_the_background_lands(path, city, personas, campaign, login, api, eager_worker,
                                                       settings, django_capture_on_commit_callbacks):
    settings.INLINE_IMPORT_BYTES = 0  # a small sheet stands for a large one
    sheet = _sheet([["姓名", "用户名", "手机", "单位编码", "角色"], ["王小明", "wxm", "13800000001", "C-A-1", "经办人"],
                    ["王小明", "wxm", "13800000001", "C-B", "测评员"], ["李四", "lisi", "", "C-A-1-1", "负责人"]])
    post, kind, _model = PATHS[path]
    client = api(personas.supervisor) if "API" in path else login(personas.supervisor)
    with django_capture_on_commit_callbacks(execute=True):
        job_id = post(client, SimpleUploadedFile("staff.xlsx", sheet), campaign)
    job = ImportJob.objects.get(pk=job_id)
    assert (job.kind, job.status, job.created_count, job.error_count) == (kind, ImportJob.Status.SUCCEEDED, 2, 0)
    roles = set(Membership.objects.filter(user__username__in=["wxm", "lisi"], active=True)
                .values_list("user__username", "unit__code", "role"))
    assert roles == {("wxm", "C-A-1", Membership.Role.HANDLER), ("wxm", "C-B", Membership.Role.INSPECTOR),
                     ("lisi", "C-A-1-1", Membership.Role.HEAD)}
    assert User.objects.get(username="wxm").history.first().history_user == personas.supervisor


def test_a_valid_score_sheet_in_the_background_lands_and_a_published_month_is_refused_at_once(
        city, personas, campaign, login, eager_worker, settings, django_capture_on_commit_callbacks):
    from scores import services

    settings.INLINE_IMPORT_BYTES = 0
    sheet = _sheet([["单位编码", "单位名称", "得分", "备注"], ["C-A", "东湖区", "88分", "好"], ["C-B", "", 91.5, ""]])
    client = login(personas.supervisor)
    with django_capture_on_commit_callbacks(execute=True):
        job_id = _page("/scores/entries/", file_field="i-file", form="import", **{
            "i-kind": "materials", "i-campaign": campaign.pk, "i-month": "2026-10"})(
            client, SimpleUploadedFile("scores.xlsx", sheet))
    job = ImportJob.objects.get(pk=job_id)
    assert (job.kind, job.status, job.created_count) == (ImportJob.Kind.SCORE_ENTRIES, ImportJob.Status.SUCCEEDED, 2)
    assert dict(MaterialsScore.objects.filter(campaign=campaign, month=dt.date(2026, 10, 1))
                .values_list("unit__code", "score")) == {"C-A": Decimal(88), "C-B": Decimal("91.5")}
    # A published month is refused before any job is queued (the page says why).
    services.scores_recompute(actor=personas.supervisor, campaign=campaign, month=dt.date(2026, 10, 1))
    services.scores_publish(actor=personas.supervisor, campaign=campaign, month=dt.date(2026, 10, 1))
    jobs = ImportJob.objects.count()
    response = client.post("/scores/entries/", {"form": "import", "i-kind": "survey", "i-campaign": campaign.pk,
                                                "i-month": "2026-10", "i-file": SimpleUploadedFile("s.xlsx", sheet)})
    assert response.status_code == 200 and ImportJob.objects.count() == jobs
    assert "2026-10" in response.content.decode()
