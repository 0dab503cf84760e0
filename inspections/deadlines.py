"""Deadlines in Chinese working days.

The national calendar (public holidays and the weekend days worked in
exchange, 调休) comes from ``chinesecalendar``; supervisors correct single
dates with ``CalendarOverride``. A rule of N working days ends at the end
(23:59:59 local time) of the N-th working day after the dispatch day; a rule
in hours is plain elapsed time (urgent problems do not wait for Monday)."""

from __future__ import annotations

import datetime as dt
import functools
import logging
from dataclasses import dataclass

import chinese_calendar
from django.db.models import Q
from django.utils import timezone

from .models import CalendarOverride, DeadlineRule, FindingCategory, HolidaySchedule, Severity

logger = logging.getLogger(__name__)

# Built-in rules when the office has configured none (DESIGN.md §4).
DEFAULT_RULES = {
    Severity.MINOR: (24, DeadlineRule.Measure.HOURS),
    Severity.MODERATE: (3, DeadlineRule.Measure.WORKING_DAYS),
    Severity.SEVERE: (7, DeadlineRule.Measure.WORKING_DAYS),
}
ENGINEERING_RULE = (20, DeadlineRule.Measure.WORKING_DAYS)
END_OF_DAY = dt.time(23, 59, 59)


# The holidays fixed by date in the national rules (全国年节及纪念日放假办法); the lunar ones
# (春节, 清明, 端午, 中秋) and the make-up workdays are announced each year.
FIXED_HOLIDAYS = {
    (1, 1): "元旦", (5, 1): "劳动节", (10, 1): "国庆节", (10, 2): "国庆节", (10, 3): "国庆节",
}
_warned_years: set[int] = set()


@functools.cache
def library_knows(year: int) -> bool:
    """Whether ``chinesecalendar`` has the State Council's schedule for ``year``."""
    try:
        chinese_calendar.is_workday(dt.date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def fallback_is_workday(day: dt.date) -> bool:
    """For a year the library does not know: Monday–Friday except the fixed-date holidays."""
    return day.weekday() < 5 and (day.month, day.day) not in FIXED_HOLIDAYS


def is_national_workday(day: dt.date) -> bool:
    if library_knows(day.year):
        return chinese_calendar.is_workday(day)
    if day.year not in _warned_years:  # once per year and process, not once per date
        _warned_years.add(day.year)
        logger.warning("chinesecalendar has no data for %s; deadlines in it are provisional (Monday-Friday and the "
                       "fixed-date holidays) until the office imports the year's schedule", day.year)
    return fallback_is_workday(day)


def provisional_years(start: dt.date, end: dt.date) -> list[int]:
    """Years from ``start`` to ``end`` whose working days are guessed: the library
    does not know them and the office has not imported their schedule (one query at most)."""
    unknown = [y for y in range(start.year, end.year + 1) if not library_knows(y)]
    if not unknown:
        return []
    imported = set(HolidaySchedule.objects.filter(year__in=unknown).values_list("year", flat=True))
    return [y for y in unknown if y not in imported]


def deadline_is_provisional(start: dt.datetime | dt.date, due: dt.datetime | dt.date | None) -> bool:
    """A deadline counted through a year whose holidays are not known yet."""
    if due is None:
        return False
    as_date = lambda v: timezone.localtime(v).date() if isinstance(v, dt.datetime) else v  # noqa: E731
    return bool(provisional_years(as_date(start), as_date(due)))


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


_HOLIDAY_NAMES = {h.value: h.chinese for h in chinese_calendar.Holiday}


@dataclass(frozen=True)
class CalendarDay:
    date: dt.date
    is_workday: bool
    kind: str  # "holiday", "makeup" (a weekend worked), "weekend", "workday"
    name: str
    overridden: bool


def year_calendar(year: int) -> list[tuple[int, list[list[CalendarDay | None]]]]:
    """The year as 12 months of Monday-first weeks (None pads), with each
    day's effective status: the national calendar (or the fallback) with the
    office's overrides on top (one query)."""
    import calendar as pycal

    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    overrides = {o.date: o for o in CalendarOverride.objects.filter(date__range=(start, end)).order_by()}
    known = library_knows(year)
    months = []
    for month in range(1, 13):
        weeks = []
        for week in pycal.Calendar().monthdatescalendar(year, month):
            row: list[CalendarDay | None] = []
            for day in week:
                if day.month != month:
                    row.append(None)
                    continue
                override = overrides.get(day)
                if override is not None:
                    workday, name = override.is_workday, override.reason
                elif known:
                    workday = chinese_calendar.is_workday(day)
                    name = _HOLIDAY_NAMES.get(chinese_calendar.get_holiday_detail(day)[1] or "", "")
                else:
                    workday, name = fallback_is_workday(day), FIXED_HOLIDAYS.get((day.month, day.day), "")
                weekend = day.weekday() >= 5
                if workday:
                    kind = "makeup" if weekend else "workday"
                else:
                    kind = "holiday" if (not weekend or name) else "weekend"
                if kind in ("workday", "weekend") and override is None:
                    name = ""
                row.append(CalendarDay(day, workday, kind, name, override is not None))
            weeks.append(row)
        months.append((month, weeks))
    return months
