"""Writes for notifications: ``notify`` (inbox rows now, email and webhooks
queued after commit), reminder claims, read marks, preferences and webhook
subscriptions. Delivery itself (email, signed webhooks) is in ``delivery``."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from campaigns.models import Membership, Unit, User
from campaigns.scope import in_scope, user_roles

from . import queueing
from .models import (
    Channel, DeliveryStatus, Event, Notification, NotificationPreference, ReminderLog, WebhookDelivery,
    WebhookSubscription,
)


@dataclass
class Text:
    """A translatable message with parameters, rendered in each recipient's language.
    ``message`` is a lazy string (gettext_lazy); parameters may be lazy too."""

    message: Any
    params: dict = field(default_factory=dict)

    def render(self) -> str:
        text = str(self.message)
        if self.params:
            text = text % {key: str(value) for key, value in self.params.items()}
        return text


def _codes(title, body) -> dict:
    """The message codes of system texts (see ``messages``); free text has none."""
    from .messages import encode

    codes = {}
    for key, text in (("title", title), ("body", body)):
        if isinstance(text, Text):
            stored = encode(text.message, text.params)
            if stored is not None:
                codes[key] = stored
    return codes


def _render(text: Text | str | None) -> str:
    if text is None:
        return ""
    return text.render() if isinstance(text, Text) else str(text)


# Email is on unless the person turned it off (the in-app inbox is always on).
DEFAULT_EMAIL = True


def email_wanted(users: list[User], event: str) -> set[int]:
    """Ids of ``users`` who get ``event`` by email (one query)."""
    off = set(NotificationPreference.objects.filter(
        user__in=[u.pk for u in users], event=event, channel=Channel.EMAIL, enabled=not DEFAULT_EMAIL,
    ).values_list("user_id", flat=True))
    return {u.pk for u in users if u.email and ((u.pk in off) != DEFAULT_EMAIL)}


def notify(*, event: str, recipients: Iterable[User], title: Text | str, body: Text | str | None = None,
           url: str = "", target: models.Model | None = None, unit: Unit | None = None,
           data: dict | None = None, exclude: User | None = None) -> list[Notification]:
    """Tell ``recipients`` that ``event`` happened: an inbox row each (title
    and body in the recipient's language), an email for those whose
    preferences ask for it, and a signed webhook for every active
    subscription to the event (only those whose owner's scope covers ``unit``).
    Rows are written in the caller's transaction; email and webhooks are
    queued after it commits (never failing it)."""
    Event(event)  # unknown events are a programming error
    now = timezone.now()
    event_id = uuid.uuid4()
    users, seen = [], set()
    for user in recipients:
        if user is None or user.pk in seen or not user.is_active or (exclude is not None and user.pk == exclude.pk):
            continue
        seen.add(user.pk)
        users.append(user)
    target_type = ContentType.objects.get_for_model(target) if target is not None else None
    by_email = email_wanted(users, event) if users else set()
    codes = _codes(title, body)
    rows = []
    for user in users:
        with translation.override(user.language or None):
            rendered_title, rendered_body = _render(title)[:300], _render(body)
        rows.append(Notification(
            recipient=user, event=event, event_id=event_id, title=rendered_title, body=rendered_body, url=url,
            message=codes,
            target_type=target_type, target_id=target.pk if target is not None else None, created_at=now,
            email_status=DeliveryStatus.PENDING if user.pk in by_email else DeliveryStatus.NONE,
            email_next_attempt_at=now if user.pk in by_email else None,
        ))
    with transaction.atomic():
        created = Notification.objects.bulk_create(rows)
        deliveries = _webhook_deliveries(event, event_id, now, url, target, unit, data or {})
    queueing.publish_after_commit("notifications.send_email", [
        {"notification_id": n.pk} for n in created if n.email_status == DeliveryStatus.PENDING])
    queueing.publish_after_commit("notifications.deliver_webhook", [{"delivery_id": d.pk} for d in deliveries])
    return created


def _webhook_deliveries(event, event_id, now, url, target, unit, data, *, subscriptions=None,
                        save: bool = True) -> list[WebhookDelivery]:
    from django.conf import settings

    if subscriptions is None:
        subscriptions = WebhookSubscription.objects.filter(active=True).select_related("owner")
    subscriptions = [s for s in subscriptions
                     if s.wants(event) and s.owner.is_active and (unit is None or in_scope(s.owner, unit))]
    if not subscriptions:
        return []
    payload = {
        "id": str(event_id), "event": event, "created_at": now.isoformat(),
        "object": ({"type": f"{target._meta.app_label}.{target._meta.model_name}", "id": target.pk}
                   if target is not None else None),
        "url": f"{settings.SITE_URL}{url}" if url else "",
        "data": data,
    }
    rows = [
        WebhookDelivery(subscription=s, event=event, event_id=event_id, payload=payload, next_attempt_at=now,
                        created_at=now)
        for s in subscriptions
    ]
    return WebhookDelivery.objects.bulk_create(rows) if save else rows


@dataclass
class Message:
    """One occurrence for ``notify_many``: the same arguments as ``notify``."""

    event: str
    recipients: list
    title: Text | str
    body: Text | str | None = None
    url: str = ""
    target: models.Model | None = None
    unit: Unit | None = None
    data: dict | None = None
    exclude: User | None = None


def notify_many(messages: list[Message]) -> list[Notification]:
    """``notify`` for a batch of occurrences (bulk intake) with a fixed number
    of queries, however many messages: one for email preferences, one insert
    of inbox rows, one for webhook subscriptions, one insert of deliveries,
    and after commit one Celery message that fans out the deliveries in the
    worker. Each message keeps its own event id, as with ``notify``."""
    if not messages:
        return []
    now = timezone.now()
    plans = []
    everyone: dict[int, User] = {}
    for message in messages:
        Event(message.event)
        users, seen = [], set()
        for user in message.recipients:
            if user is None or user.pk in seen or not user.is_active or (
                    message.exclude is not None and user.pk == message.exclude.pk):
                continue
            seen.add(user.pk)
            users.append(user)
            everyone[user.pk] = user
        plans.append((message, uuid.uuid4(), users))
    events = {message.event for message in messages}
    off = set(NotificationPreference.objects.filter(
        user__in=list(everyone), event__in=events, channel=Channel.EMAIL, enabled=not DEFAULT_EMAIL,
    ).values_list("user_id", "event")) if everyone else set()
    rows = []
    for message, event_id, users in plans:
        target = message.target
        target_type = ContentType.objects.get_for_model(target) if target is not None else None
        codes = _codes(message.title, message.body)
        for user in users:
            by_email = bool(user.email) and (((user.pk, message.event) in off) != DEFAULT_EMAIL)
            with translation.override(user.language or None):
                rendered_title, rendered_body = _render(message.title)[:300], _render(message.body)
            rows.append(Notification(
                recipient=user, event=message.event, event_id=event_id, title=rendered_title, body=rendered_body,
                message=codes,
                url=message.url, target_type=target_type, target_id=target.pk if target is not None else None,
                created_at=now, email_status=DeliveryStatus.PENDING if by_email else DeliveryStatus.NONE,
                email_next_attempt_at=now if by_email else None,
            ))
    with transaction.atomic():
        created = Notification.objects.bulk_create(rows, batch_size=1000)
        subscriptions = [s for s in WebhookSubscription.objects.filter(active=True).select_related("owner")
                         if s.owner.is_active and any(s.wants(event) for event in events)]
        deliveries = []
        for message, event_id, _users in plans:
            deliveries += _webhook_deliveries(message.event, event_id, now, message.url, message.target,
                                              message.unit, message.data or {}, subscriptions=subscriptions,
                                              save=False)
        deliveries = WebhookDelivery.objects.bulk_create(deliveries, batch_size=1000) if deliveries else []
    emails = [n.pk for n in created if n.email_status == DeliveryStatus.PENDING]
    queueing.publish_after_commit("notifications.deliver_many", [
        {"notification_ids": emails, "delivery_ids": [d.pk for d in deliveries]}] if emails or deliveries else [])
    return created


# --- exactly once --------------------------------------------------------------------------


def reminder_claim(*, obj: models.Model, level: str) -> bool:
    """Record that ``obj`` reached ``level``; False when it already had.
    Call it inside the transaction that sends the reminder: the unique
    constraint makes a concurrent second claim wait for the first and then
    fail, so exactly one transaction ever sends a given level."""
    content_type = ContentType.objects.get_for_model(obj)
    try:
        with transaction.atomic():
            ReminderLog.objects.create(content_type=content_type, object_id=obj.pk, level=level)
    except IntegrityError:
        return False
    return True


def reminder_levels_logged(model: type[models.Model], object_ids: Iterable[int]) -> set[tuple[int, str]]:
    content_type = ContentType.objects.get_for_model(model)
    return set(ReminderLog.objects.filter(content_type=content_type, object_id__in=list(object_ids))
               .values_list("object_id", "level"))


# --- inbox ---------------------------------------------------------------------------------


def notification_mark_read(*, actor: User, notification: Notification, read: bool = True) -> Notification:
    if notification.recipient_id != actor.pk:
        raise PermissionDenied(_("This notification is not yours."))
    notification.read_at = (notification.read_at or timezone.now()) if read else None
    notification.save(update_fields=["read_at"])
    return notification


def notifications_mark_all_read(*, actor: User) -> int:
    return Notification.objects.for_user(actor).unread().update(read_at=timezone.now())


# --- preferences ---------------------------------------------------------------------------

EMAIL_EVENTS = [e for e in Event if e != Event.WEBHOOK_DISABLED]


def preferences_for(user: User) -> dict[str, bool]:
    """event → email on/off for ``user`` (defaults filled in)."""
    stored = dict(NotificationPreference.objects.filter(user=user, channel=Channel.EMAIL)
                  .values_list("event", "enabled"))
    return {event.value: stored.get(event.value, DEFAULT_EMAIL) for event in Event}


def preferences_set(*, actor: User, email: dict[str, bool]) -> dict[str, bool]:
    """Set which events ``actor`` receives by email. The inbox cannot be turned off."""
    unknown = set(email) - set(Event.values)
    if unknown:
        raise ValidationError(_("Unknown events: %(events)s") % {"events": ", ".join(sorted(unknown))})
    with transaction.atomic():
        for event, enabled in email.items():
            NotificationPreference.objects.update_or_create(
                user=actor, event=event, channel=Channel.EMAIL, defaults={"enabled": bool(enabled)})
    return preferences_for(actor)


# --- webhook subscriptions -----------------------------------------------------------------


def _require_subscriber(actor: User) -> None:
    if Membership.Role.SUPERVISOR not in user_roles(actor):
        raise PermissionDenied(_("Only the campaign office (supervisors) may manage webhooks."))


def _check_events(events: list[str]) -> list[str]:
    events = list(dict.fromkeys(events or []))
    unknown = set(events) - set(Event.values)
    if unknown:
        raise ValidationError({"events": _("Unknown events: %(events)s") % {"events": ", ".join(sorted(unknown))}})
    return events


def webhook_subscription_save(*, actor: User, subscription: WebhookSubscription | None = None, name: str,
                              url: str, events: list[str], active: bool = True) -> WebhookSubscription:
    """Create or change a subscription. Re-activating one that was disabled
    for failures starts its failure count afresh."""
    _require_subscriber(actor)
    if subscription is not None and subscription.owner_id != actor.pk and not actor.is_superuser:
        raise PermissionDenied(_("This subscription is not yours."))
    subscription = subscription or WebhookSubscription(owner=actor)
    subscription.name, subscription.url, subscription.events = name.strip(), url.strip(), _check_events(events)
    if not subscription.url.lower().startswith(("http://", "https://")):
        raise ValidationError({"url": _("Only http:// and https:// addresses can receive webhooks.")})
    if active and not subscription.active:
        subscription.failure_count, subscription.disabled_at, subscription.disabled_reason = 0, None, ""
    subscription.active = active
    subscription.full_clean()
    subscription.save()
    return subscription


def webhook_subscription_rotate_secret(*, actor: User, subscription: WebhookSubscription) -> WebhookSubscription:
    from .models import new_secret

    _require_subscriber(actor)
    if subscription.owner_id != actor.pk and not actor.is_superuser:
        raise PermissionDenied(_("This subscription is not yours."))
    subscription.secret = new_secret()
    subscription.save(update_fields=["secret", "updated_at"])
    return subscription


# --- events other apps emit ----------------------------------------------------------------


def notify_scores_published(*, campaign_id: int, month: str, unit_ids: Iterable[int], url: str = "",
                            actor: User | None = None) -> list[Notification]:
    """Tell the heads and handlers of each unit, its assigned leaders and the
    office that the monthly scores of ``month`` ("2026-11") are published.
    Called by the scoring job after it publishes a month (inside its
    transaction is fine: delivery waits for the commit)."""
    from django.utils.translation import gettext_lazy

    from django.db.models import Q

    from .recipients import ancestor_paths

    units = list(Unit.objects.filter(pk__in=list(unit_ids)))
    # One query for everyone: heads and handlers of the units themselves, and
    # assigned leaders and supervisors in the units or above them.
    over = {path for unit in units for path in ancestor_paths(unit)}
    people = list(
        User.objects.filter(is_active=True, memberships__active=True)
        .filter(
            Q(memberships__unit__in=units, memberships__role__in=[Membership.Role.HEAD, Membership.Role.HANDLER])
            | Q(memberships__unit__path__in=over,
                memberships__role__in=[Membership.Role.LEADER, Membership.Role.SUPERVISOR])
        )
        .exclude(pk=getattr(actor, "pk", None))
        .distinct()
        .order_by("pk")
    )
    return notify(
        event=Event.SCORE_PUBLISHED, recipients=people,
        title=Text(gettext_lazy("Monthly scores for %(month)s are published"), {"month": month}),
        body=Text(gettext_lazy("The civility index of %(month)s has been published. Open the portal to see your "
                       "unit's score and rank."), {"month": month}),
        url=url, data={"campaign_id": campaign_id, "month": month, "unit_ids": sorted(u.pk for u in units)},
    )
