"""Inbox, preferences and webhook pages and endpoints: scoping, permissions, query counts, the bell."""

from __future__ import annotations

import pytest
from django.urls import reverse

from notifications.models import Event, Notification, WebhookDelivery, WebhookSubscription
from notifications.services import notify, webhook_subscription_save

pytestmark = pytest.mark.django_db


def inbox_of(user, n=1, **kw):
    for i in range(n):
        notify(event=Event.TASK_OVERDUE, recipients=[user], title=f"任务 #{i} 已逾期", url=f"/tasks/{i}/", **kw)


def subscription(owner, n_deliveries=0):
    sub = webhook_subscription_save(actor=owner, name="热线系统", url="https://hotline.example.invalid/hook",
                                    events=[Event.TASK_OVERDUE])
    for _ in range(n_deliveries):
        notify(event=Event.TASK_OVERDUE, recipients=[], title="t")
    return sub


# --- pages ----------------------------------------------------------------------------------


def test_bell_shows_the_unread_count_on_every_page(personas, login):
    inbox_of(personas.handler_a, 3)
    client = login(personas.handler_a)
    page = client.get(reverse("home")).content.decode()
    assert 'class="bell has-unread"' in page and '<span class="bell-count">3</span>' in page
    Notification.objects.filter(recipient=personas.handler_a).update(read_at="2026-11-20T10:00:00+08:00")
    page = client.get(reverse("home")).content.decode()
    assert "bell-count" not in page


