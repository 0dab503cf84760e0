"""Acceptance 2: hours come from check-in/out, only approved hours count, and
the ledger, profile, certificate and statistics agree."""

import re
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db.models import Sum
from django.urls import reverse

from volunteers import hours, selectors, services
from volunteers.models import HourEntry

from .conftest import make_activity, make_volunteer

SH = ZoneInfo("Asia/Shanghai")


def _serve(activity, volunteer, organiser, *, minutes, approve=True):
    signup = services.signup_create(actor=organiser, activity=activity, volunteer=volunteer,
                                    now=activity.starts_at - timedelta(days=1))
    services.signup_check_in(actor=organiser, signup=signup, now=activity.starts_at)
    signup = services.signup_check_out(actor=organiser, signup=signup,
                                       now=activity.starts_at + timedelta(minutes=minutes))
    if approve:
        services.signup_approve_hours(actor=organiser, signup=signup, now=activity.ends_at)
    return signup


@pytest.fixture
def served(vol, city, personas):
    """In March 2026 (Shanghai): vol.own serves 150 approved minutes over two
    activities plus 60 unapproved ones; vol.other serves 45 approved minutes."""
    organiser = personas.handler_a
    a1 = make_activity(city.community_a1, starts_at=datetime(2026, 3, 5, 9, tzinfo=SH), hours=3, capacity=5)
    a2 = make_activity(vol.community_a2, starts_at=datetime(2026, 3, 12, 9, tzinfo=SH), hours=2, capacity=5)
    a3 = make_activity(city.community_a1, starts_at=datetime(2026, 3, 20, 9, tzinfo=SH), hours=2, capacity=5)
    _serve(a1, vol.own, organiser, minutes=95)
    _serve(a2, vol.own, organiser, minutes=55)
    _serve(a3, vol.own, organiser, minutes=60, approve=False)  # checked out, not approved: does not count
    _serve(a1, vol.other, organiser, minutes=45)
    return vol


def test_only_approved_hours_enter_the_ledger(served):
    assert sorted(HourEntry.objects.values_list("minutes", flat=True)) == [45, 55, 95]
    summary = selectors.service_summary(served.own)
    assert (summary.total_minutes, summary.activity_count, summary.hours) == (150, 2, Decimal("2.5"))


def test_ledger_profile_certificate_and_statistics_agree(served, city, personas, login):
    client = login(personas.supervisor)
    with time_machine.travel(datetime(2026, 3, 25, 12, tzinfo=SH), tick=False):
        profile = client.get(reverse("volunteers:volunteer_detail", args=[served.own.pk])).content.decode()
        certificate = client.get(reverse("volunteers:volunteer_certificate", args=[served.own.pk])).content.decode()
        ledger = client.get(reverse("volunteers:ledger"), {"volunteer": served.own.pk})
        stats = client.get(reverse("volunteers:statistics"), {"unit": city.street_a1.pk})
    ledger_minutes = sum(entry.minutes for entry in ledger.context["page"])
    assert ledger_minutes == 150
    assert re.search(r'id="total-hours">2\.5 ', profile)
    assert '<span id="cert-hours">2.5</span>' in certificate
    rows = {row.unit.pk: row for row in stats.context["rows"]}
    total = stats.context["total"]
    assert rows[city.community_a1.pk].minutes_this_month == 150  # vol.own is registered in community A1
    assert rows[served.community_a2.pk].minutes_this_month == 45
    assert total.minutes_this_month == 150 + 45 == HourEntry.objects.aggregate(s=Sum("minutes"))["s"]
    assert total.active_this_month == 2
    assert total.activities_held == 3
    api_total = client.get(f"/api/v1/volunteers/{served.own.pk}/").json()["total_hours"]
    assert Decimal(api_total) == Decimal("2.5")


def test_statistics_count_registered_share_of_population_and_activities(served, city):
    make_volunteer(city.community_a1, status="applied")  # applications are not registered volunteers
    total, rows = selectors.unit_statistics(city.street_a1, now=datetime(2026, 3, 25, tzinfo=SH))
    by_unit = {row.unit.pk: row for row in rows}
    a1, a2 = by_unit[city.community_a1.pk], by_unit[served.community_a2.pk]
    assert (a1.registered, a2.registered, total.registered) == (1, 1, 2)
    assert a1.share_percent == Decimal("0.01")  # 1 of 8,000
    assert a2.share_percent == Decimal("0.02")  # 1 of 5,000
    assert (a1.activities_held, a2.activities_held) == (2, 1)


def test_statistics_months_follow_shanghai_time(vol, city, personas):
    """A check-in at 23:30 on 31 March (Shanghai) counts in March, not April."""
    late = make_activity(city.community_a1, starts_at=datetime(2026, 3, 31, 23, 30, tzinfo=SH), hours=1)
    _serve(late, vol.own, personas.handler_a, minutes=30)
    march, _ = selectors.unit_statistics(city.street_a1, now=datetime(2026, 3, 31, 23, 59, tzinfo=SH))
    april, _ = selectors.unit_statistics(city.street_a1, now=datetime(2026, 4, 1, 0, 1, tzinfo=SH))
    assert (march.minutes_this_month, march.active_this_month, march.activities_held) == (30, 1, 1)
    assert (april.minutes_this_month, april.active_this_month, april.activities_held) == (0, 0, 0)


def test_statistics_query_count_does_not_grow_with_the_number_of_units(vol, city, django_assert_num_queries):
    from tests.factories import make_unit

    now = datetime(2026, 3, 25, tzinfo=SH)
    with django_assert_num_queries(5):
        selectors.unit_statistics(city.district_a, now=now)
    for i in range(5):
        make_unit(city.district_a, kind="street", code=f"C-A-X{i}")
    with django_assert_num_queries(5):
        _total, rows = selectors.unit_statistics(city.district_a, now=now)
    assert len(rows) == 6


def test_star_levels_follow_configurable_thresholds(settings):
    assert hours.star_level(99 * 60) == 0 and hours.star_level(100 * 60) == 1 and hours.star_level(1500 * 60) == 5
    settings.VOLUNTEER_STAR_HOURS = (2, 4)
    assert [hours.star_level(m) for m in (119, 120, 240, 9999)] == [0, 1, 2, 2]
    assert hours.next_star_hours(130) == 4 and hours.next_star_hours(240) is None


def test_profile_shows_star_level_from_approved_hours(served, personas, login, settings):
    settings.VOLUNTEER_STAR_HOURS = (2, 3)
    body = login(personas.supervisor).get(reverse("volunteers:volunteer_detail", args=[served.own.pk])).content.decode()
    assert re.search(r'<span class="stars"[^>]*>(★+)</span>', body).group(1) == "★"  # 2.5 h: one star of two
