"""A real Celery worker process reads the stored evidence photos (issue 16,
acceptance 1): it builds the archive zip from the approved files, which it
reads from the storage the portal is configured with. Under
CIVPORTAL_TEST_STORAGE=s3 (the S3 job of .ci/run) that is a bucket on a moto
server over HTTP, and the test checks the photo is an object in the bucket
and not a file on this machine; otherwise the private folder on disk."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
import zipfile

import pytest
from django.conf import settings
from django.db import connection

from materials import services
from materials.models import ArchiveJob, MaterialFile

from .helpers import open_calls, png, submit, world

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _bucket_keys() -> set[str]:
    import boto3

    s3 = boto3.client("s3", endpoint_url=os.environ["AWS_S3_ENDPOINT_URL"],
                      region_name=os.environ.get("AWS_S3_REGION_NAME", "us-east-1"))
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=os.environ["AWS_STORAGE_BUCKET_NAME"])
    return {item["Key"] for page in pages for item in page.get("Contents", [])}


def _in_bucket(name: str) -> bool:
    """The storages keep their files under a prefix (``media/``, ``private/``) in the one bucket."""
    return any(key == name or key.endswith("/" + name) for key in _bucket_keys())


def test_a_real_worker_reads_the_stored_photo_into_the_archive(city, personas, project_root, on_postgresql, tmp_path):
    from civportal.celery import app

    w = world(city, personas)
    call = open_calls(w, personas, city, codes=("1.1.1.1",))[0]
    submission = call.submissions.get(unit=city.street_a1)
    submit(submission, w.clerk_a1, [png("现场照片.png")])
    submission.refresh_from_db()
    services.material_submission_review(actor=personas.supervisor, submission=submission)
    photo = MaterialFile.objects.get(submission=submission)
    with photo.file.open("rb") as handle:
        stored = handle.read()
    if os.environ.get("AWS_STORAGE_BUCKET_NAME"):  # the S3 job: an object in the bucket, nothing on disk
        assert _in_bucket(photo.file.name), _bucket_keys()
        on_disk = [root for folder in (settings.MEDIA_ROOT, getattr(settings, "PRIVATE_MEDIA_ROOT", "") or "")
                   if folder for root, _d, files in os.walk(folder) if photo.file.name.rsplit("/", 1)[-1] in files]
        assert on_disk == []

    app.control.purge()
    db = connection.settings_dict
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "MEDIA_ROOT": str(settings.MEDIA_ROOT),
           "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"}
    if getattr(settings, "PRIVATE_MEDIA_ROOT", None):  # the disk (not the S3 job): the same folders as this process
        env["PRIVATE_MEDIA_ROOT"] = str(settings.PRIVATE_MEDIA_ROOT)
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "civportal", "worker", "--pool=threads", "--concurrency=1",
         "--without-heartbeat", "--without-mingle", "--without-gossip", "-l", "INFO", "-n", "archive@%h"],
        cwd=project_root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    started = time.monotonic()
    try:
        job = services.archive_job_start(actor=personas.supervisor, campaign=w.campaign, unit=city.street_a1)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            job.refresh_from_db()
            if job.status in (ArchiveJob.Status.DONE, ArchiveJob.Status.FAILED):
                break
            assert worker.poll() is None, "the worker exited"
            time.sleep(0.3)
    finally:
        worker.terminate()
        output = worker.communicate(timeout=30)[0].decode(errors="replace")
    assert "materials.build_archive" in output and "succeeded" in output, output[-3000:]
    assert job.status == ArchiveJob.Status.DONE, (job.status, output[-3000:])
    with job.archive.open("rb") as handle:
        archive = zipfile.ZipFile(io.BytesIO(handle.read()))
    photos = [name for name in archive.namelist() if name.endswith(".png")]
    assert len(photos) == 1 and archive.read(photos[0]) == stored  # the worker read the very bytes stored
    if os.environ.get("AWS_STORAGE_BUCKET_NAME"):
        assert _in_bucket(job.archive.name), _bucket_keys()  # and wrote the zip back to the bucket
    print(f"\nworker archive from {'S3' if os.environ.get('AWS_STORAGE_BUCKET_NAME') else 'disk'}: "
          f"{time.monotonic() - started:.1f} s")
