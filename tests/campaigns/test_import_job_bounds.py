"""Import jobs stay bounded (issue 14, acceptance 6): a junk workbook fails
with the first 1,000 row errors and their count kept on the job, the full
list as an xlsx report; job lists never carry row errors, so fifty failed
100k-error jobs list in well under 1 MB."""

import io

import pytest
from django.core.files.base import ContentFile
from openpyxl import load_workbook

from campaigns.models import ImportJob
from campaigns.planning.jobs import _finish, import_job_run

from .planning_helpers import planned, xlsx

JUNK_ROWS = 5000  # each junk row gives at least one error: well past the 1,000 kept


@pytest.fixture
def plan(city, personas):
    return planned(city)


def test_a_junk_workbook_keeps_1000_errors_and_reports_them_all(plan, personas, login, settings,
                                                                django_capture_on_commit_callbacks):
    client = login(personas.supervisor)
    rows = [["点位名称", "点位类型", "属地单位"]] + [[f"=junk{i}", "不存在的类型", "火星区"] for i in range(JUNK_ROWS)]
    settings.INLINE_IMPORT_BYTES = 0
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/points/import/", {"file": xlsx(rows)})
    job = ImportJob.objects.get(pk=int(response.url.rstrip("/").rsplit("/", 1)[-1]))
    assert job.status == ImportJob.Status.QUEUED  # it went to the background
    import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED
    assert len(job.errors) == ImportJob.ERRORS_KEPT and job.error_count >= JUNK_ROWS
    assert client.get(f"/imports/{job.pk}/status.json").json()["errors"] == job.error_count
    report = client.get(f"/imports/{job.pk}/report.xlsx")
    assert report.status_code == 200
    book = load_workbook(io.BytesIO(b"".join(report.streaming_content)), read_only=True)
    assert sum(1 for _row in book.worksheets[0].iter_rows(min_row=2)) == job.error_count
    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert f"{job.error_count}" in page


def test_job_list_omits_row_errors_and_stays_small(personas, api, db):
    errors = [{"row": n, "column": "点位名称", "message": "点位类型“不存在的类型”不存在。" * 3} for n in range(100_000)]
    for n in range(50):
        job = ImportJob.objects.create(kind=ImportJob.Kind.POINTS, original_name=f"junk{n}.xlsx",
                                       created_by=personas.supervisor, file=ContentFile(b"x", name="junk.xlsx"))
        if n < 2:
            _finish(job, ImportJob.Status.FAILED, errors=errors, message="junk")
        else:  # as big as the job row can get now, without writing 48 more reports
            ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.FAILED, errors=errors[:1000],
                                                       error_count=len(errors))
    client = api(personas.supervisor)
    response = client.get("/api/v1/import-jobs/?limit=50")
    assert response.status_code == 200
    assert len(response.content) < 1_000_000, len(response.content)
    rows = response.json()["results"]
    assert len(rows) == 50 and all("errors" not in row and row["error_count"] == 100_000 for row in rows)
    detail = client.get(f"/api/v1/import-jobs/{rows[0]['id']}/").json()
    assert len(detail["errors"]) == 1000 and detail["error_count"] == 100_000
