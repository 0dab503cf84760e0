"""Measure bulk intake of hotline tickets (TARGETS P8, issue 8 acceptance 2).

    DATABASE_URL=... .venv/bin/python manage.py load_demo --quiet
    DATABASE_URL=... .venv/bin/python benchmarks/bulk_intake.py [--items 1000] [--keep]

Sends N hotline tickets over the demo city's streets and communities in one
``POST /api/v1/findings/bulk/`` with a city-wide supervisor API key (the whole
stack in-process: middleware, authentication, validation, inserts, history,
and after commit one Celery message for the finding.created fan-out), then
re-sends the same batch, then times the fan-out as the worker runs it (inbox
rows for the supervisors, and a webhook delivery per finding for a
subscription the run adds). Prints the times and checks that the re-send
created nothing. The last line is ``P8 met|not met``: first send ≤ 5 s and the
re-send created nothing; the exit status is 0 only when met. Unless --keep, the findings, their
history, notifications, deliveries and the subscription made by the run are
removed afterwards; the key is revoked.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "civportal.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from campaigns import services as campaign_services  # noqa: E402
from campaigns.models import Membership, Unit, User  # noqa: E402
from inspections import notify  # noqa: E402
from inspections.models import Finding, FindingCategory  # noqa: E402
from notifications.models import Notification, WebhookDelivery, WebhookSubscription  # noqa: E402

GOAL_SECONDS = 5.0


def tickets(n: int, run: str) -> list[dict]:
    rng = random.Random(8)
    units = list(Unit.objects.filter(kind__in=[Unit.Kind.STREET, Unit.Kind.COMMUNITY]).values_list("code", flat=True))
    categories = list(FindingCategory.objects.filter(active=True, group__isnull=False).values_list("code", flat=True))
    return [{
        "source": "hotline", "external_id": f"BENCH-{run}-{i:05d}", "category": rng.choice(categories),
        "description": f"市民来电反映：小区门口垃圾堆放多日无人清理（第 {i} 件）", "unit": rng.choice(units),
        "address": f"明州市中山路 {rng.randint(1, 400)} 号", "latitude": f"{29.8 + rng.random() / 10:.6f}",
        "longitude": f"{121.5 + rng.random() / 10:.6f}", "observed_at": "2026-11-20T09:12:00+08:00",
        "reporter_name": "市民", "reporter_contact": f"1380000{i:04d}",
    } for i in range(n)]


def send(client: Client, key: str, body: bytes) -> tuple[float, int, dict]:
    with CaptureQueriesContext(connection) as ctx:
        start = time.perf_counter()
        response = client.post("/api/v1/findings/bulk/", body, content_type="application/json",
                               HTTP_AUTHORIZATION=f"Api-Key {key}", secure=True)
        elapsed = time.perf_counter() - start
    assert response.status_code == 200, response.content[:500]
    return elapsed, len(ctx.captured_queries), response.json()["summary"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    settings.ALLOWED_HOSTS = ["*"]
    settings.API_RATE_PER_MINUTE = 0
    supervisor = User.objects.get(username="supervisor")
    city = Unit.objects.get(depth=1)
    api_client, key = campaign_services.api_client_create(
        actor=supervisor, name=f"bench {uuid.uuid4().hex[:6]}", role=Membership.Role.SUPERVISOR, unit=city)
    run = uuid.uuid4().hex[:8]
    subscription = WebhookSubscription.objects.create(owner=supervisor, name=f"bench {run}", events=["finding.created"],
                                                      url="https://bench.example.invalid/hook")
    body = json.dumps({"items": tickets(args.items, run)}, ensure_ascii=False).encode()
    client = Client()
    supervisors = Membership.objects.filter(role=Membership.Role.SUPERVISOR, active=True).count()
    print(f"{args.items} tickets, {len(body) / 1024:.0f} KB, database {connection.vendor}, "
          f"{supervisors} supervisor memberships")
    verdict, met = "P8 not met: the run failed", False
    try:
        first, first_queries, first_summary = send(client, key, body)
        print(f"first send : {first:6.2f} s  {first_queries:3d} queries  {first_summary}")
        again, again_queries, again_summary = send(client, key, body)
        print(f"re-send    : {again:6.2f} s  {again_queries:3d} queries  {again_summary}")
        made = Finding.objects.filter(external_id__startswith=f"BENCH-{run}-")
        ids = list(made.values_list("pk", flat=True))
        # The finding.created fan-out the worker runs for the batch (one Celery message; in the request
        # only when the broker is down).
        with CaptureQueriesContext(connection) as ctx:
            start = time.perf_counter()
            notify.findings_created(ids)
            fan_out = time.perf_counter() - start
        notes = Notification.objects.filter(event="finding.created", target_id__in=ids).count()
        deliveries = WebhookDelivery.objects.filter(payload__data__finding_id__in=ids).count()
        print(f"fan-out    : {fan_out:6.2f} s  {len(ctx.captured_queries):3d} queries  "
              f"(worker) {notes} inbox rows, {deliveries} webhook deliveries")
        idempotent = first_summary["created"] == args.items and again_summary == {
            "created": 0, "unchanged": args.items, "error": 0}
        met = first <= GOAL_SECONDS and idempotent
        verdict = (f"P8 {'met' if met else 'not met'}: first send of {args.items:,} {first:.2f} s "
                   f"(bar {GOAL_SECONDS:.0f} s), re-send {again:.2f} s created "
                   f"{'nothing' if idempotent else again_summary}")
    except AssertionError as exc:  # a send that did not answer 200
        verdict = f"P8 not met: {str(exc)[:300]}"
    finally:
        if not args.keep:
            made = Finding.objects.filter(external_id__startswith=f"BENCH-{run}-")
            ids = list(made.values_list("pk", flat=True))
            Notification.objects.filter(event="finding.created", target_id__in=ids).delete()
            WebhookDelivery.objects.filter(payload__data__finding_id__in=ids).delete()
            Finding.history.filter(id__in=ids).delete()
            made.delete()
            WebhookDelivery.objects.filter(subscription=subscription).delete()
            subscription.delete()
        campaign_services.api_client_revoke(actor=supervisor, client=api_client)
    print(verdict)
    sys.exit(0 if met else 1)


if __name__ == "__main__":
    main()
