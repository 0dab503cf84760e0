from celery import shared_task


@shared_task(name="materials.build_archive", acks_late=True)
def build_archive(*, job_id: int) -> None:
    """Build one queued materials archive (idempotent: a claimed or finished job is skipped)."""
    from .archive import archive_job_run

    archive_job_run(job_id=job_id)
