"""A real Celery worker on the real broker builds a queued materials archive end to end."""

import io
import os
import subprocess
import sys
import time
import zipfile

import pytest
from django.db import connection

from materials import services
from materials.models import ArchiveJob

from .helpers import open_calls, pdf, submit, world


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_worker_builds_a_queued_archive(city, personas, project_root, settings):
    from civportal.celery import app

    w = world(city, personas)
    call = open_calls(w, personas, city, codes=("1.1.1.1",))[0]
    sub = call.submissions.get(unit=city.street_a1)
    submit(sub, w.clerk_a1, [pdf("台账.pdf")])
    sub.refresh_from_db()
    services.material_submission_review(actor=personas.supervisor, submission=sub)
    app.control.purge()
    job = services.archive_job_start(actor=personas.supervisor, campaign=w.campaign)  # queued on commit

    env = {**os.environ, "MEDIA_ROOT": str(settings.MEDIA_ROOT),
           "DATABASE_URL": f"postgres://{connection.settings_dict['USER']}@{connection.settings_dict['HOST']}:"
                           f"{connection.settings_dict['PORT']}/{connection.settings_dict['NAME']}"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "civportal", "worker", "--pool=solo", "--concurrency=1",
         "--without-heartbeat", "--without-mingle", "--without-gossip", "-l", "WARNING"],
        cwd=project_root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            job.refresh_from_db()
            if job.status in (ArchiveJob.Status.DONE, ArchiveJob.Status.FAILED):
                break
            time.sleep(0.5)
    finally:
        worker.terminate()
        output = worker.communicate(timeout=20)[0].decode(errors="replace")
    assert job.status == ArchiveJob.Status.DONE, (job.status, job.message, output[-2000:])
    with job.archive.open("rb") as handle:
        names = zipfile.ZipFile(io.BytesIO(handle.read())).namelist()
    assert sorted(names) == ["1 公共文明/1.1 文明宣传/1.1.1 公益广告/C-A-1-人民路街道-台账.pdf", "index.xlsx"]
