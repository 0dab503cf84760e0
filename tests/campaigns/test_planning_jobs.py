"""Background imports: the job row, its progress, its report, the Celery hand-off."""

import io

import pytest
from openpyxl import load_workbook

from campaigns.models import ImportJob, Point, WorkItem
from campaigns.planning.jobs import import_job_run

from .planning_helpers import planned, xlsx


@pytest.fixture
def plan(city, personas):
    return planned(city)


def start(client, url, upload, settings, django_capture_on_commit_callbacks):
    settings.INLINE_IMPORT_BYTES = 0  # everything goes to the background
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"file": upload})
    assert response.status_code == 302
    return ImportJob.objects.get(pk=int(response.url.rstrip("/").rsplit("/", 1)[-1]))


def test_large_point_import_runs_as_a_job_with_progress_and_report(plan, personas, login, city, settings,
                                                                   django_capture_on_commit_callbacks):
    client = login(personas.supervisor)
    rows = [["点位名称", "点位类型", "属地单位"]] + [[f"点{i}", "车站", city.street_a1.code] for i in range(30)]
    job = start(client, "/points/import/", xlsx(rows), settings, django_capture_on_commit_callbacks)
    assert job.status == ImportJob.Status.QUEUED and job.message == ""  # queued on the real broker
    status = client.get(f"/imports/{job.pk}/status.json").json()
    assert status["status"] == "queued" and status["finished"] is False
    assert 'data-status-url="/imports/' in client.get(f"/imports/{job.pk}/").content.decode()

    import_job_run(job_id=job.pk)
    assert import_job_run(job_id=job.pk) is None  # a finished job is not run twice
    status = client.get(f"/imports/{job.pk}/status.json").json()
    assert (status["status"], status["progress"], status["created"]) == ("succeeded", 100, 30)
    assert Point.objects.filter(name__startswith="点").count() == 30


def test_a_bad_ledger_job_fails_with_a_downloadable_row_report(plan, personas, login, settings,
                                                              django_capture_on_commit_callbacks):
    client = login(personas.supervisor)
    rows = [["工作任务", "牵头单位", "完成时限"], ["a", "火星区", "2026-06-30"], ["b", "火星区", "明天"]]
    before = WorkItem.objects.count()
    job = start(client, f"/campaigns/{plan.campaign.pk}/ledger/import/", xlsx(rows), settings,
                django_capture_on_commit_callbacks)
    import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED and len(job.errors) == 3
    assert WorkItem.objects.count() == before
    report = client.get(f"/imports/{job.pk}/report.xlsx")
    sheet = load_workbook(io.BytesIO(b"".join(report.streaming_content))).worksheets[0]
    values = [tuple(c.value for c in row) for row in sheet.iter_rows(min_row=2)]
    assert [v[:2] for v in values] == [(2, "牵头单位"), (3, "牵头单位"), (3, "完成时限")]


def test_other_users_cannot_see_a_job(plan, personas, login, settings, django_capture_on_commit_callbacks):
    client = login(personas.supervisor)
    job = start(client, "/points/import/", xlsx([["点位名称", "点位类型", "属地单位"]]), settings,
                django_capture_on_commit_callbacks)
    other = login(personas.handler_a)
    for url in [f"/imports/{job.pk}/", f"/imports/{job.pk}/status.json", f"/imports/{job.pk}/report.xlsx"]:
        assert other.get(url).status_code == 404
