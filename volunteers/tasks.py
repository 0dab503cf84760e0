from celery import shared_task


@shared_task(name="volunteers.send_activity_reminders", acks_late=True)
def send_activity_reminders() -> int:
    """Daily: remind volunteers (with accounts) of tomorrow's activities, once per sign-up."""
    from .reminders import send_activity_reminders as send

    return send()