def test_inbox_lists_only_my_notifications_and_marks_them_read(personas, login):
    inbox_of(personas.handler_a, 2)
    inbox_of(personas.handler_b, 1)
    client = login(personas.handler_a)
    page = client.get(reverse("notifications:inbox")).content.decode()
    assert page.count('class="notification unread"') == 2
    theirs = Notification.objects.get(recipient=personas.handler_b)
    assert client.get(reverse("notifications:open", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("notifications:mark", args=[theirs.pk])).status_code == 404
    mine = Notification.objects.filter(recipient=personas.handler_a).first()
    response = client.get(reverse("notifications:open", args=[mine.pk]))
    assert response.status_code == 302 and response["Location"] == mine.url
    mine.refresh_from_db()
    assert mine.read_at is not None
    client.post(reverse("notifications:mark", args=[mine.pk]), {"read": "0"})
    mine.refresh_from_db()
    assert mine.read_at is None
    client.post(reverse("notifications:mark_all"))
    assert not Notification.objects.filter(recipient=personas.handler_a, read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_open_never_redirects_off_site(personas, login):
    notify(event=Event.TASK_OVERDUE, recipients=[personas.handler_a], title="x", url="https://evil.example/")
    client = login(personas.handler_a)
    n = Notification.objects.get(recipient=personas.handler_a)
    assert client.get(reverse("notifications:open", args=[n.pk]))["Location"] == reverse("notifications:inbox")


@pytest.mark.parametrize("size", [1, 50])
def test_inbox_page_queries_do_not_grow(personas, login, django_assert_max_num_queries, size):
    inbox_of(personas.handler_a, size)
    client = login(personas.handler_a)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("notifications:inbox"), {"per_page": size})
    assert len(response.context["page"].object_list) == size


def test_preferences_page_turns_email_off_per_event(personas, login):
    client = login(personas.handler_a)
    assert client.get(reverse("notifications:preferences")).status_code == 200
    data = {e.value: "on" for e in Event if e != Event.TASK_DUE_SOON}
    assert client.post(reverse("notifications:preferences"), data).status_code == 302
    from notifications.services import preferences_for

    prefs = preferences_for(personas.handler_a)
    assert prefs[Event.TASK_DUE_SOON] is False and prefs[Event.TASK_OVERDUE] is True


def test_inbox_needs_login(client, db):
    response = client.get(reverse("notifications:inbox"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_webhook_pages_for_supervisors_only_and_only_their_own(personas, login, city):
    from campaigns.models import Membership
    from tests.factories import make_member

    other = make_member(city.city, Membership.Role.SUPERVISOR, "other_sup")
    theirs = subscription(other)
    client = login(personas.supervisor)
    response = client.post(reverse("notifications:webhook_create"), {
        "name": "数字城管", "url": "https://dcm.example.invalid/in", "events": [Event.TASK_OVERDUE], "active": "on"})
    assert response.status_code == 302
    mine = WebhookSubscription.objects.get(owner=personas.supervisor)
    page = client.get(reverse("notifications:webhook_list")).content.decode()
    assert "数字城管" in page and "热线系统" not in page
    assert client.get(reverse("notifications:webhook_detail", args=[mine.pk])).status_code == 200
    assert client.get(reverse("notifications:webhook_detail", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("notifications:webhook_rotate", args=[theirs.pk])).status_code == 404
    old = mine.secret
    client.post(reverse("notifications:webhook_rotate", args=[mine.pk]))
    mine.refresh_from_db()
    assert mine.secret != old
    # Bad input: a clear error, nothing saved.
    response = client.post(reverse("notifications:webhook_create"), {"name": "x", "url": "ftp://x.example/"})
    assert response.status_code == 200 and WebhookSubscription.objects.count() == 2
    # A handler has no webhook permission at all.
    handler = login(personas.handler_a)
    assert handler.get(reverse("notifications:webhook_list")).status_code == 403
    assert handler.get(reverse("notifications:webhook_create")).status_code == 403


# --- API ------------------------------------------------------------------------------------


def test_api_notifications_are_the_callers_own(personas, api):
    inbox_of(personas.handler_a, 2)
    inbox_of(personas.handler_b, 1)
    client = api(personas.handler_a)
    data = client.get("/api/v1/notifications/").json()
    assert data["count"] == 2 and all(r["event"] == "task.overdue" for r in data["results"])
    theirs = Notification.objects.get(recipient=personas.handler_b)
    assert client.get(f"/api/v1/notifications/{theirs.pk}/").status_code == 404
    assert client.post(f"/api/v1/notifications/{theirs.pk}/mark-read/", {}, format="json").status_code == 404
    mine = Notification.objects.filter(recipient=personas.handler_a).first()
    response = client.post(f"/api/v1/notifications/{mine.pk}/mark-read/", {}, format="json")
    assert response.status_code == 200 and response.json()["is_read"] is True
    assert client.get("/api/v1/notifications/", {"unread": "true"}).json()["count"] == 1
    assert client.post("/api/v1/notifications/mark-all-read/").json() == {"updated": 1}
    assert api(None).get("/api/v1/notifications/").status_code == 401
    # An outsider (no role) still has an (empty) inbox.
    assert api(personas.outsider).get("/api/v1/notifications/").json()["count"] == 0


def test_api_webhook_subscriptions_and_deliveries_are_scoped_to_the_owner(personas, api, city):
    from campaigns.models import Membership
    from tests.factories import make_member

    other = make_member(city.city, Membership.Role.SUPERVISOR, "other_sup")
    theirs = subscription(other, n_deliveries=1)
    client = api(personas.supervisor)
    response = client.post("/api/v1/webhook-subscriptions/", {
        "name": "数字城管", "url": "https://dcm.example.invalid/in", "events": ["task.overdue", "finding.created"]},
        format="json")
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["secret"] and created["owner"] == personas.supervisor.pk and created["active"] is True
    assert [s["id"] for s in client.get("/api/v1/webhook-subscriptions/").json()["results"]] == [created["id"]]
    assert client.get(f"/api/v1/webhook-subscriptions/{theirs.pk}/").status_code == 404
    assert client.patch(f"/api/v1/webhook-subscriptions/{created['id']}/", {"active": False},
                        format="json").json()["active"] is False
    assert client.post("/api/v1/webhook-subscriptions/", {"name": "x", "url": "https://x.example/",
                                                          "events": ["nope"]}, format="json").status_code == 400
    assert client.delete(f"/api/v1/webhook-subscriptions/{created['id']}/").status_code in (403, 405)
    assert WebhookSubscription.objects.filter(pk=created["id"]).exists()  # never deleted, only deactivated
    assert client.get("/api/v1/webhook-deliveries/").json()["count"] == 0
    assert api(other).get("/api/v1/webhook-deliveries/").json()["count"] == 1
    # Roles without webhook permission: 403.
    assert api(personas.handler_a).get("/api/v1/webhook-subscriptions/").status_code == 403
    assert api(personas.outsider).get("/api/v1/webhook-deliveries/").status_code == 403
    assert api(personas.handler_a).post("/api/v1/webhook-subscriptions/", {
        "name": "x", "url": "https://x.example/"}, format="json").status_code == 403


@pytest.mark.parametrize("size", [1, 50])
def test_api_lists_run_a_fixed_number_of_queries(personas, api, django_assert_max_num_queries, size):
    inbox_of(personas.supervisor, size)
    subscription(personas.supervisor, n_deliveries=size)
    client = api(personas.supervisor)
    for url in ("/api/v1/notifications/", "/api/v1/webhook-deliveries/", "/api/v1/webhook-subscriptions/"):
        with django_assert_max_num_queries(8):
            response = client.get(url, {"limit": size})
        assert response.status_code == 200
    assert len(client.get("/api/v1/webhook-deliveries/", {"limit": size}).json()["results"]) == size


def test_the_bell_costs_no_extra_query(personas, login):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    inbox_of(personas.handler_a, 2)
    client = login(personas.handler_a)
    with CaptureQueriesContext(connection) as queries:
        page = client.get(reverse("home")).content.decode()
    assert '<span class="bell-count">2</span>' in page
    alone = [q["sql"] for q in queries.captured_queries
             if 'FROM "notifications_notification"' in q["sql"] and 'FROM "campaigns_user"' not in q["sql"]]
    assert alone == []
