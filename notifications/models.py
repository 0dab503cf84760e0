"""Notifications: the in-app inbox, per-user channel preferences, outbound
webhooks with their delivery log, and the reminder log that guarantees a
reminder is sent once per object and level."""

from __future__ import annotations

import functools
import secrets
import uuid

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import connection, connections, models, router
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from civportal.models import TimeStampedModel


class Event(models.TextChoices):
    """What happened. Webhook subscribers choose among these; users choose channels per event."""

    FINDING_CREATED = "finding.created", _("new finding recorded")
    TASK_DISPATCHED = "task.dispatched", _("task dispatched")
    TASK_STATUS_CHANGED = "task.status_changed", _("task status changed")
    TASK_DUE_SOON = "task.due_soon", _("task due soon")
    TASK_OVERDUE = "task.overdue", _("task overdue")
    TASK_ESCALATED = "task.escalated", _("task escalated (督办)")
    SCORE_PUBLISHED = "score.published", _("monthly scores published")
    WORKITEM_DUE_SOON = "workitem.due_soon", _("work item due soon")
    WORKITEM_OVERDUE = "workitem.overdue", _("work item overdue")
    ACTIVITY_REMINDER = "activity.reminder", _("volunteer activity tomorrow")
    WEBHOOK_DISABLED = "webhook.disabled", _("webhook subscription disabled")
    NOTICE_PUBLISHED = "notice.published", _("notice published")
    NOTICE_REMINDER = "notice.reminder", _("notice reminder")
    APPEAL_DECIDED = "appeal.decided", _("appeal decided")


class Channel(models.TextChoices):
    IN_APP = "in_app", _("in-app inbox")
    EMAIL = "email", _("email")


class DeliveryStatus(models.TextChoices):
    NONE = "none", _("not sent on this channel")
    PENDING = "pending", _("pending")
    SENT = "sent", _("sent")
    FAILED = "failed", _("failed")


class NotificationQuerySet(models.QuerySet):
    def for_user(self, user) -> NotificationQuerySet:
        """A person sees only their own notifications (superusers included)."""
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.filter(recipient=user)

    def unread(self) -> NotificationQuerySet:
        return self.filter(read_at__isnull=True)


class Notification(models.Model):
    """One message in one person's inbox, in their language; the email copy
    (if their preferences ask for one) is tracked on the same row."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="notifications", verbose_name=_("recipient")
    )
    event = models.CharField(_("event"), max_length=40, choices=Event.choices)
    event_id = models.UUIDField(_("event id"), default=uuid.uuid4, editable=False,
                                help_text=_("The same for every recipient and webhook of one occurrence."))
    title = models.CharField(_("title"), max_length=300)
    body = models.TextField(_("text"), blank=True)
    url = models.CharField(_("link"), max_length=500, blank=True)
    target_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, null=True, blank=True,
                                    verbose_name=_("object type"))
    target_id = models.PositiveBigIntegerField(_("object id"), null=True, blank=True)
    target = GenericForeignKey("target_type", "target_id")
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    email_status = models.CharField(_("email"), max_length=10, choices=DeliveryStatus.choices,
                                    default=DeliveryStatus.NONE)
    email_attempts = models.PositiveSmallIntegerField(_("email attempts"), default=0)
    email_next_attempt_at = models.DateTimeField(_("next email attempt"), null=True, blank=True)
    email_sent_at = models.DateTimeField(_("email sent at"), null=True, blank=True)
    email_error = models.CharField(_("last email error"), max_length=300, blank=True)
    # {"title": {"msgid", "params"}, "body": {…}}: system texts rendered in the reader's language
    # (notifications/messages.py); empty for free text and for rows from before the codes.
    message = models.JSONField(_("message codes"), default=dict, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [
            # The inbox (newest first) and the unread count of the bell.
            models.Index(fields=["recipient", "-created_at"], name="notif_recipient_time_idx"),
            models.Index(fields=["recipient"], condition=Q(read_at__isnull=True), name="notif_unread_idx"),
            # The sweeper: emails still to send.
            models.Index(fields=["email_next_attempt_at"], condition=Q(email_status="pending"),
                         name="notif_email_pending_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_read(self) -> bool:
        return self.read_at is not None

    @property
    def display_title(self) -> str:
        """The title in the active language (the stored text for free text and old rows)."""
        from .messages import render

        return render((self.message or {}).get("title"), self.title)

    @property
    def display_body(self) -> str:
        from .messages import render

        return render((self.message or {}).get("body"), self.body)


@functools.cache
def _unread_sql() -> str:
    """``Notification.objects.for_user(user).unread().count()`` as one plain statement, written once per
    process from the model's names (served by ``notif_unread_idx``)."""
    quote, meta = connection.ops.quote_name, Notification._meta
    column = lambda name: quote(meta.get_field(name).column)  # noqa: E731
    return (f"SELECT COUNT(*) FROM {quote(meta.db_table)} "
            f"WHERE {column('recipient')} = %s AND {column('read_at')} IS NULL")


