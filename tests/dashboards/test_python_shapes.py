"""The dashboards' Python shortcuts give what the slower general code gives: the filter form's selects
rendered without templates (the project's form renderer, civportal/widget_renderer.py), and the volunteer
figures in one query."""

from __future__ import annotations

import datetime as dt

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates
from django.utils import timezone

from civportal.widget_renderer import FastWidgetRenderer
from dashboards.forms import DashboardForm
from dashboards.selectors import volunteer_totals
from volunteers.models import Activity, HourEntry, Signup, Volunteer
from volunteers.selectors import unit_statistics
from tests.volunteers.conftest import make_activity, make_volunteer

CHOICES = [("BM", "基准市"), ("a<b", 'x"&<y'), (3, "\u2003街道"), (None, "—"), ("BM", "again")]


@pytest.mark.parametrize("value", ["BM", "a<b", 3, None, "", "absent", ["BM"]])
@pytest.mark.parametrize("attrs", [{"id": "id_unit"},
                                   {"id": "id_u", "required": True, "class": 'a"b', "disabled": False, "size": 3}])
def test_the_unit_select_renders_what_djangos_templates_render(value, attrs):
    assert isinstance(DashboardForm.base_fields["unit"].widget, forms.Select)
    fast = forms.Select(choices=CHOICES).render("unit", value, attrs, renderer=FastWidgetRenderer())
    assert fast == forms.Select(choices=CHOICES).render("unit", value, attrs, renderer=DjangoTemplates())


def test_grouped_choices_render_what_djangos_templates_render():
    grouped = [("组", [("1", "一"), ("2", "二")]), ("3", "三")]
    assert forms.Select(choices=grouped).render("g", "2", renderer=FastWidgetRenderer()) == \
        forms.Select(choices=grouped).render("g", "2", renderer=DjangoTemplates())


@pytest.mark.django_db
def test_volunteer_totals_match_the_statistics_total(city, personas):
    tz = timezone.get_current_timezone()
    now = dt.datetime(2026, 10, 20, 12, tzinfo=tz)
    people = [make_volunteer(unit) for unit in (city.community_a1, city.community_a1, city.street_b1, city.district_a)]
    make_volunteer(city.community_a1, status=Volunteer.Status.APPLIED)  # not counted as registered
    for i, (unit, starts) in enumerate([(city.community_a1, dt.datetime(2026, 10, 3, 9, tzinfo=tz)),
                                        (city.street_b1, dt.datetime(2026, 10, 5, 9, tzinfo=tz)),
                                        (city.community_a1, dt.datetime(2026, 9, 28, 9, tzinfo=tz)),  # last month
                                        (city.community_a1, dt.datetime(2026, 10, 25, 9, tzinfo=tz))]):  # after now
        activity = make_activity(unit, starts_at=starts, title=f"活动{i}")
        for volunteer in people[: 2 + i % 2]:
            signup = Signup.objects.create(activity=activity, volunteer=volunteer, status=Signup.Status.ATTENDED,
                                           checked_in_at=starts)
            HourEntry.objects.create(volunteer=volunteer, activity=activity, signup=signup, minutes=30 + 15 * i,
                                     served_at=starts, approved_by=personas.supervisor, approved_at=activity.ends_at)
    make_activity(city.community_a1, starts_at=dt.datetime(2026, 10, 4, 9, tzinfo=tz), title="取消",
                  status=Activity.Status.CANCELLED)
    for root in (city.city, city.district_a, city.street_b1, city.community_a1, city.district_b):
        expected = unit_statistics(root, now=now)[0]
        got = volunteer_totals(root, now=now)
        assert (got.registered, got.active_this_month, got.minutes_this_month, got.activities_held,
                got.share_percent) == (expected.registered, expected.active_this_month,
                                       expected.minutes_this_month, expected.activities_held,
                                       expected.share_percent), root.name
    assert volunteer_totals(city.city, now=now).active_this_month == 4 - 1  # a district-level volunteer served none


@pytest.mark.django_db
def test_ranking_and_overdue_rows_link_to_their_details(login, personas, city, facts):
    from django.urls import reverse

    from .conftest import october

    response = login(personas.supervisor).get(reverse("dashboards:supervisor"), october(facts.camp))
    fig, html = response.context["fig"], response.content.decode()
    assert fig.ranking and fig.overdue_tasks
    for score in fig.ranking:
        assert f'<a href="{reverse("scores:score_detail", args=[score.pk])}">{score.unit.name}</a>' in html
    for task in fig.overdue_tasks:
        assert f'<a href="{reverse("inspections:task_detail", args=[task.pk])}">#{task.pk} ' in html
