"""Reads of materials review: lists, the completeness matrix (aggregates in
SQL) and M, the materials component of the monthly index."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from types import SimpleNamespace

from django.db.models import Case, Count, DecimalField, F, Q, Sum, Value, When

from campaigns.models import Campaign, Indicator, Unit

from .models import MaterialCall, MaterialSubmission

HUNDRED = Decimal(100)
States = MaterialSubmission.State


def calls(user):
    return MaterialCall.objects.visible_to(user).select_related("campaign", "indicator")


def submissions(user):
    return MaterialSubmission.objects.visible_to(user).select_related("call", "call__indicator", "unit")


def owed(user, today: dt.date):
    """What the user's units still owe: answers not submitted or returned, soonest deadline first."""
    return (submissions(user).filter(status__in=MaterialSubmission.OWED, call__status=MaterialCall.Status.OPEN)
            .with_state(today).order_by("call__deadline", "unit__path", "pk"))


def _state_counts() -> dict:
    return {state: Count("pk", filter=Q(state=state)) for state in States.values}


@dataclass
class Matrix:
    """Indicators (one call each) × units, with the state of each cell and the counts."""

    calls: list
    units: list
    cells: dict = field(default_factory=dict)  # (call id, unit id) -> state
    row_counts: dict = field(default_factory=dict)  # call id -> {state: n}
    col_counts: dict = field(default_factory=dict)  # unit id -> {state: n}
    totals: dict = field(default_factory=dict)

    def rows(self):
        for call in self.calls:
            yield call, [self.cells.get((call.pk, u.pk), "") for u in self.units], self.row_counts.get(call.pk, {})


def completeness_cells(user, campaign: Campaign, today: dt.date, *, within: Unit | None = None,
                       section: Indicator | None = None):
    qs = MaterialSubmission.objects.visible_to(user).filter(call__campaign=campaign)
    if within is not None:
        qs = qs.filter(unit__path__startswith=within.path)
    if section is not None:
        qs = qs.filter(call__indicator__path__startswith=section.path)
    return qs.with_state(today)


def completeness(user, campaign: Campaign, today: dt.date, *, within: Unit | None = None,
                 section: Indicator | None = None) -> Matrix:
    """Four queries whatever the size: calls, cells (with their units), row counts, column counts."""
    cells = completeness_cells(user, campaign, today, within=within, section=section)
    call_list = list(MaterialCall.objects.filter(pk__in=cells.values("call_id")).select_related("indicator")
                     .order_by("indicator__path", "pk"))
    matrix = Matrix(calls=call_list, units=[])
    units: dict[int, SimpleNamespace] = {}
    for c, u, code, name, path, state in cells.order_by().values_list(
            "call_id", "unit_id", "unit__code", "unit__name", "unit__path", "state"):
        matrix.cells[(c, u)] = state
        if u not in units:
            units[u] = SimpleNamespace(pk=u, code=code, name=name, path=path)
    matrix.units = sorted(units.values(), key=lambda unit: unit.path)
    counts = _state_counts()
    matrix.row_counts = {row.pop("call_id"): row for row in cells.order_by().values("call_id").annotate(**counts)}
    matrix.col_counts = {row.pop("unit_id"): row for row in cells.order_by().values("unit_id").annotate(**counts)}
    matrix.totals = {state: sum(r[state] for r in matrix.row_counts.values()) for state in States.values}
    return matrix


# --- M: the materials component of the monthly index ------------------------------------------------


def month_window(month: dt.date) -> dt.date:
    """Calls due before this date count for ``month`` (the first of the next month)."""
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def _earned():
    S = MaterialSubmission.Status
    return Case(
        When(status=S.PASSED, then=F("call__indicator__points")),
        When(status=S.PARTIAL, then=F("call__indicator__points") * F("share")),
        default=Value(Decimal(0)), output_field=DecimalField(max_digits=12, decimal_places=4),
    )


def _due(campaign: Campaign, month: dt.date):
    return MaterialSubmission.objects.filter(call__campaign=campaign, call__deadline__lt=month_window(month))


def materials_scores(campaign: Campaign, month: dt.date) -> dict[str, Decimal]:
    """M per unit path for a month: points of the material indicators the unit
    passed (partial passes by their share) ÷ points of those it was asked for
    by the month's end × 100. Units asked nothing (or only 0-point indicators) get none."""
    rows = (_due(campaign, month).order_by().values("unit__path")
            .annotate(asked=Sum("call__indicator__points"), earned=Sum(_earned())))
    return {r["unit__path"]: (HUNDRED * r["earned"] / r["asked"]).quantize(Decimal("0.01"))
            for r in rows if r["asked"]}


def materials_breakdown(campaign: Campaign, unit: Unit, month: dt.date) -> dict:
    """Per indicator: points asked, share earned, points earned; and M, for the score page."""
    rows = list(_due(campaign, month).filter(unit=unit).select_related("call__indicator")
                .annotate(earned=_earned()).order_by("call__indicator__path"))
    asked = sum((r.call.indicator.points for r in rows), Decimal(0))
    earned = sum((r.earned for r in rows), Decimal(0))
    score = (HUNDRED * earned / asked).quantize(Decimal("0.01")) if asked else None
    return {"rows": rows, "asked": asked, "earned": earned, "score": score}
