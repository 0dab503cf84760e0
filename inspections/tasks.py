"""Celery tasks of the rectification loop: thin, ids in, idempotent."""

from celery import shared_task


@shared_task(name="inspections.scan_task_reminders", acks_late=True)
def scan_task_reminders() -> int:
    """Beat: find the tasks whose reminder or escalation level is due and fan out."""
    from . import reminders

    return len(reminders.run_scan())


@shared_task(name="inspections.remind_task", acks_late=True)
def remind_task(*, task_id: int, level: str) -> bool:
    """Send one level for one task (a second delivery of the message does nothing)."""
    from . import reminders

    return reminders.task_remind(task_id=task_id, level=level)


@shared_task(name="inspections.findings_created", acks_late=True)
def findings_created(*, finding_ids: list[int]) -> None:
    """finding.created for a bulk intake batch: inbox rows, emails and webhooks
    for every new finding, batched (a redelivered message skips those done)."""
    from . import notify

    notify.findings_created(finding_ids)
