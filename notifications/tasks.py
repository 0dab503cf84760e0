"""Thin Celery tasks: ids in, one service call, idempotent (a redelivered
message finds its row already claimed or done and does nothing)."""

from celery import shared_task

from . import delivery, queueing


@shared_task(name="notifications.send_email", bind=True, acks_late=True, max_retries=None)
def send_email(self, *, notification_id: int) -> None:
    delay = delivery.email_send(notification_id=notification_id)
    if delay is not None:
        # Capped below the broker's visibility timeout (delivery.backoff); the sweeper backs this up.
        raise self.retry(countdown=delay)


@shared_task(name="notifications.deliver_webhook", bind=True, acks_late=True, max_retries=None)
def deliver_webhook(self, *, delivery_id: int) -> None:
    delay = delivery.webhook_deliver(delivery_id=delivery_id)
    if delay is not None:
        raise self.retry(countdown=delay)


@shared_task(name="notifications.deliver_many", acks_late=True)
def deliver_many(*, notification_ids: list[int], delivery_ids: list[int]) -> int:
    """Fan out one batch (bulk intake): one email task per notification and one
    webhook task per delivery, queued from the worker instead of the request.
    Anything not queued stays pending for the sweeper."""
    sent = 0
    for pk in notification_ids:
        sent += queueing.publish(send_email, notification_id=pk)
    for pk in delivery_ids:
        sent += queueing.publish(deliver_webhook, delivery_id=pk)
    return sent


@shared_task(name="notifications.sweep_pending", acks_late=True)
def sweep_pending() -> int:
    """Re-queue emails and webhook deliveries left pending (broker outage, lost retry)."""
    emails, hooks = delivery.pending_due()
    sent = 0
    for pk in emails:
        sent += queueing.publish(send_email, notification_id=pk)
    for pk in hooks:
        sent += queueing.publish(deliver_webhook, delivery_id=pk)
    return sent


@shared_task(name="notifications.scan_workitem_reminders", acks_late=True)
def scan_workitem_reminders() -> int:
    """Fan out one small task per work item with its due levels; returns the levels queued."""
    from . import workitems

    return len(workitems.scan().queued)


@shared_task(name="notifications.remind_workitem", acks_late=True)
def remind_workitem(*, workitem_id: int, levels: list[str] | None = None, level: str | None = None) -> list[str]:
    """Send a work item's due levels in ladder order (``level``: one, as older messages carry)."""
    from . import reminders, workitems

    return reminders.remind(workitems.LADDER, object_id=workitem_id, levels=levels or [level]).sent