def unread_count(user_id) -> int:
    """The bell's figure on a page whose user came from the shared cache: one statement, no ORM query
    compiled per page (read where the ORM would read it: the router's database for notifications)."""
    with connections[router.db_for_read(Notification)].cursor() as cursor:
        cursor.execute(_unread_sql(), [user_id])
        return cursor.fetchone()[0]


class NotificationPreference(models.Model):
    """Whether a person wants ``event`` on ``channel``. Without a row the
    default applies (email on). The in-app inbox is always on."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="notification_preferences", verbose_name=_("user"))
    event = models.CharField(_("event"), max_length=40, choices=Event.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    enabled = models.BooleanField(_("enabled"), default=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")
        constraints = [
            models.UniqueConstraint(fields=["user", "event", "channel"], name="notifpref_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.event} · {self.channel}: {self.enabled}"


def new_secret() -> str:
    return secrets.token_urlsafe(32)


class WebhookSubscriptionQuerySet(models.QuerySet):
    def for_user(self, user) -> WebhookSubscriptionQuerySet:
        """A person manages their own subscriptions; superusers see all."""
        if not getattr(user, "is_authenticated", False):
            return self.none()
        if user.is_superuser:
            return self
        return self.filter(owner=user)


class WebhookSubscription(TimeStampedModel):
    """An external system that wants events POSTed to ``url``, signed with ``secret``."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                              related_name="webhook_subscriptions", verbose_name=_("owner"))
    name = models.CharField(_("name"), max_length=100)
    url = models.URLField(_("URL"), max_length=500)
    events = models.JSONField(_("events"), default=list, help_text=_("Event types to send; empty means all."))
    secret = models.CharField(_("secret"), max_length=100, default=new_secret,
                              help_text=_("Shared secret for the HMAC-SHA256 signature."))
    active = models.BooleanField(_("active"), default=True)
    failure_count = models.PositiveIntegerField(_("consecutive failures"), default=0)
    disabled_at = models.DateTimeField(_("disabled at"), null=True, blank=True)
    disabled_reason = models.CharField(_("reason for disabling"), max_length=300, blank=True)

    objects = WebhookSubscriptionQuerySet.as_manager()

    class Meta:
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def wants(self, event: str) -> bool:
        return self.active and (not self.events or event in self.events)


class WebhookDeliveryQuerySet(models.QuerySet):
    def for_user(self, user) -> WebhookDeliveryQuerySet:
        if not getattr(user, "is_authenticated", False):
            return self.none()
        if user.is_superuser:
            return self
        return self.filter(subscription__owner=user)


class WebhookDelivery(models.Model):
    """One event for one subscription: the delivery log, with every attempt's outcome."""

    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.PROTECT, related_name="deliveries",
                                     verbose_name=_("subscription"))
    event = models.CharField(_("event"), max_length=40, choices=Event.choices)
    event_id = models.UUIDField(_("event id"))
    payload = models.JSONField(_("payload"))
    status = models.CharField(_("status"), max_length=10, choices=DeliveryStatus.choices,
                              default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    response_code = models.PositiveSmallIntegerField(_("response code"), null=True, blank=True)
    error = models.CharField(_("last error"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    objects = WebhookDeliveryQuerySet.as_manager()

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["subscription", "event_id"], name="webhookdelivery_once_per_event"),
        ]
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=Q(status="pending"), name="webhook_pending_idx"),
            models.Index(fields=["subscription", "-created_at"], name="webhook_sub_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.subscription_id} ({self.status})"


class ReminderLog(models.Model):
    """A reminder (or escalation) level reached by one object — a
    rectification task, a work item, a volunteer sign-up. The unique
    constraint is the guarantee that no level is ever sent twice."""

    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, verbose_name=_("object type"))
    object_id = models.PositiveBigIntegerField(_("object id"))
    target = GenericForeignKey("content_type", "object_id")
    level = models.CharField(_("level"), max_length=30)
    created_at = models.DateTimeField(_("sent at"), default=timezone.now)

    class Meta:
        verbose_name = _("reminder log entry")
        verbose_name_plural = _("reminder log")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["content_type", "object_id", "level"], name="reminderlog_once"),
        ]

    def __str__(self) -> str:
        return f"{self.content_type_id}:{self.object_id} {self.level}"
