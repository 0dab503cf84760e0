"""Reads for notices: the people of a set of units, lists with read state, the read matrix."""

from __future__ import annotations

from django.db.models import Count, Exists, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from campaigns.models import Membership, User

from .models import Notice, NoticeReceipt, NoticeReminder, NoticeReply


def members_of(unit_ids) -> QuerySet[User]:
    """Active people holding any role in one of the units (one query)."""
    return User.objects.filter(is_active=True, pk__in=Membership.objects.filter(
        unit_id__in=unit_ids, active=True).values("user_id"))


def my_unit_ids(user):
    return Membership.objects.filter(user=user, active=True).values("unit_id")


def notice_list(user) -> QuerySet[Notice]:
    """Notices the user sees, with ``is_read`` (for the units they belong to),
    ``receipt_count`` and ``read_count`` (for senders); no join fans out rows."""
    mine = NoticeReceipt.objects.filter(notice=OuterRef("pk"), unit__in=my_unit_ids(user))

    def count(read: bool | None):
        rows = NoticeReceipt.objects.filter(notice=OuterRef("pk"))
        if read is not None:
            rows = rows.filter(read_at__isnull=not read)
        return Coalesce(Subquery(rows.order_by().values("notice").annotate(n=Count("pk")).values("n"),
                                 output_field=IntegerField()), 0)

    return (Notice.objects.visible_to(user).select_related("sender_unit", "created_by")
            .annotate(addressed_to_me=Exists(mine), is_read=Exists(mine.filter(read_at__isnull=False)),
                      receipt_count=count(None), read_count=count(True)))


def receipts(notice: Notice) -> QuerySet[NoticeReceipt]:
    """The read matrix: one row per target unit with who read it, reminders and replies."""
    reminder_count = NoticeReminder.objects.filter(receipt=OuterRef("pk")).order_by().values("receipt").annotate(
        n=Count("pk")).values("n")
    reply_count = NoticeReply.objects.filter(notice=OuterRef("notice"), unit=OuterRef("unit")).order_by().values(
        "unit").annotate(n=Count("pk")).values("n")
    return (NoticeReceipt.objects.filter(notice=notice).select_related("unit", "read_by")
            .annotate(reminder_count=Coalesce(Subquery(reminder_count, output_field=IntegerField()), 0),
                      reply_count=Coalesce(Subquery(reply_count, output_field=IntegerField()), 0))
            .order_by("unit__path"))


def unread_notices_for_home(user, limit: int = 5) -> list[Notice]:
    """The home page's box: current notices to the user's units not yet read, pinned first."""
    from django.utils import timezone

    unread = NoticeReceipt.objects.filter(notice=OuterRef("pk"), unit__in=my_unit_ids(user), read_at__isnull=True)
    return list(Notice.objects.current(timezone.now()).filter(Exists(unread)).select_related("sender_unit")
                .order_by("-pinned", "-published_at", "-id")[:limit])


def can_send_for(user, notice: Notice) -> bool:
    """Whether the user is on the sending side (supervises the sending unit)."""
    from campaigns.scope import has_role

    return has_role(user, notice.sender_unit, [Membership.Role.SUPERVISOR])


__all__ = ["members_of", "notice_list", "receipts", "unread_notices_for_home", "can_send_for"]
