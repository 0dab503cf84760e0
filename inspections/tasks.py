"""Celery tasks of the rectification loop: thin, ids in, idempotent."""

from celery import shared_task


@shared_task(name="inspections.scan_task_reminders", acks_late=True)
def scan_task_reminders() -> int:
    """Beat: find the tasks whose reminder or escalation level is due and fan out."""
    from . import reminders

    return len(reminders.run_scan())


@shared_task(name="inspections.remind_task", acks_late=True)
def remind_task(*, task_id: int, levels: list[str] | None = None, level: str | None = None) -> list[str]:
    """Send a task's due levels in ladder order (``level``: one, as older messages
    carry); a second delivery of the message sends nothing. Returns the levels sent."""
    from notifications import reminders as engine

    from .reminders import LADDER

    return engine.remind(LADDER, object_id=task_id, levels=levels or [level]).sent


@shared_task(name="inspections.findings_created", acks_late=True)
def findings_created(*, finding_ids: list[int]) -> None:
    """finding.created for a bulk intake batch: inbox rows, emails and webhooks
    for every new finding, batched (a redelivered message skips those done)."""
    from . import notify

    notify.findings_created(finding_ids)


@shared_task(name="inspections.run_recheck_rules", acks_late=True)
def run_recheck_rules() -> int:
    """Beat, every morning: each active 回头看 rule draws its re-checks once a day (a second
    delivery, or a second beat, finds the day's run made and draws nothing)."""
    from . import rechecks

    return rechecks.run_active_rules()
