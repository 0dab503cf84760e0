from celery import shared_task


@shared_task(name="materials.build_archive", acks_late=True)
def build_archive(*, job_id: int) -> None:
    """Build one queued materials archive (idempotent: a claimed or finished job is skipped)."""
    from .archive import archive_job_run

    archive_job_run(job_id=job_id)


@shared_task(name="materials.scan_call_reminders", acks_late=True)
def scan_call_reminders() -> int:
    """Fan out one small task per owed answer × level that is due."""
    from notifications import queueing

    from .reminders import due_reminders

    due = due_reminders()
    for submission_id, level in due:
        queueing.publish(remind_submission, submission_id=submission_id, level=level)
    return len(due)


@shared_task(name="materials.remind_submission", acks_late=True)
def remind_submission(*, submission_id: int, level: str) -> bool:
    from .reminders import submission_remind

    return submission_remind(submission_id=submission_id, level=level)
