"""Signed outbound webhooks: a real HTTP receiver checks the signature, failures are retried and logged,
repeated failures disable the subscription and tell its owner."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine

from notifications import delivery
from notifications.models import DeliveryStatus, Event, Notification, WebhookDelivery, WebhookSubscription
from notifications.services import notify, webhook_subscription_save

from .conftest import at

pytestmark = pytest.mark.django_db


class Receiver:
    """A tiny webhook receiver on 127.0.0.1 that verifies signatures like a subscriber would."""

    def __init__(self, secret_of, fail_first: int = 0):
        self.secret_of, self.fail_first = secret_of, fail_first
        self.accepted, self.rejected, self.calls = [], [], 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.calls += 1
                if receiver.calls <= receiver.fail_first:
                    self.send_response(503)
                    self.end_headers()
                    return
                ok = delivery.verify_signature(receiver.secret_of(), self.headers["X-Civportal-Timestamp"], body,
                                               self.headers["X-Civportal-Signature"])
                (receiver.accepted if ok else receiver.rejected).append((dict(self.headers), body))
                self.send_response(204 if ok else 401)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    holder = {}
    r = Receiver(lambda: holder["secret"])
    r.holder = holder
    yield r
    r.close()


def subscribe(owner, url, events=(Event.TASK_OVERDUE,)):
    return webhook_subscription_save(actor=owner, name="12345 hotline system", url=url, events=list(events))


def fire(personas, **kw):
    notify(event=Event.TASK_OVERDUE, recipients=[personas.handler_a], title="t", url="/tasks/1/",
           data={"task_id": 1}, **kw)
    return WebhookDelivery.objects.order_by("-pk").first()


def test_receiver_verifies_the_signature_and_gets_the_event(personas, receiver):
    sub = subscribe(personas.supervisor, receiver.url)
    receiver.holder["secret"] = sub.secret
    d = fire(personas)
    assert delivery.webhook_deliver(delivery_id=d.pk) is None
    d.refresh_from_db()
    assert d.status == DeliveryStatus.SENT and d.response_code == 204 and d.attempts == 1
    headers, body = receiver.accepted[0]
    payload = json.loads(body)
    assert payload["id"] == str(d.event_id) == headers["X-Civportal-Event-Id"]
    assert payload["event"] == "task.overdue" == headers["X-Civportal-Event"]
    assert payload["data"] == {"task_id": 1} and payload["url"].endswith("/tasks/1/")
    assert headers["X-Civportal-Signature"].startswith("sha256=")
    # A redelivered message does not post again.
    assert delivery.webhook_deliver(delivery_id=d.pk) is None
    assert receiver.calls == 1


def test_tampered_body_or_wrong_secret_is_rejected(personas, receiver):
    sub = subscribe(personas.supervisor, receiver.url)
    receiver.holder["secret"] = sub.secret
    d = fire(personas)
    body = delivery.encode_payload(d.payload)
    ts = "1790000000"
    signature = delivery.sign(sub.secret, ts, body)
    now = 1790000000
    assert delivery.verify_signature(sub.secret, ts, body, signature, now=now)
    tampered = body.replace(b'"task_id":1', b'"task_id":2')
    assert tampered != body
    assert not delivery.verify_signature(sub.secret, ts, tampered, signature, now=now)
    assert not delivery.verify_signature("other-secret", ts, body, signature, now=now)
    assert not delivery.verify_signature(sub.secret, "1790000999", body, signature, now=now)  # timestamp changed
    assert not delivery.verify_signature(sub.secret, ts, body, signature, now=now + 3600)    # replayed later
    # Over the wire: the receiver refuses a delivery signed with a secret it does not share.
    receiver.holder["secret"] = "not-the-secret"
    delivery.webhook_deliver(delivery_id=d.pk)
    d.refresh_from_db()
    assert receiver.rejected and not receiver.accepted
    assert d.status == DeliveryStatus.PENDING and d.response_code == 401 and d.error == "HTTP 401"


def test_failed_deliveries_are_retried_with_capped_backoff_and_logged(personas, settings):
    r = Receiver(lambda: sub.secret, fail_first=2)
    try:
        sub = subscribe(personas.supervisor, r.url)
        d = fire(personas)
        t0 = at(2026, 11, 20, 10)
        with time_machine.travel(t0, tick=False) as clock:
            WebhookDelivery.objects.filter(pk=d.pk).update(next_attempt_at=t0)
            first = delivery.webhook_deliver(delivery_id=d.pk)
            assert first == 30
            d.refresh_from_db()
            assert (d.status, d.attempts, d.response_code, d.error) == ("pending", 1, 503, "HTTP 503")
            assert delivery.webhook_deliver(delivery_id=d.pk) is None  # not yet due: nothing sent
            assert r.calls == 1
            clock.shift(30)
            assert delivery.webhook_deliver(delivery_id=d.pk) == 60
            clock.shift(60)
            assert delivery.webhook_deliver(delivery_id=d.pk) is None
        d.refresh_from_db()
        assert (d.status, d.attempts, d.response_code) == ("sent", 3, 204)
        sub.refresh_from_db()
        assert sub.failure_count == 0 and sub.active
    finally:
        r.close()
    # Backoff is exponential but capped below the broker's visibility timeout.
    assert [delivery.backoff(n) for n in (1, 2, 3)] == [30, 60, 120]
    assert max(delivery.backoff(n) for n in range(1, 30)) < settings.CELERY_BROKER_TRANSPORT_OPTIONS.get(
        "visibility_timeout", 3600)


def test_repeated_failures_disable_the_subscription_and_tell_the_owner(personas, settings):
    settings.WEBHOOK_DISABLE_AFTER = 3
    sub = subscribe(personas.supervisor, "http://127.0.0.1:9/closed")  # nothing listens on port 9
    deliveries = [fire(personas) for _ in range(4)]
    for d in deliveries[:3]:
        delivery.webhook_deliver(delivery_id=d.pk)
    sub.refresh_from_db()
    assert not sub.active and sub.disabled_at is not None and sub.failure_count == 3
    assert WebhookDelivery.objects.get(pk=deliveries[3].pk).status == DeliveryStatus.FAILED
    notice = Notification.objects.get(recipient=personas.supervisor, event=Event.WEBHOOK_DISABLED)
    assert sub.name in notice.title
    # No new deliveries for a disabled subscription; re-activating starts afresh.
    fire(personas)
    assert WebhookDelivery.objects.filter(subscription=sub).count() == 4
    webhook_subscription_save(actor=personas.supervisor, subscription=sub, name=sub.name, url=sub.url,
                              events=sub.events, active=True)
    sub.refresh_from_db()
    assert sub.active and sub.failure_count == 0 and sub.disabled_at is None


def test_subscriptions_only_get_events_in_their_owners_scope(city, personas):
    from tests.factories import make_member
    from campaigns.models import Membership

    district_b_supervisor = make_member(city.district_b, Membership.Role.SUPERVISOR, "sup_b")
    mine = subscribe(district_b_supervisor, "http://127.0.0.1:9/b")
    notify(event=Event.TASK_OVERDUE, recipients=[], title="t", unit=city.community_a1)
    notify(event=Event.TASK_DUE_SOON, recipients=[], title="t", unit=city.street_b1)  # not subscribed
    assert not WebhookDelivery.objects.filter(subscription=mine).exists()
    notify(event=Event.TASK_OVERDUE, recipients=[], title="t", unit=city.street_b1)
    assert WebhookDelivery.objects.filter(subscription=mine).count() == 1


def test_only_supervisors_subscribe_and_only_http_urls(personas):
    from django.core.exceptions import PermissionDenied, ValidationError

    with pytest.raises(PermissionDenied):
        subscribe(personas.handler_a, "https://example.invalid/hook")
    with pytest.raises(ValidationError):
        subscribe(personas.supervisor, "file:///etc/passwd")
    with pytest.raises(ValidationError):
        subscribe(personas.supervisor, "https://example.invalid/hook", events=["nope"])
    assert not WebhookSubscription.objects.exists()


def test_private_addresses_are_refused_unless_allowed(personas, receiver, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    sub = subscribe(personas.supervisor, receiver.url)
    receiver.holder["secret"] = sub.secret
    d = fire(personas)
    delivery.webhook_deliver(delivery_id=d.pk)
    d.refresh_from_db()
    assert receiver.calls == 0 and d.status == DeliveryStatus.PENDING and "not public" in d.error
