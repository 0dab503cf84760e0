"""Reads over several models: profiles, the certificate and the statistics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.db.models.functions import Substr

from campaigns.models import Unit
from campaigns.scope import scope_paths

from . import tally
from .hours import minutes_to_hours, month_bounds, next_star_hours, star_level
from .models import Activity, HourEntry, Volunteer


@dataclass
class ServiceSummary:
    """A volunteer's approved service: what the profile and the certificate print."""

    total_minutes: int
    activity_count: int

    @property
    def hours(self) -> Decimal:
        return minutes_to_hours(self.total_minutes)

    @property
    def star_level(self) -> int:
        return star_level(self.total_minutes)

    @property
    def next_star_hours(self) -> int | None:
        return next_star_hours(self.total_minutes)


def service_summary(volunteer: Volunteer) -> ServiceSummary:
    row = HourEntry.objects.filter(volunteer=volunteer).aggregate(
        minutes=Sum("minutes"), activities=Count("activity", distinct=True)
    )
    return ServiceSummary(total_minutes=row["minutes"] or 0, activity_count=row["activities"] or 0)


def hour_entries(volunteer: Volunteer):
    return HourEntry.objects.filter(volunteer=volunteer).select_related("activity", "activity__unit").order_by(
        "-served_at", "id"
    )


@dataclass
class UnitStats:
    unit: Unit | None
    registered: int = 0
    active_this_month: int = 0
    minutes_this_month: int = 0
    activities_held: int = 0

    @property
    def hours_this_month(self) -> Decimal:
        return minutes_to_hours(self.minutes_this_month)

    @property
    def population(self) -> int | None:
        return self.unit.population if self.unit is not None else None

    @property
    def share_percent(self) -> Decimal | None:
        """Registered volunteers as a percentage of the population (two decimals)."""
        if not self.population:
            return None
        return (Decimal(self.registered) * 100 / self.population).quantize(Decimal("0.01"))


def default_stats_root(user) -> Unit | None:
    paths = scope_paths(user)
    units = Unit.objects.all()
    if paths is None:
        return units.filter(depth=1).first()
    return units.filter(path__in=paths).first()


def unit_statistics(root: Unit, *, now: datetime) -> tuple[UnitStats, list[UnitStats]]:
    """Statistics of ``root``'s subtree and of each child's subtree for the
    month containing ``now`` (Asia/Shanghai): registered volunteers, share of
    the population, volunteers active this month (approved hours served in
    the month), hours this month and activities held (started, not cancelled).

    Set-based: each figure is one grouped query over the whole subtree,
    grouped by the child's path prefix (5 queries whatever the tree size)."""
    start, end = month_bounds(now)
    prefix_len = len(root.path) + Unit.steplen
    children = list(Unit.objects.filter(path__startswith=root.path, depth=root.depth + 1).defer("boundary")
                    .order_by("path"))

    def grouped(queryset, path_field: str, **aggregate) -> dict[str, dict]:
        rows = (
            queryset.filter(**{f"{path_field}__startswith": root.path})
            .annotate(prefix=Substr(path_field, 1, prefix_len))
            .order_by()
            .values("prefix")
            .annotate(**aggregate)
        )
        return {row["prefix"]: row for row in rows}

    registered = tally.registered_by_prefix(root, prefix_len)  # the tally: O(communities), not O(volunteers)
    month_entries = HourEntry.objects.filter(served_at__gte=start, served_at__lt=end)
    served = grouped(month_entries, "unit_path", people=Count("volunteer", distinct=True),
                     minutes=Sum("minutes"))
    held = grouped(
        Activity.objects.exclude(status=Activity.Status.CANCELLED).filter(
            starts_at__gte=start, starts_at__lt=end, starts_at__lte=now
        ),
        "unit__path", n=Count("pk"),
    )

    def stats_for(unit: Unit | None, prefix: str) -> UnitStats:
        return UnitStats(
            unit=unit,
            registered=registered.get(prefix, 0),
            active_this_month=served.get(prefix, {}).get("people", 0),
            minutes_this_month=served.get(prefix, {}).get("minutes") or 0,
            activities_held=held.get(prefix, {}).get("n", 0),
        )

    rows = [stats_for(child, child.path) for child in children]
    # People are counted once per subtree, so the total's distinct count is its own query.
    total_people = (
        month_entries.filter(unit_path__startswith=root.path).aggregate(n=Count("volunteer", distinct=True))
    )["n"]
    total = UnitStats(
        unit=root,
        registered=sum(registered.values()),
        active_this_month=total_people,
        minutes_this_month=sum(row["minutes"] or 0 for row in served.values()),
        activities_held=sum(row["n"] for row in held.values()),
    )
    return total, rows


def activity_places(activity: Activity) -> dict[str, int]:
    from .models import Signup

    row = activity.signups.aggregate(
        taken=Count("pk", filter=~Q(status=Signup.Status.CANCELLED)),
        attended=Count("pk", filter=Q(status=Signup.Status.ATTENDED)),
        no_show=Count("pk", filter=Q(status=Signup.Status.NO_SHOW)),
    )
    row["free"] = max(0, activity.capacity - row["taken"])
    return row
