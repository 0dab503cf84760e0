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
