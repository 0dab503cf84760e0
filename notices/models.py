"""Notices (通知公告): how the campaign office directs its units — work
notices, supervision bulletins, meeting arrangements — with a read receipt
per unit, reminders to the units that have not read, and replies."""

from __future__ import annotations

import os
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from campaigns.models import Membership, Unit
from civportal.models import TimeStampedModel


def attachment_path(instance, filename: str) -> str:
    """A random stored name (the original name is kept on the row, shown on download)."""
    extension = os.path.splitext(filename)[1].lower()[:10]
    return f"notices/{timezone.now():%Y/%m}/{uuid.uuid4().hex}{extension}"


class NoticeQuerySet(models.QuerySet):
    def visible_to(self, user) -> NoticeQuerySet:
        """Notices sent to a unit where the user holds a role, and the notices
        published by the units they supervise."""
        if not getattr(user, "is_authenticated", False):
            return self.none()
        if user.is_superuser:
            return self
        from campaigns.scope import role_paths

        received = Exists(NoticeReceipt.objects.filter(
            notice=OuterRef("pk"), unit__in=Membership.objects.filter(user=user, active=True).values("unit_id")))
        supervised = role_paths(user, [Membership.Role.SUPERVISOR])
        sent = Q(pk__in=[])
        for path in supervised:
            sent |= Q(sender_unit__path__startswith=path)
        return self.filter(received | sent)

    def current(self, now=None) -> NoticeQuerySet:
        """Published and not expired."""
        now = now or timezone.now()
        return self.filter(status=Notice.Status.PUBLISHED).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))


class Notice(TimeStampedModel):
    """A notice published by a unit's campaign office to a set of units (a
    subtree, optionally only some kinds): title, body in Markdown, attachments,
    optionally a reply required by a date. Pinned notices stay on top; expired
    ones leave the inbox but stay on record."""

    class Kind(models.TextChoices):
        WORK = "work", _("Work notice")
        BULLETIN = "bulletin", _("Supervision bulletin")
        MEETING = "meeting", _("Meeting arrangement")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        PUBLISHED = "published", _("Published")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    title = models.CharField(_("Title"), max_length=200)
    kind = models.CharField(_("Kind"), max_length=20, choices=Kind.choices, default=Kind.WORK)
    body = models.TextField(_("Text"), blank=True, help_text=_("Markdown: **bold**, lists, links; HTML is shown as text."))
    sender_unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="sent_notices",
                                    verbose_name=_("Sending unit"))
    target_root = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="targeted_notices",
                                    verbose_name=_("Sent to (subtree of)"))
    target_kinds = models.JSONField(_("Unit kinds"), default=list, blank=True,
                                    help_text=_("Only units of these kinds; empty means every unit of the subtree."))
    status = models.CharField(_("Status"), max_length=20, choices=Status.choices, default=Status.PUBLISHED)
    published_at = models.DateTimeField(_("Published at"), default=timezone.now)
    pinned = models.BooleanField(_("Pinned"), default=False)
    expires_at = models.DateTimeField(_("Expires at"), null=True, blank=True)
    reply_required = models.BooleanField(_("Reply required"), default=False)
    reply_due_at = models.DateTimeField(_("Reply by"), null=True, blank=True)
    reminders_sent = models.PositiveIntegerField(_("Reminders sent"), default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="created_notices",
                                   verbose_name=_("Created by"))

    objects = NoticeQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        ordering = ["-pinned", "-published_at", "-id"]
        indexes = [
            # The sender's list: "notices of the units I supervise, newest first".
            models.Index(fields=["sender_unit", "-published_at"], name="notice_sender_time_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(reply_due_at__isnull=True) | Q(reply_required=True),
                                   name="notice_reply_due_needs_reply"),
        ]

    def __str__(self) -> str:
        return self.title

    def is_expired(self, now=None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())


class NoticeAttachment(models.Model):
    """A file sent with a notice (the plan, the meeting agenda, a form to fill in)."""

    notice = models.ForeignKey(Notice, on_delete=models.PROTECT, related_name="attachments", verbose_name=_("notice"))
    file = models.FileField(_("File"), upload_to=attachment_path, max_length=300)
    original_name = models.CharField(_("File name"), max_length=200)
    size = models.PositiveIntegerField(_("Size"), default=0)

    class Meta:
        verbose_name = _("notice attachment")
        verbose_name_plural = _("notice attachments")
        ordering = ["notice_id", "id"]

    def __str__(self) -> str:
        return self.original_name


class NoticeReceipt(models.Model):
    """One target unit of a notice: whether (and by whom, when) the unit has
    read it. The unit has read the notice as soon as one of its people opened it."""

    notice = models.ForeignKey(Notice, on_delete=models.PROTECT, related_name="receipts", verbose_name=_("notice"))
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="notice_receipts", verbose_name=_("Unit"))
    read_at = models.DateTimeField(_("Read at"), null=True, blank=True)
    read_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="+", verbose_name=_("Read by"))
    replied_at = models.DateTimeField(_("Replied at"), null=True, blank=True)

    class Meta:
        verbose_name = _("read receipt")
        verbose_name_plural = _("read receipts")
        ordering = ["notice_id", "unit__path"]
        constraints = [models.UniqueConstraint(fields=["notice", "unit"], name="notice_receipt_once_per_unit")]
        indexes = [
            # "Notices sent to my unit" (the inbox of notices).
            models.Index(fields=["unit", "notice"], name="notice_receipt_unit_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.notice_id} → {self.unit_id}"


class NoticeReply(models.Model):
    """A unit's answer to a notice that asks for one, with an optional file."""

    notice = models.ForeignKey(Notice, on_delete=models.PROTECT, related_name="replies", verbose_name=_("notice"))
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="notice_replies", verbose_name=_("Unit"))
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="notice_replies",
                               verbose_name=_("Author"))
    text = models.TextField(_("Text"))
    file = models.FileField(_("File"), upload_to=attachment_path, max_length=300, blank=True)
    original_name = models.CharField(_("File name"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("Created at"), default=timezone.now)

    class Meta:
        verbose_name = _("notice reply")
        verbose_name_plural = _("notice replies")
        ordering = ["notice_id", "created_at", "id"]

    def __str__(self) -> str:
        return f"{self.notice_id} · {self.unit_id}"


class NoticeReminder(models.Model):
    """Reminder number ``number`` of a notice reached this (unread) unit. The
    unique constraint is the guarantee that no reminder goes to a unit twice."""

    receipt = models.ForeignKey(NoticeReceipt, on_delete=models.PROTECT, related_name="reminders",
                                verbose_name=_("read receipt"))
    number = models.PositiveIntegerField(_("Reminder number"))
    sent_at = models.DateTimeField(_("Sent at"), default=timezone.now)
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                verbose_name=_("Sent by"))

    class Meta:
        verbose_name = _("notice reminder")
        verbose_name_plural = _("notice reminders")
        ordering = ["receipt_id", "number"]
        constraints = [models.UniqueConstraint(fields=["receipt", "number"], name="notice_reminder_once")]

    def __str__(self) -> str:
        return f"{self.receipt_id} #{self.number}"
