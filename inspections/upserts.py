"""The summary tables' month, shared by the dashboards' rollups (rollups.py) and the stored recurrence
(recurrence.py): below both, so that neither imports the other to reach it. Their writing primitives
(the additive upsert, INSERT … SELECT) are civportal/summaries.py, shared with the volunteer tally."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.db.models import DateField
from django.db.models.functions import TruncMonth
from django.utils import timezone

SHANGHAI = ZoneInfo("Asia/Shanghai")


def month_of(value: dt.datetime) -> dt.date:
    """The Asia/Shanghai month of a time, as its first day."""
    try:
        value = timezone.localtime(value, SHANGHAI)
    except OverflowError:  # the last hours of year 9999 (hostile input): keep the UTC month
        pass
    return value.date().replace(day=1)


def trunc_month(field: str) -> TruncMonth:
    """The Asia/Shanghai month of a time column, as a date, in SQL (PostgreSQL and SQLite)."""
    return TruncMonth(field, output_field=DateField(), tzinfo=SHANGHAI)
