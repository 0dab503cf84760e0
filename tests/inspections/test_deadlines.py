"""Deadlines in Chinese working days, supervisor overrides, and the traffic light."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from inspections import deadlines, services
from inspections.models import DeadlineRule, FindingCategory, RectificationTask, Severity

from .helpers import finding, world

SH = ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.django_db


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SH)


def test_library_knows_2026_national_day_and_its_make_up_workdays():
    assert not deadlines.is_national_workday(dt.date(2026, 10, 1))
    assert not deadlines.is_national_workday(dt.date(2026, 10, 7))
    assert deadlines.is_national_workday(dt.date(2026, 9, 20))   # Sunday, worked for National Day
    assert deadlines.is_national_workday(dt.date(2026, 10, 10))  # Saturday, worked for National Day
    assert not deadlines.is_national_workday(dt.date(2026, 10, 11))


def test_severe_finding_dispatched_on_30_september_2026_is_due_after_national_day(city, personas):
    w = world(city, personas)
    f = finding(w, personas, severity=Severity.SEVERE)
    with time_machine.travel(at(2026, 9, 30, 10, 0), tick=False):
        task = services.task_dispatch(actor=personas.supervisor, finding=f)
    # Working days after 30 Sep: 8 Oct, 9 Oct, Sat 10 Oct (make-up), 12, 13, 14, 15 Oct.
    assert task.due_at == at(2026, 10, 15, 23, 59, 59)
    assert task.dispatched_at == at(2026, 9, 30, 10, 0)
    assert task.dispatched_at < task.warn_at < task.due_at


def test_without_the_make_up_saturday_the_deadline_would_be_a_day_later(city, personas):
    services.calendar_override_set(actor=personas.supervisor, date=dt.date(2026, 10, 10), is_workday=False,
                                   reason="本市调整")
    assert deadlines.add_working_days(dt.date(2026, 9, 30), 7) == dt.date(2026, 10, 16)


def test_supervisor_override_changes_later_deadlines_not_earlier_ones(city, personas):
    w = world(city, personas)
    first = finding(w, personas, severity=Severity.MODERATE)
    second = finding(w, personas, severity=Severity.MODERATE, visit=w.visit_b)
    with time_machine.travel(at(2026, 11, 16, 9, 0), tick=False):  # Monday
        early = services.task_dispatch(actor=personas.supervisor, finding=first)
        assert early.due_at == at(2026, 11, 19, 23, 59, 59)  # Tue, Wed, Thu
        services.calendar_override_set(actor=personas.supervisor, date=dt.date(2026, 11, 18), is_workday=False,
                                       reason="台风停工")
        later = services.task_dispatch(actor=personas.supervisor, finding=second)
    assert later.due_at == at(2026, 11, 20, 23, 59, 59)
    early.refresh_from_db()
    assert early.due_at == at(2026, 11, 19, 23, 59, 59)


def test_override_can_make_a_weekend_day_a_working_day(personas, city):
    assert deadlines.add_working_days(dt.date(2026, 11, 20), 1) == dt.date(2026, 11, 23)
    services.calendar_override_set(actor=personas.supervisor, date=dt.date(2026, 11, 21), is_workday=True,
                                   reason="集中整治日")
    assert deadlines.add_working_days(dt.date(2026, 11, 20), 1) == dt.date(2026, 11, 21)


def test_only_supervisors_change_the_calendar(personas, city):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.calendar_override_set(actor=personas.handler_a, date=dt.date(2026, 11, 21), is_workday=True,
                                       reason="x")


def test_default_rules_minor_hours_moderate_severe_and_engineering_working_days(db):
    plain = FindingCategory.objects.create(code="A", name="乱贴乱画")
    works = FindingCategory.objects.create(code="B", name="道路破损", engineering=True)
    assert deadlines.allowance_for(plain, Severity.MINOR) == deadlines.Allowance(24, "hours")
    assert deadlines.allowance_for(plain, Severity.MODERATE) == deadlines.Allowance(3, "working_days")
    assert deadlines.allowance_for(plain, Severity.SEVERE) == deadlines.Allowance(7, "working_days")
    assert deadlines.allowance_for(works, Severity.MINOR) == deadlines.Allowance(20, "working_days")
    start = at(2026, 11, 20, 15, 30)
    assert deadlines.due_at_for(start, deadlines.Allowance(24, "hours")) == at(2026, 11, 21, 15, 30)


def test_configured_rules_most_specific_first(personas, city):
    category = FindingCategory.objects.create(code="C", name="占道经营")
    services.deadline_rule_save(actor=personas.supervisor, category=None, severity=Severity.MINOR, amount=2,
                                measure=DeadlineRule.Measure.WORKING_DAYS)
    services.deadline_rule_save(actor=personas.supervisor, category=category, severity="", amount=48,
                                measure=DeadlineRule.Measure.HOURS)
    services.deadline_rule_save(actor=personas.supervisor, category=category, severity=Severity.SEVERE, amount=5,
                                measure=DeadlineRule.Measure.WORKING_DAYS)
    other = FindingCategory.objects.create(code="D", name="其他")
    assert deadlines.allowance_for(category, Severity.SEVERE) == deadlines.Allowance(5, "working_days")
    assert deadlines.allowance_for(category, Severity.MINOR) == deadlines.Allowance(48, "hours")
    assert deadlines.allowance_for(other, Severity.MINOR) == deadlines.Allowance(2, "working_days")
    assert deadlines.allowance_for(other, Severity.SEVERE) == deadlines.Allowance(7, "working_days")
    # Saving again replaces the rule instead of adding a second one.
    services.deadline_rule_save(actor=personas.supervisor, category=category, severity=Severity.SEVERE, amount=6,
                                measure=DeadlineRule.Measure.WORKING_DAYS)
    assert DeadlineRule.objects.filter(category=category, severity=Severity.SEVERE).get().amount == 6


@pytest.mark.parametrize("hours_later, light", [(0, "green"), (79, "green"), (81, "yellow"), (99, "yellow"),
                                                (100, "yellow"), (101, "red"), (130, "red")])
def test_traffic_light_green_until_80_percent_yellow_until_due_red_after(city, personas, hours_later, light):
    w = world(city, personas)
    f = finding(w, personas)
    start = at(2026, 11, 2, 0, 0)
    with time_machine.travel(start, tick=False):
        task = services.task_dispatch(actor=personas.supervisor, finding=f, due_at=start + dt.timedelta(hours=100))
    now = start + dt.timedelta(hours=hours_later)
    assert task.light_at(now) == light
    annotated = RectificationTask.objects.with_light(now).get(pk=task.pk)
    assert annotated.light == light
    assert list(RectificationTask.objects.overdue(now)) == ([task] if light == "red" else [])


def test_closed_tasks_have_no_light(city, personas):
    from .helpers import submitted

    w = world(city, personas)
    task = services.task_verify(actor=personas.supervisor, task=submitted(w, personas), passed=True)
    assert task.light_at() == "" and RectificationTask.objects.with_light().get(pk=task.pk).urgency == 3
