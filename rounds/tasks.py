import datetime as dt

from celery import shared_task


@shared_task(name="rounds.scan_schedules", acks_late=True)
def scan_schedules() -> int:
    """Fan out one small task per schedule occurrence that is due and not yet an inspection."""
    from notifications import queueing

    from .services import due_occurrences

    due = due_occurrences()
    for schedule_id, occurs_on in due:
        queueing.publish(materialize_occurrence, schedule_id=schedule_id, occurs_on=occurs_on.isoformat())
    return len(due)


@shared_task(name="rounds.materialize_occurrence", acks_late=True)
def materialize_occurrence(*, schedule_id: int, occurs_on: str) -> int | None:
    """Turn one occurrence into its inspection (idempotent: a second run, or a racing one, makes nothing)."""
    from .services import occurrence_materialize

    occurrence = occurrence_materialize(schedule_id=schedule_id, occurs_on=dt.date.fromisoformat(occurs_on))
    return occurrence.inspection_id if occurrence else None
