"""Remind the units that have not read a notice, exactly once per reminder.

Kept apart from the services so it can move onto the generic "remind each
object once per level" engine later. Two guarantees, both in the database:

- the reminder number is claimed with a conditional UPDATE
  (``reminders_sent = n`` → ``n + 1``): of two concurrent clicks on "remind"
  showing reminder n, exactly one claims it, the other is refused;
- a unit gets reminder n at most once: ``NoticeReminder`` is unique per
  (receipt, number), written in the same transaction as the claim and the
  inbox rows, so a failure leaves neither.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from civportal.errors import Conflict

from .models import Notice, NoticeReceipt, NoticeReminder


def claim_reminder(*, notice: Notice, expected: int) -> int:
    """Claim reminder number ``expected + 1``; returns it, or raises Conflict
    when someone else has just sent that reminder."""
    claimed = Notice.objects.filter(pk=notice.pk, reminders_sent=expected).update(reminders_sent=expected + 1)
    if claimed != 1:
        raise Conflict(_("This reminder has just been sent by someone else; reload the page."))
    return expected + 1


def remind_unread(*, actor, notice: Notice, expected: int | None = None) -> tuple[int, list[NoticeReceipt]]:
    """Send reminder number ``expected + 1`` (default: the next one) to every
    unit that has not read the notice. Returns (number, reminded receipts)."""
    from notifications.models import Event
    from notifications.services import Text, notify

    from .selectors import members_of

    if expected is None:
        expected = Notice.objects.values_list("reminders_sent", flat=True).get(pk=notice.pk)
    with transaction.atomic():
        number = claim_reminder(notice=notice, expected=expected)
        unread = list(NoticeReceipt.objects.filter(notice=notice, read_at__isnull=True).select_related("unit"))
        now = timezone.now()
        NoticeReminder.objects.bulk_create(
            [NoticeReminder(receipt=r, number=number, sent_at=now, sent_by=actor) for r in unread])
        if unread:
            notify(
                event=Event.NOTICE_REMINDER, recipients=members_of([r.unit_id for r in unread]),
                title=Text(gettext_lazy("Reminder: please read the notice “%(title)s”"), {"title": notice.title}),
                body=Text(gettext_lazy("%(sender)s reminds you to read this notice."), {"sender": notice.sender_unit.name}),
                url=notice_url(notice), target=notice,
            )
    return number, unread


def notice_url(notice: Notice) -> str:
    from django.urls import reverse

    return reverse("notices:notice_detail", args=[notice.pk])
