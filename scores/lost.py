"""Lost points by criterion (失分项分析): for a campaign and a period, the indicator
tree of the campaign's edition with, at each node, the points at stake (criteria
judged 达标 or 不达标 at the period's visits), the points lost (不达标), the 达标率
weighted by points, the number of failed checks and the units that lost most.

Aggregated in SQL: one grouped query per leaf, one per (leaf, unit) of the
losses, one for the tree and one for the unit names — four queries whatever
the number of visits, checks or units. Upper nodes add up their criteria in
Python over the materialized paths (a node's path is a prefix of its
criteria's). Scoped like the visits: a check counts when its visit is in the
reader's scope (docs/field-evaluation.md)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Count, DecimalField, Q, Sum
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from campaigns.filtersets import UnitRefField
from campaigns.models import Campaign, Indicator, PointType, Unit
from campaigns.scope import path_q
from inspections.models import VisitCheck

from .compute import SHANGHAI
from .periods import Period

ZERO = Decimal(0)
HUNDRED = Decimal(100)
DEC = DecimalField(max_digits=14, decimal_places=2)
TOP_UNITS = 3


def period_bounds(value: str) -> tuple[dt.date, dt.date]:
    """A period as the scores read it (``scores.periods.Period``: ``YYYY-MM``, ``YYYY-Qn``, ``YYYY-Hn``
    or ``YYYY``) → [first day, first day after). Raises ValidationError for anything else."""
    try:
        return Period.parse(value).bounds
    except ValidationError as exc:
        raise ValidationError(exc.message_dict["period"], code="period") from None


class LostPointsForm(forms.Form):
    """The page's and the API's filters (the API reads the same names from the query string)."""

    campaign = forms.ModelChoiceField(queryset=Campaign.objects.none(), required=False, label=_lazy("Campaign"),
                                      widget=forms.Select)
    period = forms.CharField(required=False, max_length=11, label=_lazy("Period"),
                             help_text=_lazy("2026-10, 2026-Q3, 2026-H2 or 2026"))
    within = UnitRefField(queryset=Unit.objects.none(), required=False, label=_lazy("Within unit (subtree)"))
    point_type = forms.ModelChoiceField(queryset=PointType.objects.order_by("name"), required=False,
                                        label=_lazy("Point type"))

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["campaign"].queryset = Campaign.objects.visible_to(user).order_by("-starts_on", "-id")
        self.fields["within"].queryset = Unit.objects.visible_to(user)

    def clean_period(self):
        value = self.cleaned_data.get("period") or ""
        if value:
            period_bounds(value)  # raises the translated error
        return value


@dataclass
class Node:
    indicator: Indicator
    stake: Decimal = ZERO
    lost: Decimal = ZERO
    judged: int = 0
    failed: int = 0
    units: dict = field(default_factory=lambda: defaultdict(lambda: ZERO))
    top_units: list = field(default_factory=list)

    @property
    def rate(self) -> Decimal | None:
        """达标率 weighted by points, in percent."""
        return ((self.stake - self.lost) * HUNDRED / self.stake).quantize(Decimal("0.01")) if self.stake else None

    @property
    def depth(self) -> int:
        return self.indicator.depth


def checks_in(user, campaign: Campaign, start: dt.date, end: dt.date, *, within: Unit | None = None,
              point_type: PointType | None = None):
    """The judged (达标/不达标) checks of the period's visits of ``campaign`` in the reader's scope."""
    starts = dt.datetime.combine(start, dt.time(), tzinfo=SHANGHAI)
    ends = dt.datetime.combine(end, dt.time(), tzinfo=SHANGHAI)
    checks = VisitCheck.objects.filter(
        visit__inspection__campaign=campaign, visit__visited_at__gte=starts, visit__visited_at__lt=ends,
        result__in=VisitCheck.SCORED,
    )
    scope = path_q(user, "visit__unit_path", "visit__department_path")
    if scope is not None:
        checks = checks.filter(scope)
    if within is not None:
        # A department's are the visits at the points it supervises; a territorial unit's, its subtree's.
        column = "visit__department_path" if within.kind == Unit.Kind.DEPARTMENT else "visit__unit_path"
        checks = checks.filter(**{f"{column}__startswith": within.path})
    if point_type is not None:
        checks = checks.filter(visit__point__point_type=point_type)
    return checks.order_by()


def lost_points(user, campaign: Campaign, start: dt.date, end: dt.date, *, within: Unit | None = None,
                point_type: PointType | None = None) -> list[Node]:
    """The tree (nodes with points at stake, in the edition's order), each node with its totals and the
    units that lost most. Four queries."""
    if campaign.indicator_system_id is None:
        return []
    checks = checks_in(user, campaign, start, end, within=within, point_type=point_type)
    failed = Q(result=VisitCheck.Result.FAILED)
    leaves = {
        row["indicator_id"]: row for row in checks.values("indicator_id").annotate(
            stake=Sum("indicator__points", output_field=DEC),
            lost=Sum("indicator__points", filter=failed, output_field=DEC),
            judged=Count("id"), failed=Count("id", filter=failed),
        )
    }
    if not leaves:
        return []
    losses = list(checks.filter(failed).values("indicator_id", "visit__unit_id")
                  .annotate(lost=Sum("indicator__points", output_field=DEC)))
    tree = list(Indicator.objects.filter(system_id=campaign.indicator_system_id).order_by("path"))
    nodes = {i.path: Node(i) for i in tree}
    by_id = {i.pk: i.path for i in tree}
    step = Indicator.STEPLEN

    def ancestors(path: str):
        for n in range(step, len(path) + 1, step):
            node = nodes.get(path[:n])
            if node is not None:
                yield node

    for pk, row in leaves.items():
        for node in ancestors(by_id.get(pk, "")):
            node.stake += row["stake"] or ZERO
            node.lost += row["lost"] or ZERO
            node.judged += row["judged"]
            node.failed += row["failed"]
    for row in losses:
        for node in ancestors(by_id.get(row["indicator_id"], "")):
            node.units[row["visit__unit_id"]] += row["lost"] or ZERO
    unit_ids = {u for node in nodes.values() for u in node.units}
    names = dict(Unit.objects.filter(pk__in=unit_ids).values_list("pk", "name")) if unit_ids else {}
    out = []
    for node in nodes.values():
        if not node.stake:
            continue
        ranked = sorted(node.units.items(), key=lambda kv: (-kv[1], names.get(kv[0], "")))[:TOP_UNITS]
        node.top_units = [{"id": pk, "name": names.get(pk, ""), "lost": lost} for pk, lost in ranked]
        out.append(node)
    return out


def top_lost_criteria(user, campaign: Campaign, start: dt.date, end: dt.date, *, limit: int = 5,
                      within: Unit | None = None) -> list[dict]:
    """The criteria that lost most points (the dashboards' panel): one grouped query."""
    if campaign is None or campaign.indicator_system_id is None:
        return []
    rows = (
        checks_in(user, campaign, start, end, within=within).filter(result=VisitCheck.Result.FAILED)
        .values("indicator_id", "indicator__code", "indicator__name")
        .annotate(lost=Sum("indicator__points", output_field=DEC), failed=Count("id"))
        .order_by("-lost", "indicator__code")[:limit]
    )
    return [{"id": r["indicator_id"], "code": r["indicator__code"], "name": r["indicator__name"],
             "lost": r["lost"], "failed": r["failed"]} for r in rows]


def headers() -> list[str]:
    return [_("code"), _("level"), _("indicator"), _("points at stake"), _("points lost"), _("compliance rate (%)"),
            _("failed checks"), _("units that lost most")]


def rows(nodes: list[Node]) -> list[list]:
    """The export's rows: the page's table, cell for cell."""
    return [
        [n.indicator.code, n.indicator.get_level_display(), n.indicator.name, n.stake, n.lost, n.rate, n.failed,
         "、".join(f"{u['name']} {u['lost']}" for u in n.top_units)]
        for n in nodes
    ]
