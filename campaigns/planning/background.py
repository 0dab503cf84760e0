"""Starting a background import: record the job, queue the task after commit.
The task (campaigns.tasks) runs ``jobs.import_job_run``; this module sits above
it so that the import code never imports the task that calls it."""

from __future__ import annotations

from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from ..models import ImportJob, User


def import_job_start(*, actor: User, kind: str, upload, params: dict) -> ImportJob:
    """Record a background import and queue it once the row is committed. A
    broker outage leaves the job queued (and says so) rather than failing the request."""
    job = ImportJob(kind=kind, original_name=(upload.name or "upload.xlsx")[:200], params=params, created_by=actor)
    job.file.save(f"{kind}.xlsx", upload, save=False)
    job.save()

    def _queue():
        from ..tasks import run_import_job  # upward on purpose: nothing below the task imports this module

        try:
            run_import_job.delay(job_id=job.pk)
        except Exception:  # noqa: BLE001 — the broker is down; the job row says so
            ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.QUEUED).update(
                message=_("The background worker could not be reached; start the import again later.")
            )

    transaction.on_commit(_queue)
    return job


def job_page_starter(request, kind: str, params: dict | None = None):
    """For ``civportal.forms.import_page(background=…)``: start a background import of ``kind`` for
    the request's user and give the URL of the job's progress page."""

    def start(upload) -> str:
        job = import_job_start(actor=request.user, kind=kind, upload=upload, params=params or {})
        return reverse("campaigns:import_job", args=[job.pk])

    return start
