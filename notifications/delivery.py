"""Delivering notifications: email in the recipient's language, and signed
webhooks. Each delivery first *claims* its row with a conditional UPDATE
(a lease), so a message delivered twice, or re-queued by the sweeper while
the first copy still runs, sends once.

Webhook requests carry::

    Content-Type: application/json
    X-Civportal-Event: task.overdue
    X-Civportal-Event-Id: <uuid, the same for every subscriber of one occurrence>
    X-Civportal-Delivery: <delivery id>
    X-Civportal-Timestamp: <unix seconds>
    X-Civportal-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + raw body)>
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string, select_template
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_lazy

from .models import DeliveryStatus, Event, Notification, WebhookDelivery, WebhookSubscription

logger = logging.getLogger(__name__)

# Settings (see docs/notifications.md); all overridable in settings.py / the environment.


def _setting(name: str, default):
    return getattr(settings, name, default)


def backoff(attempt: int) -> int:
    """Seconds before retry ``attempt`` (1-based): exponential, capped well
    below the broker's visibility timeout so a waiting retry is never redelivered."""
    cap = min(_setting("NOTIFY_RETRY_MAX_DELAY", 900),
              int(settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout", 3600)) // 2)
    return int(min(cap, _setting("NOTIFY_RETRY_BASE_DELAY", 30) * 2 ** max(attempt - 1, 0)))


def _claim(model, pk: int, *, status_field: str, time_field: str, attempts_field: str, lease: int) -> bool:
    now = timezone.now()
    return bool(model.objects.filter(
        pk=pk, **{status_field: DeliveryStatus.PENDING, f"{time_field}__lte": now + dt.timedelta(seconds=1)},
    ).update(**{time_field: now + dt.timedelta(seconds=lease), attempts_field: F(attempts_field) + 1}))


# --- email ---------------------------------------------------------------------------------


def template_name(event: str) -> str:
    return event.replace(".", "-").replace("_", "-")


def render_email(notification: Notification) -> tuple[str, str, str]:
    """(subject, text body, HTML body) in the recipient's language."""
    recipient = notification.recipient
    name = template_name(notification.event)
    context = {
        "notification": notification, "recipient": recipient, "title": notification.title,
        "body": notification.body, "link": f"{settings.SITE_URL}{notification.url}" if notification.url else "",
        "site_url": settings.SITE_URL, "portal_name": settings.PORTAL_NAME,
        "preferences_link": f"{settings.SITE_URL}/notifications/preferences/",
    }
    with translation.override(recipient.language or settings.LANGUAGE_CODE):
        subject = render_to_string(select_template(
            [f"emails/{name}-subject.txt", "emails/notification-subject.txt"]).template.name, context)
        text = render_to_string(select_template(
            [f"emails/{name}-body.txt", "emails/notification-body.txt"]).template.name, context)
        html = render_to_string(select_template(
            [f"emails/{name}-body.html", "emails/notification-body.html"]).template.name, context)
    return " ".join(subject.split())[:250], text, html


def email_send(*, notification_id: int) -> int | None:
    """Send the email copy of one notification. Returns the seconds to wait
    before a retry, or None when done (sent, failed for good, or not ours to send)."""
    lease = _setting("NOTIFY_EMAIL_LEASE", 120)
    if not _claim(Notification, notification_id, status_field="email_status", time_field="email_next_attempt_at",
                  attempts_field="email_attempts", lease=lease):
        return None
    notification = Notification.objects.select_related("recipient").get(pk=notification_id)
    try:
        subject, text, html = render_email(notification)
        message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [notification.recipient.email])
        message.attach_alternative(html, "text/html")
        message.send()
    except Exception as exc:  # noqa: BLE001 — SMTP, template or network; logged and retried
        logger.warning("email for notification %s failed: %s", notification_id, exc)
        failed = notification.email_attempts >= _setting("NOTIFY_EMAIL_MAX_ATTEMPTS", 5)
        delay = backoff(notification.email_attempts)
        Notification.objects.filter(pk=notification_id).update(
            email_status=DeliveryStatus.FAILED if failed else DeliveryStatus.PENDING,
            email_next_attempt_at=None if failed else timezone.now() + dt.timedelta(seconds=delay),
            email_error=str(exc)[:300],
        )
        return None if failed else delay
    Notification.objects.filter(pk=notification_id).update(
        email_status=DeliveryStatus.SENT, email_sent_at=timezone.now(), email_next_attempt_at=None, email_error="")
    return None


# --- webhooks ------------------------------------------------------------------------------


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(secret: str, timestamp: str, body: bytes, signature: str, *, tolerance: int = 300,
                     now: float | None = None) -> bool:
    """What a receiver does (also used by our tests): recompute and compare in
    constant time, and refuse stale timestamps (replays)."""
    try:
        age = abs((now or time.time()) - int(timestamp))
    except (TypeError, ValueError):
        return False
    return age <= tolerance and hmac.compare_digest(sign(secret, timestamp, body), signature or "")


def encode_payload(payload: dict) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # a webhook answer is final: never re-POST elsewhere
        return None


_opener = urllib.request.build_opener(_NoRedirect)


class AddressNotAllowed(Exception):
    pass


def check_address(url: str) -> None:
    """Refuse loopback, private, link-local and reserved addresses unless
    WEBHOOK_ALLOW_PRIVATE_ADDRESSES (default: only in DEBUG): a webhook must
    not become a way to probe the office's internal network."""
    import ipaddress
    import socket
    from urllib.parse import urlsplit

    if _setting("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", settings.DEBUG):
        return
    parts = urlsplit(url)
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    except (socket.gaierror, UnicodeError) as exc:
        raise AddressNotAllowed(f"cannot resolve {parts.hostname}: {exc}") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise AddressNotAllowed(f"address {address} is not public")


def _post(url: str, body: bytes, headers: dict, timeout: float) -> int:
    check_address(url)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _opener.open(request, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def webhook_deliver(*, delivery_id: int) -> int | None:
    """POST one delivery. Returns the seconds before a retry, or None when done."""
    timeout = _setting("WEBHOOK_TIMEOUT", 10)
    if not _claim(WebhookDelivery, delivery_id, status_field="status", time_field="next_attempt_at",
                  attempts_field="attempts", lease=int(timeout) + 30):
        return None
    delivery = WebhookDelivery.objects.select_related("subscription").get(pk=delivery_id)
    subscription = delivery.subscription
    now = timezone.now()
    if not subscription.active:
        WebhookDelivery.objects.filter(pk=delivery_id).update(
            status=DeliveryStatus.FAILED, error="subscription disabled", last_attempt_at=now)
        return None
    body = encode_payload(delivery.payload)
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json", "User-Agent": "civportal-webhooks/1",
        "X-Civportal-Event": delivery.event, "X-Civportal-Event-Id": str(delivery.event_id),
        "X-Civportal-Delivery": str(delivery.pk), "X-Civportal-Timestamp": timestamp,
        "X-Civportal-Signature": sign(subscription.secret, timestamp, body),
    }
    code, error = None, ""
    try:
        code = _post(subscription.url, body, headers, timeout)
    except Exception as exc:  # noqa: BLE001 — connection refused, timeout, DNS…
        error = str(exc)[:300] or exc.__class__.__name__
    if code is not None and 200 <= code < 300:
        WebhookDelivery.objects.filter(pk=delivery_id).update(
            status=DeliveryStatus.SENT, response_code=code, delivered_at=now, last_attempt_at=now, error="")
        WebhookSubscription.objects.filter(pk=subscription.pk).update(failure_count=0)
        return None
    error = error or f"HTTP {code}"
    failed = delivery.attempts >= _setting("WEBHOOK_MAX_ATTEMPTS", 6)
    delay = backoff(delivery.attempts)
    WebhookDelivery.objects.filter(pk=delivery_id).update(
        status=DeliveryStatus.FAILED if failed else DeliveryStatus.PENDING, response_code=code, error=error,
        last_attempt_at=now, next_attempt_at=now + dt.timedelta(seconds=0 if failed else delay),
    )
    logger.warning("webhook delivery %s to %s failed (attempt %s): %s", delivery_id, subscription.url,
                   delivery.attempts, error)
    _count_failure(subscription.pk)
    return None if failed else delay


def _count_failure(subscription_id: int) -> None:
    """Count a consecutive failure; past the limit, disable the subscription and tell its owner."""
    from .services import Text, notify

    limit = _setting("WEBHOOK_DISABLE_AFTER", 10)
    with transaction.atomic():
        subscription = WebhookSubscription.objects.select_for_update().select_related("owner").get(
            pk=subscription_id)
        subscription.failure_count += 1
        fields = ["failure_count"]
        disable = subscription.active and subscription.failure_count >= limit
        if disable:
            subscription.active, subscription.disabled_at = False, timezone.now()
            with translation.override(subscription.owner.language or settings.LANGUAGE_CODE):
                subscription.disabled_reason = gettext("%(count)s failed deliveries in a row") % {
                    "count": subscription.failure_count}
            fields += ["active", "disabled_at", "disabled_reason"]
        subscription.save(update_fields=fields + ["updated_at"])
        if disable:
            WebhookDelivery.objects.filter(subscription=subscription, status=DeliveryStatus.PENDING).update(
                status=DeliveryStatus.FAILED, error="subscription disabled")
            notify(
                event=Event.WEBHOOK_DISABLED, recipients=[subscription.owner],
                title=Text(gettext_lazy("Webhook “%(name)s” was disabled"), {"name": subscription.name}),
                body=Text(gettext_lazy("%(count)s deliveries in a row to %(url)s failed, so the subscription was "
                               "disabled. Fix the receiver, then re-activate it on the webhooks page."),
                          {"count": subscription.failure_count, "url": subscription.url}),
                url=f"/notifications/webhooks/{subscription.pk}/", target=subscription,
            )


# --- the sweeper ---------------------------------------------------------------------------


def pending_due(now: dt.datetime | None = None) -> tuple[list[int], list[int]]:
    """Emails and webhook deliveries whose turn has come but that no message
    is carrying (the broker was down, or a retry message was lost)."""
    now = now or timezone.now()
    grace = now - dt.timedelta(seconds=_setting("NOTIFY_SWEEP_GRACE", 60))
    emails = list(Notification.objects.filter(email_status=DeliveryStatus.PENDING, email_next_attempt_at__lte=grace)
                  .order_by("email_next_attempt_at").values_list("pk", flat=True)[:500])
    hooks = list(WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=grace)
                 .order_by("next_attempt_at").values_list("pk", flat=True)[:500])
    return emails, hooks
