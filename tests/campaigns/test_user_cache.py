"""The session's user and memberships from the shared cache (campaigns/usercache.py, issue 13):
one cache round trip instead of the user and membership queries, and every revocation
(deactivation, password change, membership ended or added, unit moved) effective on the
very next request, also while the cache is down.

Transactional tests: generations move after a real commit, as in production."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from campaigns import services as unit_services
from campaigns import usercache
from campaigns.models import Membership, User
from civportal import listcache

from ..factories import make_member

Role = Membership.Role
pytestmark = pytest.mark.django_db(transaction=True)
UNITS = "/api/v1/units/?limit=100"


@pytest.fixture(autouse=True)
def cache_on(settings, fresh_listcache):
    settings.USER_CACHE_SECONDS = 300
    settings.LIST_CACHE_SECONDS = 0  # the generations are kept for the user cache alone
    settings.LIST_CACHE_RETRY_SECONDS = 0
    yield


def session_client(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def codes(client) -> set[str]:
    response = client.get(UNITS)
    assert response.status_code == 200, response.content[:300]
    return {row["code"] for row in response.json()["results"]}


def auth_queries(client, url=UNITS) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    sql = [q["sql"] for q in ctx.captured_queries
           if '"campaigns_user"' in q["sql"].split(" WHERE ")[0] or "campaigns_membership" in q["sql"]]
    return response.status_code, sql


def test_the_second_request_reads_neither_user_nor_memberships(personas):
    client = session_client(personas.handler_a)
    status, first = auth_queries(client)
    assert status == 200 and len(first) == 2  # the user, the memberships: read and kept
    status, second = auth_queries(client)
    assert status == 200 and second == []


def test_off_means_the_database(personas, settings):
    settings.USER_CACHE_SECONDS = 0
    client = session_client(personas.handler_a)
    auth_queries(client)
    assert len(auth_queries(client)[1]) == 2


def test_a_deactivated_user_is_out_on_the_next_request(personas):
    client = session_client(personas.handler_a)
    assert "C-A" in codes(client) and codes(client)
    User.objects.filter(pk=personas.handler_a.pk).update(is_active=False)
    assert client.get(UNITS).status_code in (401, 403)


def test_a_password_change_ends_other_sessions_on_the_next_request(personas):
    client = session_client(personas.handler_a)
    codes(client), codes(client)
    user = User.objects.get(pk=personas.handler_a.pk)
    user.set_password("another-password-42")
    user.save()
    assert client.get(UNITS).status_code in (401, 403)


def test_an_ended_or_added_membership_counts_on_the_next_request(personas, city):
    mover = make_member(city.district_a, Role.HANDLER, "mover")
    client = session_client(mover)
    assert "C-A" in codes(client) and "C-B" not in codes(client)
    unit_services.membership_create(actor=personas.supervisor, user=mover, unit=city.district_b, role=Role.HANDLER)
    assert {"C-A", "C-B"} <= codes(client)
    unit_services.membership_end(actor=personas.supervisor,
                                 membership=Membership.objects.get(user=mover, unit=city.district_a, active=True))
    got = codes(client)
    assert "C-B" in got and "C-A" not in got
    Membership.objects.filter(user=mover).update(active=False)  # a bulk update, no service
    assert client.get(UNITS).status_code == 403


def test_a_moved_unit_counts_on_the_next_request(personas, city):
    client = session_client(personas.handler_b)
    assert "C-B-1" in codes(client) and "C-A-1" not in codes(client)
    unit_services.unit_move(actor=personas.supervisor, unit=city.street_a1, new_parent=city.district_b)
    assert {"C-B-1", "C-A-1", "C-A-1-1"} <= codes(client)


def test_a_rolled_back_write_keeps_the_entry(personas):
    from django.db import transaction

    client = session_client(personas.handler_a)
    codes(client)
    with pytest.raises(RuntimeError), transaction.atomic():
        User.objects.filter(pk=personas.handler_a.pk).update(display_name="不算")
        raise RuntimeError
    assert auth_queries(client)[1] == []


def test_while_the_cache_is_down_the_database_decides_and_after_it_too(personas, settings, dead_cache):
    client = session_client(personas.handler_a)
    codes(client), codes(client)  # kept
    settings.LIST_CACHE_ALIAS = dead_cache
    status, sql = auth_queries(client)
    assert status == 200 and len(sql) == 2  # read from the database, not failed
    User.objects.filter(pk=personas.handler_a.pk).update(is_active=False)  # its bump cannot be written now
    assert listcache._pending
    assert client.get(UNITS).status_code in (401, 403)
    settings.LIST_CACHE_ALIAS = "default"  # back: the missed bump is written before the entry is read
    assert client.get(UNITS).status_code in (401, 403)
    assert not listcache._pending


def test_a_page_reads_neither_user_nor_memberships_and_counts_the_bell_fresh(personas):
    """With the cache on, a page's user row comes from the cache too; the bell is one plain count per
    page, so a notification shows on the very next page."""
    from notifications.models import Notification

    client = session_client(personas.handler_a)
    assert client.get("/").status_code in (200, 302)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/notifications/")
    sql = [q["sql"] for q in ctx.captured_queries]
    assert response.status_code == 200
    assert not any('FROM "campaigns_user" WHERE' in s for s in sql)  # no user row read
    # the scope's read (unit path and role of the active memberships)
    assert not any(s.startswith('SELECT "campaigns_unit"."path", "campaigns_membership"."role"') for s in sql)
    assert 'class="bell-count"' not in response.content.decode()
    Notification.objects.create(recipient=personas.handler_a, title="新任务", body="")
    with CaptureQueriesContext(connection) as ctx:
        html = client.get("/notifications/").content.decode()
    assert '<span class="bell-count">1</span>' in html
    counts = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith('SELECT COUNT(*) FROM "notifications_notification"')]
    assert len(counts) == 1 and "IS NULL" in counts[0]


def test_without_the_cache_a_page_reads_the_bell_with_the_user_row(personas, settings):
    from notifications.models import Notification

    settings.USER_CACHE_SECONDS = 0
    Notification.objects.create(recipient=personas.handler_a, title="新任务", body="")
    client = session_client(personas.handler_a)
    with CaptureQueriesContext(connection) as ctx:
        html = client.get("/notifications/").content.decode()
    sql = [q["sql"] for q in ctx.captured_queries]
    assert '<span class="bell-count">1</span>' in html
    assert sum(1 for s in sql if 'FROM "campaigns_user"' in s and "notifications_notification" in s) == 1
    assert not any(s.startswith('SELECT COUNT(*) FROM "notifications_notification"') for s in sql)
