"""Service hours: minutes in the ledger, hours for people, star levels.

Star levels follow the national volunteer star rating (一星 100 h … 五星
1500 h) unless ``settings.VOLUNTEER_STAR_HOURS`` says otherwise."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.conf import settings

DEFAULT_STAR_HOURS = (100, 300, 600, 1000, 1500)


def minutes_to_hours(minutes: int | None) -> Decimal:
    """Hours with one decimal, rounded half up (95 min → 1.6)."""
    return (Decimal(minutes or 0) / 60).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def star_thresholds() -> tuple[int, ...]:
    return tuple(getattr(settings, "VOLUNTEER_STAR_HOURS", DEFAULT_STAR_HOURS))


def star_level(total_minutes: int | None) -> int:
    """0 (no star yet) to len(thresholds): the number of thresholds reached."""
    hours = Decimal(total_minutes or 0) / 60
    return sum(1 for threshold in star_thresholds() if hours >= threshold)


def next_star_hours(total_minutes: int | None) -> int | None:
    """Hours needed for the next star level, or None at the top level."""
    level = star_level(total_minutes)
    thresholds = star_thresholds()
    return thresholds[level] if level < len(thresholds) else None


def month_bounds(moment: datetime) -> tuple[datetime, datetime]:
    """[start, end) of the calendar month containing ``moment``, in Asia/Shanghai."""
    local = moment.astimezone(ZoneInfo(settings.TIME_ZONE))
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (start + timedelta(days=32)).replace(day=1)
    return start, end
