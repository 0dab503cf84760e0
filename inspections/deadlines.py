"""Deadlines in Chinese working days.

The national calendar (public holidays and the weekend days worked in
exchange, 调休) comes from ``chinesecalendar``; supervisors correct single
dates with ``CalendarOverride``. A rule of N working days ends at the end
(23:59:59 local time) of the N-th working day after the dispatch day; a rule
in hours is plain elapsed time (urgent problems do not wait for Monday)."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import chinese_calendar
from django.db.models import Q
from django.utils import timezone

from .models import CalendarOverride, DeadlineRule, FindingCategory, Severity

logger = logging.getLogger(__name__)

# Built-in rules when the office has configured none (DESIGN.md §4).
DEFAULT_RULES = {
    Severity.MINOR: (24, DeadlineRule.Measure.HOURS),
    Severity.MODERATE: (3, DeadlineRule.Measure.WORKING_DAYS),
    Severity.SEVERE: (7, DeadlineRule.Measure.WORKING_DAYS),
}
ENGINEERING_RULE = (20, DeadlineRule.Measure.WORKING_DAYS)
END_OF_DAY = dt.time(23, 59, 59)


def is_national_workday(day: dt.date) -> bool:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        # Beyond the library's published years: Monday–Friday until it is updated.
        logger.warning("chinesecalendar has no data for %s; assuming Monday-Friday", day.year)
        return day.weekday() < 5


class WorkCalendar:
    """Working days with the office's overrides for a date range, loaded in one query."""

    def __init__(self, start: dt.date, end: dt.date):
        self.overrides = dict(
            CalendarOverride.objects.filter(date__range=(start, end)).values_list("date", "is_workday")
        )

    def is_workday(self, day: dt.date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        return is_national_workday(day)


def add_working_days(start: dt.date, days: int) -> dt.date:
    """The ``days``-th working day after ``start`` (``start`` itself never counts)."""
    # Long holidays add at most ~9 days per week of work; leave generous room.
    calendar = WorkCalendar(start, start + dt.timedelta(days=days * 3 + 30))
    day, counted = start, 0
    while counted < days:
        day += dt.timedelta(days=1)
        if calendar.is_workday(day):
            counted += 1
    return day


def working_days_between(start: dt.date, end: dt.date) -> int:
    """Working days in (start, end]."""
    if end <= start:
        return 0
    calendar = WorkCalendar(start, end)
    return sum(calendar.is_workday(start + dt.timedelta(days=i)) for i in range(1, (end - start).days + 1))


@dataclass(frozen=True)
class Allowance:
    amount: int
    measure: str

    def __str__(self) -> str:
        return f"{self.amount} {DeadlineRule.Measure(self.measure).label}"


def allowance_for(category: FindingCategory, severity: str) -> Allowance:
    """The most specific rule: category × severity, then category, then severity, then the defaults."""
    rules = {
        (rule.category_id, rule.severity): rule
        for rule in DeadlineRule.objects.filter(Q(category_id=category.pk) | Q(category__isnull=True))
    }
    for key in ((category.pk, severity), (category.pk, ""), (None, severity), (None, "")):
        if key in rules:
            return Allowance(rules[key].amount, rules[key].measure)
    amount, measure = ENGINEERING_RULE if category.engineering else DEFAULT_RULES[Severity(severity)]
    return Allowance(amount, measure)


def due_at_for(start: dt.datetime, allowance: Allowance) -> dt.datetime:
    if allowance.measure == DeadlineRule.Measure.HOURS:
        return start + dt.timedelta(hours=allowance.amount)
    local_start = timezone.localtime(start)
    day = add_working_days(local_start.date(), allowance.amount)
    return timezone.make_aware(dt.datetime.combine(day, END_OF_DAY))


def warn_at_for(start: dt.datetime, due_at: dt.datetime, share: float = 0.8) -> dt.datetime:
    """When ``share`` of the allowed time has passed (the light turns yellow, the unit is reminded)."""
    return start + (due_at - start) * share
