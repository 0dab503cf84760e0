"""Lean filter sets (issue 13, "Lean requests"): the form class of the large lists'
filter sets is built once, record boxes read the scope only when filled, and
campaigns and categories are numbers checked with one query. A filtered list runs
a pinned number of queries that does not grow with the number of categories,
campaigns, units or points; an unknown number is a 400 naming the parameter."""

from __future__ import annotations

import datetime as dt

import django_filters
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.http import QueryDict
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from campaigns.models import Campaign, Point, Unit
from civportal.filters import FilterSet, NamedRecordFilter
from inspections.filtersets import FindingFilterSet, TaskFilterSet
from inspections.models import Finding, FindingCategory

from ..factories import make_unit
from .helpers import dispatched, world

pytestmark = pytest.mark.django_db


@pytest.fixture
def w(city, personas):
    w = world(city, personas)
    w.task = dispatched(w, personas)
    w.finding = w.task.finding
    return w


def grow(city, w):
    """More of everything a filter could read: categories, campaigns, units and points."""
    FindingCategory.objects.bulk_create([FindingCategory(code=f"X{i:02d}", name=f"类别{i}", group=w.group)
                                         for i in range(40)])
    Campaign.objects.bulk_create([Campaign(name=f"活动{i}", starts_on=dt.date(2020 + i % 5, 1, 1),
                                           ends_on=dt.date(2020 + i % 5, 12, 31)) for i in range(10)])
    for i in range(5):
        street = make_unit(city.district_a, kind=Unit.Kind.STREET, name=f"新街道{i}", code=f"C-A-N{i}")
        Point.objects.create(name=f"新点位{i}", point_type=w.point_type, unit=street)


def queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, (url, response.content[:300])
    assert response.json()["results"], url  # the filters really match something
    return len(ctx.captured_queries)


# token + memberships + one check per given campaign / category / unit / point box + rows + prefetches
FILTERED = {
    "/api/v1/findings/?campaign={campaign}&category={group}&status=dispatched&within=C-A&point={point}": 9,
    "/api/v1/tasks/?campaign={campaign}&category={category}&within=C-A&unit={unit}&overdue=false": 8,
}


@pytest.mark.parametrize("template", FILTERED)
def test_filtered_list_query_count_is_pinned_and_does_not_grow(w, city, personas, api, template):
    client = api(personas.handler_a)
    url = template.format(campaign=w.campaign.pk, group=w.group.pk, category=w.category.pk, point=w.point_a.pk,
                          unit=w.task.unit.code)
    before = queries(client, url)
    grow(city, w)
    after = queries(client, url)
    assert before == after == FILTERED[template], (before, after)


