"""The session's user is read with the bell's unread count on pages (no extra query for the
bell), and without it on the API (which has no bell): one lean query, nothing cached."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from notifications.backends import with_unread_count
from notifications.models import Notification

pytestmark = pytest.mark.django_db

USER_TABLE = 'FROM "campaigns_user"'


def user_queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return [q["sql"] for q in ctx.captured_queries if USER_TABLE in q["sql"] and "WHERE" in q["sql"]
            and '"campaigns_user"."id" =' in q["sql"]]


def test_api_reads_the_user_without_the_unread_count_and_pages_keep_it(city, personas, login):
    Notification.objects.create(recipient=personas.supervisor, event=Notification._meta.get_field("event").choices[0][0], title="x")
    client = login(personas.supervisor)
    api = user_queries(client, "/api/v1/findings/")
    assert api and not any("notifications_notification" in sql for sql in api), api
    inbox = reverse("notifications:inbox")
    page = user_queries(client, inbox)
    assert any("notifications_notification" in sql for sql in page), page
    assert '<span class="bell-count">1</span>' in client.get(inbox).content.decode()
    assert with_unread_count.get() is True  # the flag does not outlive the request
