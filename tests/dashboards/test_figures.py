"""Every figure against the hand-built facts of conftest.py."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from tests.volunteers.conftest import make_volunteer

from .conftest import OCT, SEP, october

pytestmark = pytest.mark.django_db


def dashboard(client, url, **params):
    response = client.get(reverse(url), params)
    assert response.status_code == 200, response.content[:2000]
    return response.context["fig"], response


def test_district_figures_for_october(login, personas, city, facts):
    fig, _ = dashboard(login(personas.supervisor), "dashboards:supervisor",
                       **october(facts.camp, unit=city.district_a.code))
    assert fig.root == city.district_a
    assert fig.findings == {"open": 4, "untriaged": 1, "opened": 3}
    assert fig.lights == {"red": 1, "yellow": 1, "green": 1}
    assert fig.tasks["closed"] == 3 and fig.tasks["on_time"] == 2 and fig.tasks["reworked"] == 2
    assert fig.on_time_rate == Decimal("66.7")
    assert fig.rework_rate == Decimal("66.7")
    assert fig.average_days == Decimal("10.3")  # (7 + 14 + 10) / 3
    assert [(r["name"], r["n"]) for r in fig.by_category] == [("秩序", 2), ("环境卫生", 1)]
    assert sorted((r["name"] or "-", r["n"]) for r in fig.by_point_type) == [("-", 1), ("市场", 1), ("背街", 1)]
    assert [t.pk for t in fig.overdue_tasks] == [facts.r1.pk]
    lights = {r["pk"]: r["light"] for r in fig.map_rows}
    assert lights == {facts.f1.pk: "red", facts.f2.pk: "grey", facts.h2.pk: "yellow", facts.h3.pk: "green"}
    # The district has its own score: its index is its total, ranked 2nd of 2.
    assert fig.index_kind == "district" and fig.average_index == Decimal("90.00")
    assert [s.unit for s in fig.ranking] == [city.district_a]
    trend = {row["month"]: row for row in fig.trend}
    assert len(fig.trend) == 12 and fig.trend[-1]["month"] == OCT
    assert (trend[OCT]["opened"], trend[OCT]["closed"], trend[OCT]["index"]) == (3, 4, Decimal("90.00"))
    assert (trend[SEP]["opened"], trend[SEP]["closed"], trend[SEP]["index"]) == (6, 1, Decimal("80.00"))


def test_city_figures_add_both_districts(login, personas, city, facts):
    fig, response = dashboard(login(personas.supervisor), "dashboards:supervisor", **october(facts.camp))
    assert fig.root == city.city
    assert fig.findings == {"open": 5, "untriaged": 2, "opened": 4}
    assert fig.tasks["closed"] == 4 and fig.tasks["on_time"] == 2 and fig.tasks["reworked"] == 2
    assert fig.on_time_rate == Decimal("50.0") and fig.rework_rate == Decimal("50.0")
    assert fig.average_index == Decimal("92.50")  # mean of the districts' totals
    assert [(s.unit, s.rank, s.list_flag) for s in fig.ranking] == [(city.district_b, 1, "red"),
                                                                     (city.district_a, 2, "")]
    assert {r["month"]: r["index"] for r in fig.trend}[SEP] == Decimal("75.00")
    html = response.content.decode()
    assert 'class="badge list-red"' in html
    assert 'id="dashboard-data"' in html and "<script>" not in html.replace('<script id="dashboard-data"', "")


def test_no_closed_tasks_gives_no_rate(login, personas, city, facts):
    fig, response = dashboard(login(personas.supervisor), "dashboards:supervisor",
                              campaign=facts.camp.pk, month="2026-08")
    assert fig.tasks["closed"] == 0 and fig.on_time_rate is None and fig.rework_rate is None
    assert fig.average_days is None and fig.average_index is None
    assert fig.findings["opened"] == 0


def test_volunteer_figures_match_the_statistics_page(login, personas, city, facts):
    city.district_a.population = 100
    city.district_a.save()
    make_volunteer(city.community_a1)
    make_volunteer(city.community_a1)
    make_volunteer(city.street_b1)
    client = login(personas.supervisor)
    fig, response = dashboard(client, "dashboards:supervisor", unit=city.district_a.code)
    assert fig.volunteers.registered == 2 and fig.volunteers.share_percent == Decimal("2.00")
    stats = client.get(reverse("volunteers:statistics"), {"unit": city.district_a.pk}).context["total"]
    for name in ("registered", "active_this_month", "minutes_this_month", "activities_held"):
        assert getattr(fig.volunteers, name) == getattr(stats, name), name
    assert f'{reverse("volunteers:statistics")}?unit={city.district_a.pk}&amp;month=' in response.content.decode()


def test_past_month_volunteer_figures_match_the_statistics_page(login, personas, city, facts):
    import datetime as dt

    from django.utils import timezone

    from volunteers.models import HourEntry, Signup
    from tests.volunteers.conftest import make_activity

    volunteer = make_volunteer(city.community_a1)
    activity = make_activity(city.community_a1, starts_at=dt.datetime(2026, 10, 3, 9, tzinfo=timezone.get_current_timezone()))
    signup = Signup.objects.create(activity=activity, volunteer=volunteer, status=Signup.Status.ATTENDED,
                                   checked_in_at=activity.starts_at)
    HourEntry.objects.create(volunteer=volunteer, activity=activity, signup=signup, minutes=90,
                             served_at=activity.starts_at,
                             approved_by=personas.supervisor, approved_at=activity.ends_at)
    client = login(personas.supervisor)
    fig, _ = dashboard(client, "dashboards:supervisor", **october(facts.camp, unit=city.district_a.code))
    assert (fig.volunteers.active_this_month, fig.volunteers.minutes_this_month, fig.volunteers.activities_held) == (1, 90, 1)
    page = client.get(reverse("volunteers:statistics"), {"unit": city.district_a.pk, "month": "2026-10"})
    assert page.status_code == 200
    total = page.context["total"]
    assert (total.active_this_month, total.minutes_this_month, total.activities_held) == (1, 90, 1)
    bad = client.get(reverse("volunteers:statistics"), {"unit": city.district_a.pk, "month": "2026-1x"})
    assert bad.status_code == 200 and "month" in bad.context["form"].errors


def test_unit_dashboard_rank_and_costs(login, personas, city, facts):
    fig, response = dashboard(login(personas.head_a), "dashboards:unit", **october(facts.camp))
    assert fig.root == city.district_a
    score = response.context["score"]
    assert score == facts.scores.a_oct and score.rank == 2
    # f1 and f2 were seen on October's visits in district A: they cost field points.
    assert {f.pk for f in response.context["costs"]} == {facts.f1.pk, facts.f2.pk}
    assert response.context["costs"][0].pk == facts.f1.pk  # 垃圾 deducts 2, 秩序 1
    html = response.content.decode()
    assert reverse("scores:score_detail", args=[score.pk]) in html


def test_latest_scored_month_shown_before_scores_exist(login, personas, city, facts):
    fig, _ = dashboard(login(personas.supervisor), "dashboards:supervisor", campaign=facts.camp.pk,
                       month="2026-11")
    assert fig.month == dt.date(2026, 11, 1) and fig.score_month == OCT
    assert fig.average_index == Decimal("92.50")


def test_a_second_root_keeps_the_path_filter(login, personas, city, facts):
    from campaigns.models import Unit
    from tests.factories import make_unit

    from .conftest import at, make_finding

    other = make_unit(kind=Unit.Kind.CITY, name="邻市", code="N")
    make_finding(facts.camp, facts.order, other, at(10, 3))
    fig, _ = dashboard(login(personas.supervisor), "dashboards:supervisor", **october(facts.camp))
    assert fig.findings == {"open": 5, "untriaged": 2, "opened": 4}  # as without the other city
    superuser_fig = fig
    assert superuser_fig.root.dash_everything is False
