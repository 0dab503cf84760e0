"""The list pages' filter forms are not read and drawn from scratch on every request
(civportal/filters.py: ``record_options``, ``FilterSet.form_html``): their option lists and,
when only choices are given, their markup are kept in the shared cache under the per-table
generations of civportal/listcache.py, so an edit to a campaign or a category shows on the
next request; a scoped option list is kept per scope.

Transactional tests: generations move after a real commit, as in production."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns.models import Campaign, Point
from civportal.filters import record_options
from inspections.models import FindingCategory

from .helpers import world

pytestmark = pytest.mark.django_db(transaction=True)
PAGES = ["/findings/", "/tasks/", "/workbench/", "/findings/?status=dispatched&severity=minor",
         "/tasks/?status=assigned&light=red"]


@pytest.fixture(autouse=True)
def memo_on(settings, fresh_listcache):
    settings.LIST_MEMO_SECONDS = 3600
    settings.LIST_CACHE_SECONDS = 0  # the memo works without the response cache
    yield


@pytest.fixture
def w(city, personas):
    return world(city, personas)


def filter_form(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    return re.search(r'<form method="get" class="filters">.*?</form>', html, re.S).group(0)


def option_queries(client, url) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        filter_form(client, url)
    tables = (Campaign._meta.db_table, FindingCategory._meta.db_table)
    return [q["sql"] for q in queries if re.match(r'SELECT .* FROM "(%s)"' % "|".join(tables), q["sql"])
            and " WHERE " not in q["sql"].split(" FROM ")[1]]


@pytest.mark.parametrize("url", PAGES)
def test_the_form_is_the_same_markup_kept_or_drawn(w, personas, login, settings, url):
    client = login(personas.supervisor)
    first, kept = filter_form(client, url), filter_form(client, url)
    settings.LIST_MEMO_SECONDS = 0
    drawn = filter_form(client, url)
    assert first == kept == drawn
    assert w.category.name in drawn and w.campaign.name in drawn


def test_the_option_lists_are_read_once(w, personas, login):
    client = login(personas.supervisor)
    assert option_queries(client, "/findings/?status=dispatched")  # the first request reads them
    assert option_queries(client, "/findings/?status=dispatched") == []
    assert option_queries(client, "/findings/?q=text") == []  # typed text: the form is drawn, its options kept


@pytest.mark.parametrize("url", ["/findings/?status=dispatched", "/tasks/", "/findings/?q=market"])
def test_an_edited_category_or_campaign_shows_on_the_next_request(w, personas, login, url):
    client = login(personas.supervisor)
    form = filter_form(client, url)
    assert w.category.name in form and w.campaign.name in form
    w.category.name = "占道经营（新名）"
    w.category.save()
    Campaign.objects.filter(pk=w.campaign.pk).update(name="2027创城")  # a queryset update, too
    added = FindingCategory.objects.create(code="HJ-09", name="新增类别")
    form = filter_form(client, url)
    assert "占道经营（新名）" in form and "垃圾乱堆乱放" not in form
    assert "2027创城" in form and "2026创城测试" not in form
    assert added.name in form
    added.active = False
    added.save(update_fields=["active"])  # any write replaces the generation
    assert filter_form(client, url) == form  # (the same options: the list shows inactive ones too)


def test_the_language_is_part_of_the_key(w, personas, login):
    client = login(personas.supervisor)
    chinese = filter_form(client, "/tasks/")
    english = filter_form(client, "/tasks/?lang=en")
    assert english != chinese
    assert filter_form(client, "/tasks/?lang=en") == english
    assert filter_form(client, "/tasks/") == chinese


def test_a_scoped_option_list_is_kept_per_scope(w, personas):
    in_a = Point.objects.visible_to(personas.handler_a).order_by("name")
    in_b = Point.objects.visible_to(personas.handler_b).order_by("name")
    assert record_options(in_a) == [(w.point_a.pk, w.point_a.name)]
    assert record_options(in_b) == [(w.point_b.pk, w.point_b.name)]
    with CaptureQueriesContext(connection) as queries:
        assert record_options(in_a) == [(w.point_a.pk, w.point_a.name)]
        assert record_options(in_b) == [(w.point_b.pk, w.point_b.name)]
    assert len(queries) == 0  # both kept, neither seen by the other scope
    moved = Point.objects.create(name="新市场", point_type=w.point_type, unit=w.point_b.unit)
    assert (moved.pk, moved.name) in record_options(in_b)
    assert (moved.pk, moved.name) not in record_options(in_a)


def test_with_the_cache_down_the_form_is_drawn(w, personas, login, settings):
    client = login(personas.supervisor)
    kept = filter_form(client, "/tasks/")
    settings.CACHES = {**settings.CACHES, "dead": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:9/0",
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}}}
    settings.LIST_CACHE_ALIAS = "dead"
    settings.LIST_CACHE_RETRY_SECONDS = 0
    assert filter_form(client, "/tasks/") == kept


def test_the_active_campaign_default_follows_a_status_change(w, personas, login):
    client = login(personas.supervisor)
    selected = f'<option value="{w.campaign.pk}" selected>'
    assert selected in filter_form(client, "/tasks/")
    with CaptureQueriesContext(connection) as queries:
        assert selected in filter_form(client, "/tasks/")
    assert not [q for q in queries if '"status" = ' in q["sql"] and Campaign._meta.db_table in q["sql"]]
    Campaign.objects.filter(pk=w.campaign.pk).update(status=Campaign.Status.CLOSED)
    assert selected not in filter_form(client, "/tasks/")


def test_a_category_or_campaign_number_is_resolved_once_and_follows_edits(w, city, personas, api):
    """``?category=`` (with its sub-categories) and ``?campaign=`` are resolved from the memo under the
    tables' generations: no lookup of their own on the next request, and an added sub-category, a
    removed one or a new campaign counts on the request after the write."""
    client = api(personas.supervisor)
    child = FindingCategory.objects.create(code="HJ-02", name="垃圾桶满溢", group=w.category)
    from .helpers import finding

    in_child = finding(w, personas, category=child, description="子类的问题")
    url = f"/api/v1/findings/?category={w.category.pk}&campaign={w.campaign.pk}"

    def ids_and_lookups():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200, response.content
        lookups = [q["sql"] for q in queries if re.search(
            r'FROM "(%s|%s)"' % (FindingCategory._meta.db_table, Campaign._meta.db_table), q["sql"].split(" WHERE ")[0])]
        return {row["id"] for row in response.json()["results"]}, lookups

    first, lookups = ids_and_lookups()
    assert in_child.pk in first and lookups  # read the first time
    again, lookups = ids_and_lookups()
    assert again == first and lookups == []
    later = FindingCategory.objects.create(code="HJ-03", name="垃圾分类不到位", group=w.category)
    in_later = finding(w, personas, category=later, description="后加子类的问题")
    now, lookups = ids_and_lookups()
    assert in_later.pk in now and lookups  # the write replaced the generation: resolved anew
    FindingCategory.objects.filter(pk=later.pk).update(group=None)  # moved out: no longer a child
    assert in_later.pk not in ids_and_lookups()[0]
    other = Campaign.objects.create(name="2027创城", starts_on=w.campaign.starts_on, ends_on=w.campaign.ends_on)
    response = client.get(f"/api/v1/findings/?campaign={other.pk}")
    assert response.status_code == 200 and response.json()["results"] == []
    response = client.get(f"/api/v1/findings/?campaign={other.pk + 1000}")
    assert response.status_code == 400  # an unknown number is still refused
