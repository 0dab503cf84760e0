"""Page lists count at most COUNT_CAP rows (a cheap unordered LIMIT), and say so."""

import pytest
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.db import connection

from campaigns.models import Unit
from civportal import pagination


@pytest.fixture
def small_cap(monkeypatch):
    monkeypatch.setattr(pagination.CappedPaginator, "cap", 5)


def test_count_stops_at_the_cap_and_says_so(city, small_cap):
    units = Unit.objects.order_by("path")
    assert units.count() > 6
    page = pagination.paginate(RequestFactory().get("/", {"per_page": 2}), units)
    assert page.paginator.count == 5 and page.paginator.capped
    assert page.paginator.num_pages == 3
    assert [u.pk for u in page] == list(units.values_list("pk", flat=True)[:2])


def test_below_the_cap_the_count_is_exact(city, small_cap):
    units = Unit.objects.filter(pk__in=Unit.objects.order_by("path").values("pk")[:4]).order_by("path")
    page = pagination.paginate(RequestFactory().get("/"), units)
    assert page.paginator.count == 4 and not page.paginator.capped


def test_the_count_is_unordered_and_limited(city):
    with CaptureQueriesContext(connection) as queries:
        pagination.paginate(RequestFactory().get("/"), Unit.objects.order_by("path")).paginator.count
    sql = queries[0]["sql"].upper()
    assert "LIMIT" in sql and "ORDER BY" not in sql


def test_lists_and_pages_answer_with_the_note_when_capped(city, personas, login, small_cap):
    html = login(personas.supervisor).get("/units/?per_page=2").content.decode()
    assert "只统计并分页显示前 5 条" in html


def test_page_links_keep_the_filters_and_the_note_appears_once(city, personas, login, small_cap):
    """A capped list on page 2 links back and forward with its filters, and says it is capped once."""
    import re

    html = login(personas.supervisor).get("/units/?per_page=2&page=2").content.decode()
    assert html.count("只统计并分页显示前 5 条") == 1
    start = html.index('class="pagination"')
    nav = html[start:html.index("</nav>", start)]
    links = re.findall(r'href="([^"]*)"', nav)
    assert links == ["?per_page=2&amp;page=1", "?per_page=2&amp;page=3"]
    assert "<p" not in nav
