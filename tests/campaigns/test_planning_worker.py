"""A real Celery worker on the real broker runs a queued import job end to end."""

import os
import subprocess
import sys
import time

import pytest
from django.core.files.base import ContentFile
from django.db import connection

from campaigns.models import ImportJob, Point

from .planning_helpers import point_types, xlsx


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_worker_runs_a_queued_point_import(city, personas, project_root, settings, tmp_path):
    from campaigns.tasks import run_import_job
    from civportal.celery import app

    point_types()
    upload = xlsx([["点位名称", "点位类型", "属地单位"]] + [[f"站{i}", "车站", city.street_a1.code] for i in range(5)])
    job = ImportJob(kind=ImportJob.Kind.POINTS, original_name="p.xlsx", created_by=personas.supervisor)
    job.file.save("p.xlsx", ContentFile(upload.read()), save=True)
    app.control.purge()
    run_import_job.delay(job_id=job.pk)

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
            if job.finished:
                break
            time.sleep(0.5)
    finally:
        worker.terminate()
        output = worker.communicate(timeout=20)[0].decode(errors="replace")
    assert job.status == ImportJob.Status.SUCCEEDED, (job.status, job.message, output[-2000:])
    assert job.progress == 100 and job.created_count == 5
    assert Point.objects.filter(name__startswith="站").count() == 5