@pytest.mark.parametrize("name", ["category", "campaign"])
@pytest.mark.parametrize("value", ["999999", "abc", "1.5", "-3", "99999999999999999999", " ", "１２"])
@pytest.mark.parametrize("resource", ["findings", "tasks"])
def test_an_unknown_number_is_a_400_naming_the_parameter(w, personas, api, resource, name, value):
    response = api(personas.supervisor).get(f"/api/v1/{resource}/", {name: value}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid" and list(body["errors"]) == [name]
    assert body["errors"][name] == ["Select a valid choice. That choice is not one of the available choices."]


def test_category_takes_its_children_and_a_known_number_with_spaces(w, personas, api):
    client = api(personas.supervisor)
    other = FindingCategory.objects.create(code="ZZ", name="其他")
    ids = lambda resp: [r["id"] for r in resp.json()["results"]]  # noqa: E731
    assert ids(client.get("/api/v1/findings/", {"category": w.group.pk})) == [w.finding.pk]
    assert ids(client.get("/api/v1/findings/", {"category": f" {w.category.pk} "})) == [w.finding.pk]
    assert ids(client.get("/api/v1/findings/", {"category": other.pk})) == []
    assert ids(client.get("/api/v1/tasks/", {"category": w.group.pk, "campaign": w.campaign.pk})) == [w.task.pk]
    assert ids(client.get("/api/v1/tasks/", {"category": other.pk})) == []


def request_for(user, language="zh-hans"):
    request = RequestFactory().get("/", HTTP_ACCEPT_LANGUAGE=language)
    request.user = user
    return request


def test_the_form_class_is_built_once_and_each_form_checks_its_own_callers_scope(w, city, personas):
    assert FindingFilterSet.form_class() is FindingFilterSet.form_class()
    assert FindingFilterSet.form_class() is not TaskFilterSet.form_class()
    data = QueryDict(f"within={city.district_a.code}&point={w.point_a.pk}")
    # One class, two callers in turn: neither sees the other's scope.
    a = FindingFilterSet(data, Finding.objects.all(), request=request_for(personas.handler_a))
    b = FindingFilterSet(data, Finding.objects.all(), request=request_for(personas.handler_b))
    assert type(a.form) is type(b.form)
    assert a.is_valid() and a.form.cleaned_data["within"] == city.district_a
    assert not b.is_valid() and set(b.errors) == {"within", "point"}
    assert a.is_valid()  # b's request did not replace a's
    assert list(a.qs) == [w.finding]
    # The filters are the instance's own: their methods run on the instance's data.
    assert a.filters["within"].parent is a and b.filters["within"].parent is b
    assert FindingFilterSet.base_filters["within"] is not a.filters["within"]


def test_labels_and_messages_follow_each_requests_language(w, personas):
    FindingFilterSet.form_class()  # built under whatever language the test starts in
    for language, expected in (("en", "Select a valid choice."), ("zh-hans", "选择一个有效的选项")):
        with translation.override(language):
            filterset = FindingFilterSet(QueryDict("category=999999"), Finding.objects.all(),
                                         request=request_for(personas.supervisor, language))
            assert not filterset.is_valid()
            assert expected in filterset.errors["category"][0]
            html = str(filterset.form["status"])
            assert ("being rectified" in html) == (language == "en")


def test_an_empty_record_box_reads_no_scope(w, personas):
    """The caller's scope (their memberships) is read only when a record box is filled."""
    from campaigns.models import User

    fresh = User.objects.get(pk=personas.handler_a.pk)  # nothing cached on it yet
    with CaptureQueriesContext(connection) as ctx:
        assert FindingFilterSet(QueryDict("status=new&severity=minor"), Finding.objects.all(),
                                request=request_for(fresh)).is_valid()
    assert ctx.captured_queries == []
    with CaptureQueriesContext(connection) as ctx:
        assert FindingFilterSet(QueryDict(f"point={w.point_a.pk}"), Finding.objects.all(),
                                request=request_for(fresh)).is_valid()
    assert any("campaigns_membership" in q["sql"] for q in ctx.captured_queries)


def test_pages_still_draw_the_category_and_campaign_selects(w, personas, login):
    page = login(personas.supervisor).get(f"/findings/?category={w.category.pk}&campaign={w.campaign.pk}")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'<option value="{w.category.pk}" selected>{w.category}</option>' in html
    assert f'<option value="{w.group.pk}">{w.group}</option>' in html
    assert f'<option value="{w.campaign.pk}" selected>{w.campaign}</option>' in html
    assert '<option value="">全部</option>' in html


def test_a_request_built_queryset_needs_a_lazy_record_filter():
    def mine(request):
        return Finding.objects.none()

    class Eager(FilterSet):
        visit = django_filters.ModelChoiceFilter(queryset=mine)

        class Meta:
            model = Finding
            fields = ["visit"]

    class Lazy(FilterSet):
        visit = NamedRecordFilter(queryset=mine)

        class Meta:
            model = Finding
            fields = ["visit"]

    with pytest.raises(ImproperlyConfigured, match="Eager.visit"):
        Eager.form_class()
    assert "visit" in Lazy.form_class().base_fields
