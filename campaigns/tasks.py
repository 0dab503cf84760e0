from celery import shared_task


@shared_task(name="campaigns.run_import_job", acks_late=True)
def run_import_job(*, job_id: int) -> None:
    """Run one queued spreadsheet import (idempotent: a finished job is skipped)."""
    from .planning.jobs import import_job_run

    import_job_run(job_id=job_id)
