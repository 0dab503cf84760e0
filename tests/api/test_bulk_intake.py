"""Bulk intake of hotline tickets and status pull by external id (issue 8)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns.models import Membership
from inspections.models import Finding
from notifications.models import Notification, WebhookDelivery, WebhookSubscription

from ..inspections.helpers import world

Role = Membership.Role
pytestmark = pytest.mark.django_db
URL = "/api/v1/findings/bulk/"
STATUS = "/api/v1/findings/status/"


@pytest.fixture
def w(city, personas):
    return world(city, personas)


@pytest.fixture
def hotline(city, personas, api_key, key_api, settings):
    """A city-wide supervisor key, as the 12345 platform would get."""
    settings.API_RATE_PER_MINUTE = 0
    _client, key = api_key(personas.supervisor, city.city, role=Role.SUPERVISOR, name="12345")
    return key_api(key)


def ticket(n: int, city, w, **overrides) -> dict:
    item = {"source": "hotline", "external_id": f"H-{n:05d}", "category": w.category.code,
            "description": f"小区门口垃圾堆放 {n}", "unit": city.street_a1.code, "address": "中山路 18 号",
            "latitude": "29.868336", "longitude": "121.543990", "observed_at": "2026-11-20T09:12:00+08:00",
            "reporter_name": "李女士", "reporter_contact": "13800000001"}
    item.update(overrides)
    return item


def test_a_batch_is_recorded_and_a_resend_creates_nothing(city, w, hotline):
    items = [ticket(n, city, w) for n in range(5)]
    first = hotline.post(URL, {"items": items}, format="json")
    assert first.status_code == 200, first.content
    body = first.json()
    assert body["summary"] == {"created": 5, "unchanged": 0, "error": 0}
    assert [(r["index"], r["external_id"], r["result"]) for r in body["results"]] == \
        [(n, f"H-{n:05d}", "created") for n in range(5)]
    finding = Finding.objects.get(pk=body["results"][0]["id"])
    assert (finding.source, finding.unit, finding.category, finding.campaign) == \
        ("hotline", city.street_a1, w.category, w.campaign)
    assert finding.reporter_name == "李女士" and finding.history.count() == 1
    again = hotline.post(URL, {"items": items}, format="json").json()
    assert again["summary"] == {"created": 0, "unchanged": 5, "error": 0}
    assert [r["id"] for r in again["results"]] == [r["id"] for r in body["results"]]
    assert Finding.objects.filter(source="hotline").count() == 5


def test_invalid_items_are_reported_and_valid_ones_recorded(city, w, hotline):
    items = [
        ticket(1, city, w),
        ticket(2, city, w, category="NOPE"),
        ticket(3, city, w, observed_at="2026-02-30"),
        "not an object",
        ticket(4, city, w, unit=None),
        ticket(5, city, w, unit=None, point=str(w.point_a.pk)),
    ]
    body = hotline.post(URL, {"items": items}, format="json").json()
    results = body["results"]
    assert [r["result"] for r in results] == ["created", "error", "error", "error", "error", "created"]
    assert results[1]["code"] == "invalid" and "category" in results[1]["errors"]
    assert "observed_at" in results[2]["errors"] and results[2]["external_id"] == "H-00003"
    assert results[3]["external_id"] is None and results[3]["errors"]["non_field_errors"]
    assert "unit" in results[4]["errors"]
    by_point = Finding.objects.get(pk=results[5]["id"])
    assert by_point.unit == w.point_a.unit and by_point.department == w.point_a.department
    assert body["summary"] == {"created": 2, "unchanged": 0, "error": 4}


def test_different_content_under_a_known_external_id_is_a_conflict_not_an_overwrite(city, w, hotline):
    first = hotline.post(URL, {"items": [ticket(1, city, w)]}, format="json").json()["results"][0]
    changed = hotline.post(URL, {"items": [ticket(1, city, w, description="别的内容")]}, format="json").json()
    row = changed["results"][0]
    assert (row["result"], row["code"], row["id"]) == ("error", "conflict", first["id"])
    assert Finding.objects.get(pk=first["id"]).description == "小区门口垃圾堆放 1"
    # The same ticket twice in one batch: the second is "unchanged", a differing copy a conflict.
    batch = [ticket(7, city, w), ticket(7, city, w), ticket(7, city, w, description="不同")]
    results = hotline.post(URL, {"items": batch}, format="json").json()["results"]
    assert [r["result"] for r in results] == ["created", "unchanged", "error"]
    assert results[1]["id"] == results[0]["id"] and results[2]["code"] == "conflict"


def test_each_item_must_be_in_the_keys_scope(city, personas, w, api_key, key_api, settings):
    settings.API_RATE_PER_MINUTE = 0
    _client, key = api_key(personas.supervisor, city.district_a, role=Role.SUPERVISOR, name="district A")
    district = key_api(key)
    results = district.post(URL, {"items": [ticket(1, city, w), ticket(2, city, w, unit=city.street_b1.code),
                                            ticket(3, city, w, unit=None, point=str(w.point_b.pk))]},
                            format="json").json()["results"]
    assert [r["result"] for r in results] == ["created", "error", "error"]
    assert "unit" in results[1]["errors"] and "point" in results[2]["errors"]
    assert not Finding.objects.filter(unit=city.street_b1, source="hotline").exists()


def test_a_handler_key_may_not_record_findings(city, personas, w, api_key, key_api):
    _client, key = api_key(personas.supervisor, city.district_a, role=Role.HANDLER)
    response = key_api(key).post(URL, {"items": [ticket(1, city, w)]}, format="json")
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"


@pytest.mark.parametrize("body", [{"items": "x"}, {"items": {"a": 1}}, {}, [1, 2], {"items": None}])
def test_a_malformed_batch_is_a_400_in_the_error_format(hotline, body):
    response = hotline.post(URL, body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid" and "items" in response.json()["errors"]


def test_more_than_1000_items_is_refused_whole(city, w, hotline):
    response = hotline.post(URL, {"items": [ticket(n, city, w) for n in range(1001)]}, format="json")
    assert response.status_code == 400 and "items" in response.json()["errors"]
    assert not Finding.objects.filter(source="hotline").exists()


def batch_queries(client, items, django_capture_on_commit_callbacks) -> tuple[int, dict]:
    with CaptureQueriesContext(connection) as ctx, django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, {"items": items}, format="json")
    assert response.status_code == 200, response.content[:300]
    return len(ctx.captured_queries), response.json()


def mixed(numbers, city, w) -> list[dict]:
    """Tickets by unit code and tickets at a point (repeat check), half and half."""
    return [ticket(n, city, w) if n % 2 else ticket(n, city, w, unit=None, point=str(w.point_a.pk)) for n in numbers]


@pytest.fixture
def worker_inline():
    """The fan-out task runs in-process (its queries are counted too); the email and webhook
    tasks it queues are only recorded (their work is per message, in the worker)."""
    from unittest import mock

    published = []

    from notifications.queueing import task_named

    def publish(task, **kwargs):
        task = task_named(task)  # services queue by name
        published.append((task.name, kwargs))
        if task.name == "inspections.findings_created":
            task.run(**kwargs)
        return True

    with mock.patch("notifications.queueing.publish", side_effect=publish):
        yield published


def test_query_count_does_not_grow_with_the_batch(city, personas, w, hotline, django_capture_on_commit_callbacks,
                                                  worker_inline):
    """10 and 200 items, first send (with the finding.created fan-out, run in-process) and re-send: the same
    number of queries."""
    from django.contrib.contenttypes.models import ContentType

    WebhookSubscription.objects.create(owner=personas.supervisor, name="dcm", url="https://dcm.example.invalid/in",
                                       events=["finding.created"])
    ContentType.objects.get_for_model(Finding)  # cached for the process
    hotline.get("/api/v1/findings/status/?external_id=warm-up")  # key lookup and touch
    small, body = batch_queries(hotline, mixed(range(10), city, w), django_capture_on_commit_callbacks)
    assert body["summary"]["created"] == 10
    large, body = batch_queries(hotline, mixed(range(100, 300), city, w), django_capture_on_commit_callbacks)
    assert body["summary"]["created"] == 200
    # key, memberships, categories, units, points, campaign, known ids, repeats, savepoint, insert, history,
    # the dashboards' rollups (the units' ancestors, one upsert), later findings' repeat flags (one read), the stored recurrence of
    # the closed findings at the batch's points (advisory lock, one read; nothing closed: no write), release; fan-out (one Celery task, here in-process): already announced (2), findings, supervisors,
    # preferences, savepoint, notifications, subscriptions, subscriber's memberships, deliveries, release.
    assert small == large == 28, (small, large)
    resend_small, _ = batch_queries(hotline, mixed(range(10), city, w), django_capture_on_commit_callbacks)
    resend_large, body = batch_queries(hotline, mixed(range(100, 300), city, w), django_capture_on_commit_callbacks)
    assert body["summary"]["unchanged"] == 200
    assert resend_small == resend_large == 8, (resend_small, resend_large)  # no repeats, + known ids in scope
    # The fan-out happened, batched: every supervisor but the key's service user heard of each new finding,
    # and the subscription got one delivery per finding.
    assert Notification.objects.filter(event="finding.created", recipient=personas.supervisor).count() == 210
    assert WebhookDelivery.objects.filter(event="finding.created").count() == 210
    assert WebhookDelivery.objects.values("event_id").distinct().count() == 210
    # Per batch: one message for the fan-out, one for the deliveries it made.
    assert [name for name, _kwargs in worker_inline] == ["inspections.findings_created", "notifications.deliver_many"] * 2


def test_the_fan_out_is_one_message_and_runs_inline_without_a_broker(city, personas, w, hotline,
                                                                      django_capture_on_commit_callbacks):
    from unittest import mock

    from inspections import notify, tasks

    with mock.patch("notifications.queueing.publish", return_value=True) as publish, \
            django_capture_on_commit_callbacks(execute=True):
        hotline.post(URL, {"items": mixed(range(6), city, w)}, format="json")
    assert [call.args[0] for call in publish.call_args_list] == [tasks.findings_created.name]
    assert len(publish.call_args_list[0].kwargs["finding_ids"]) == 6
    assert not Notification.objects.filter(event="finding.created").exists()
    with mock.patch("notifications.queueing.publish", return_value=False), \
            django_capture_on_commit_callbacks(execute=True):
        hotline.post(URL, {"items": mixed(range(6, 9), city, w)}, format="json")
    assert Notification.objects.filter(event="finding.created", recipient=personas.supervisor).count() == 3
    # A redelivered message announces nothing twice.
    ids = list(Finding.objects.filter(source="hotline").values_list("pk", flat=True))
    notify.findings_created(ids)
    notify.findings_created(ids)
    assert Notification.objects.filter(event="finding.created", recipient=personas.supervisor).count() == 9


def test_repeat_flag_is_set_in_bulk(city, w, hotline):
    items = [ticket(1, city, w, unit=None, point=str(w.point_a.pk), observed_at="2026-11-01T09:00:00+08:00"),
             ticket(2, city, w, unit=None, point=str(w.point_a.pk), observed_at="2026-11-10T09:00:00+08:00")]
    results = hotline.post(URL, {"items": items}, format="json").json()["results"]
    flags = [Finding.objects.get(pk=r["id"]).is_repeat for r in results]
    assert flags == [False, True]


# --- status pull -----------------------------------------------------------------------------------


def test_status_pull_by_external_id(city, personas, w, hotline):
    results = hotline.post(URL, {"items": [ticket(1, city, w), ticket(2, city, w)]}, format="json").json()["results"]
    from inspections import services

    task = services.task_dispatch(actor=personas.supervisor, finding=Finding.objects.get(pk=results[1]["id"]))
    rows = hotline.get(f"{STATUS}?source=hotline&external_id=H-00002,NOPE,H-00001").json()["results"]
    assert [(r["external_id"], r["found"]) for r in rows] == [("H-00002", True), ("NOPE", False), ("H-00001", True)]
    assert rows[0]["status"] == "dispatched" and rows[0]["task"]["id"] == task.pk
    assert rows[0]["task"]["due_at"] and rows[0]["task"]["light"] == "green" and rows[0]["status_notes"]
    assert rows[2]["status"] == "new" and rows[2]["task"] is None
    posted = hotline.post(STATUS, {"source": "hotline", "external_ids": ["H-00001"]}, format="json")
    assert posted.status_code == 200 and posted.json()["results"][0]["id"] == results[0]["id"]


def test_status_pull_hides_findings_outside_the_scope(city, personas, w, hotline, api_key, key_api):
    hotline.post(URL, {"items": [ticket(1, city, w, unit=city.street_b1.code)]}, format="json")
    _client, key = api_key(personas.supervisor, city.district_a, role=Role.HANDLER)
    rows = key_api(key).get(f"{STATUS}?external_id=H-00001").json()["results"]
    assert rows == [{"external_id": "H-00001", "found": False, "id": None, "uid": None, "status": None,
                     "status_display": None, "status_notes": None, "closed_at": None, "updated_at": None,
                     "task": None}]


@pytest.mark.parametrize("query", ["", "external_id=", "source=nope&external_id=A",
                                   "external_id=" + ",".join(str(n) for n in range(1001))])
def test_status_pull_refuses_bad_parameters(hotline, query):
    response = hotline.get(f"{STATUS}?{query}")
    assert response.status_code == 400 and response.json()["code"] == "invalid"


def test_status_pull_query_count_is_fixed(city, personas, w, hotline):
    items = [ticket(n, city, w) for n in range(60)]
    ids = [r["id"] for r in hotline.post(URL, {"items": items}, format="json").json()["results"]]
    from inspections import services

    for pk in ids[:30]:
        services.task_dispatch(actor=personas.supervisor, finding=Finding.objects.get(pk=pk))
    counts = []
    for n in (1, 60):
        with CaptureQueriesContext(connection) as ctx:
            response = hotline.post(STATUS, {"external_ids": [f"H-{i:05d}" for i in range(n)]}, format="json")
        assert response.status_code == 200 and len(response.json()["results"]) == n
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1] <= 6, counts
