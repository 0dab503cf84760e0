"""回头看: re-checks of closed findings, and how often problems come back.

A rule (per campaign) draws, each run, a share of the findings closed between X and Y days ago
— and every severe one when asked — for a re-check visit. The draw is reproducible: the
candidates are the rule's closed findings in the run's stored window, ordered by id, and the
stored seed picks the same ones again (``draw``). A run covers the closures since the previous
run's window, and a rule re-checks a finding at most once (a unique constraint), so a beat that
fires twice, or two offices pressing "draw now" together, never plan a finding twice.

Recurrence rate: of the closed findings (at a point) whose closure lies in a range, the share
that came back within 30/60/90 days — a counting finding of the same category at the same point
observed after the closure, within the window. A re-check that finds the problem back records
exactly such a finding (``recurrence_of`` the original). Aggregated in SQL."""

from __future__ import annotations

import datetime as dt
import math
import random
import secrets
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, F, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from campaigns.models import Campaign, Membership, Point, Unit, User
from campaigns.scope import has_role, user_roles
from civportal.errors import Conflict

from . import recurrence, services
from .models import ChronicPoint, Finding, Inspection, Recheck, RecheckRule, RecheckRun, RecurrenceTally
from .recurrence import CHRONIC_MIN_RETURNS

WINDOWS = (30, 60, 90)
RECHECK_DAYS = 7  # the re-check inspection's planned length


def _require_office(actor: User) -> None:
    if Membership.Role.SUPERVISOR not in user_roles(actor):
        raise PermissionDenied(_("Only the campaign office (supervisors) may do this."))


# --- rules -------------------------------------------------------------------------------------


def rule_save(*, actor: User, rule: RecheckRule | None = None, **fields) -> RecheckRule:
    """Create or change a rule (the city office). Runs already made keep their window and seed."""
    _require_office(actor)
    rule = rule or RecheckRule(created_by=actor)
    for name, value in fields.items():
        setattr(rule, name, value)
    if rule.closed_min_days is not None and rule.closed_max_days is not None \
            and rule.closed_max_days <= rule.closed_min_days:
        raise ValidationError({"closed_max_days": _("The window must end further back than it starts.")})
    rule.full_clean()
    rule._history_user = actor
    rule.save()
    return rule


# --- drawing -----------------------------------------------------------------------------------


def draw(candidates: list[tuple[int, str]], *, share_percent: int, include_severe: bool, seed: int) -> list[int]:
    """The ids drawn from ``(id, severity)`` candidates: every severe one when asked, and
    ceil(share × the others) of the others chosen by ``seed``. Deterministic for the same input."""
    ordered = sorted(candidates)
    severe = [pk for pk, sev in ordered if include_severe and sev == "severe"]
    rest = [pk for pk, sev in ordered if not (include_severe and sev == "severe")]
    k = math.ceil(len(rest) * share_percent / 100)
    return sorted(severe + random.Random(seed).sample(rest, k))


def _candidates(rule: RecheckRule, closed_from: dt.datetime, closed_until: dt.datetime):
    return (
        Finding.objects.filter(campaign_id=rule.campaign_id, status=Finding.Status.CLOSED, point__isnull=False,
                               closed_at__gte=closed_from, closed_at__lt=closed_until)
        .order_by("pk")
    )


def _common_unit(paths: list[str]) -> Unit | None:
    """The lowest unit whose subtree holds every path (the re-check inspection's area)."""
    prefix = paths[0]
    for path in paths[1:]:
        while not path.startswith(prefix):
            prefix = prefix[:-Unit.steplen]
    while prefix:
        unit = Unit.objects.filter(path=prefix).first()
        if unit is not None:
            return unit
        prefix = prefix[:-Unit.steplen]
    return None


def rule_run(*, rule: RecheckRule, actor: User | None = None, now: dt.datetime | None = None,
             seed: int | None = None) -> RecheckRun | None:
    """Run a rule: draw re-checks and plan them as inspections (one per district). ``actor=None`` is the
    scheduler (once a day per rule: a second run the same day returns None); a person must be of
    the campaign office. The rule's row is locked, so concurrent runs queue and the second finds
    the window already covered."""
    if actor is not None:
        _require_office(actor)
    now = now or timezone.now()
    today = timezone.localdate(now)
    trigger = RecheckRun.Trigger.BEAT if actor is None else RecheckRun.Trigger.MANUAL
    with transaction.atomic():
        rule = RecheckRule.objects.select_for_update().select_related("campaign").get(pk=rule.pk)
        if actor is None and (not rule.active or rule.runs.filter(trigger=trigger, run_on=today).exists()):
            return None
        until = now - dt.timedelta(days=rule.closed_min_days)
        since = now - dt.timedelta(days=rule.closed_max_days)
        last = rule.runs.order_by("-closed_until").values_list("closed_until", flat=True).first()
        if last is not None and last > since:
            since = min(last, until)
        seed = secrets.randbits(62) if seed is None else seed
        rows = list(_candidates(rule, since, until).exclude(rechecks__rule=rule)
                    .values_list("pk", "severity", "point_id", "unit__path"))
        chosen = set(draw([(pk, sev) for pk, sev, _p, _u in rows], share_percent=rule.share_percent,
                          include_severe=rule.include_severe, seed=seed))
        picked = [r for r in rows if r[0] in chosen]
        run = RecheckRun.objects.create(
            rule=rule, trigger=trigger, run_on=today, seed=seed, closed_from=since, closed_until=until,
            candidate_count=len(rows), drawn_count=len(picked), run_by=actor)
        # One inspection per district (the unit two levels down the tree), so that the district's
        # inspectors may record the visits; its area is the lowest unit holding its points.
        by_district: dict[str, list] = {}
        for row in picked:
            by_district.setdefault(row[3][:2 * Unit.steplen], []).append(row)
        planned = []
        for _prefix, group in sorted(by_district.items()):
            inspection = Inspection(
                campaign=rule.campaign, kind=Inspection.Kind.SUPERVISION, unit=_common_unit([r[3] for r in group]),
                starts_on=today, ends_on=today + dt.timedelta(days=RECHECK_DAYS), created_by=actor,
                title=_("Re-check %(rule)s %(date)s") % {"rule": rule.name, "date": today.isoformat()})
            inspection._history_user = actor
            inspection.save()
            planned += [Recheck(run=run, rule=rule, inspection=inspection, finding_id=pk, point_id=point_id,
                                severe=sev == "severe") for pk, sev, point_id, _u in group]
        bulk_create_with_history(planned, Recheck, default_user=actor)
    return run


def run_active_rules(now: dt.datetime | None = None) -> int:
    """Beat: run every active rule of an active campaign once today. Returns the runs made."""
    made = 0
    for rule in RecheckRule.objects.filter(active=True, campaign__in=Campaign.objects.active()).order_by("pk"):
        made += rule_run(rule=rule, now=now) is not None
    return made


def replay(run: RecheckRun) -> list[int]:
    """The finding ids the run's seed draws from its window as the records stand now (the draw
    itself excluded findings an earlier run of the rule had planned)."""
    earlier = Recheck.objects.filter(rule_id=run.rule_id, run__created_at__lt=run.created_at)
    rows = (_candidates(run.rule, run.closed_from, run.closed_until)
            .exclude(pk__in=earlier.values("finding_id")).values_list("pk", "severity"))
    return draw(list(rows), share_percent=run.rule.share_percent, include_severe=run.rule.include_severe,
                seed=run.seed)


# --- recording a re-check ----------------------------------------------------------------------


def recheck_record(*, actor: User, recheck: Recheck, recurred: bool, description: str = "",
                   severity: str | None = None, photos_in=None, note: str = "", latitude=None,
                   longitude=None) -> Recheck:
    """The inspector's result: the place is still fixed (a clean visit), or the problem came
    back (a visit with a new finding of the same category at the point, ``recurrence_of`` the
    original, a repeat). A re-check is recorded once; a second answer is 409."""
    with transaction.atomic():
        locked = (Recheck.objects.select_for_update(of=("self",))
                  .select_related("inspection", "point__unit", "point__department", "finding__category",
                                  "finding__indicator").get(pk=recheck.pk))
        if locked.status != Recheck.Status.PLANNED:
            raise Conflict(_("This re-check was already recorded (“%(status)s”).")
                           % {"status": locked.get_status_display()})
        if not has_role(actor, locked.point.unit, services.RECORDERS):
            raise PermissionDenied(_("Only inspectors and the campaign office may record re-checks here."))
        original = locked.finding
        if recurred and not (description or "").strip():
            raise ValidationError({"description": _("Describe the problem found again.")})
        visit = services.visit_create(actor=actor, inspection=locked.inspection, point=locked.point,
                                      latitude=latitude, longitude=longitude, clean=not recurred, notes=note)
        if recurred:
            finding, _created = services.finding_create(
                actor=actor, source=Finding.Source.INSPECTION, category=original.category, description=description,
                severity=severity or original.severity, visit=visit, indicator=original.indicator,
                photos_in=photos_in, recurrence_of=original)
            locked.recurrence = finding
        locked.status = Recheck.Status.RECURRED if recurred else Recheck.Status.FIXED
        locked.visit, locked.checked_at, locked.checked_by = visit, timezone.now(), actor
        locked._history_user = actor
        locked.save()
    return locked


# --- recurrence rates --------------------------------------------------------------------------


@dataclass(frozen=True)
class Range:
    campaign: Campaign
    closed_from: dt.date
    closed_to: dt.date  # inclusive


def default_range(campaign: Campaign, today: dt.date | None = None) -> Range:
    today = today or timezone.localdate()
    return Range(campaign, today - dt.timedelta(days=365), today)


def closed_findings(rng: Range, user):
    """The closed findings at a point, closed in the range, in the user's scope, each with the
    time its problem was first seen again (``back_at``: the stored ``recurred_at``, a counting
    finding of the same category at the same point after the closure; NULL when it has not come
    back — inspections/recurrence.py keeps it)."""
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(rng.closed_from, dt.time(), tzinfo=tz)
    end = dt.datetime.combine(rng.closed_to + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    return (Finding.objects.visible_to(user)
            .filter(campaign=rng.campaign, status=Finding.Status.CLOSED, point__isnull=False,
                    closed_at__gte=start, closed_at__lt=end)
            .annotate(back_at=F("recurred_at")))


def counts() -> dict:
    """closed, back_30, back_60, back_90 as aggregates over ``closed_findings``."""
    out = {"closed": Count("id")}
    for days in WINDOWS:
        out[f"back_{days}"] = Count("id", filter=Q(back_at__lte=F("closed_at") + dt.timedelta(days=days)))
    return out


def rate(back: int, closed: int) -> Decimal | None:
    """Percent, half up to one decimal; None without closed findings."""
    if not closed:
        return None
    return (Decimal(100) * back / closed).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def with_rates(row: dict) -> dict:
    for days in WINDOWS:
        row[f"rate_{days}"] = rate(row[f"back_{days}"], row["closed"])
    return row


def unit_recurrence(rng: Range, user, unit: Unit) -> dict:
    """One unit's rates (its subtree; a department: the places it supervises). One query."""
    return with_rates(_within(closed_findings(rng, user), unit).order_by().aggregate(**counts()))


def panel(user, campaign: Campaign | None, unit: Unit, last_day: dt.date) -> dict | None:
    """The dashboards' and score page's small panel: the rates of the closures of the three or four
    months up to ``last_day`` (a month's last day; ``recurrence.window_start``) in ``unit``'s scope,
    and its five worst 顽疾点位. Two queries, on the summaries (no scan of findings; the same figures
    as ``closed_findings``): the rates from RecurrenceTally (the campaign's total rows when the user
    sees everything under the only root), the points from ChronicPoint (the window's chronic points)."""
    if campaign is None:
        return None
    month = last_day.replace(day=1)
    first = recurrence.window_start(month)
    rng = Range(campaign, first, last_day)
    rows = _summary(RecurrenceTally.objects.filter(campaign_key=campaign.pk, month__gte=first, month__lte=month),
                    user, unit, totals=True)
    rates = with_rates({k: v or 0 for k, v in rows.aggregate(**tally_sums()).items()})
    # Summed per point first; the five points' names are read after the LIMIT (PostgreSQL evaluates
    # a subquery of the select list above the top-N sort), not joined to every chronic point.
    point = Point.objects.filter(pk=OuterRef("point_id")).order_by()
    chronic = (_summary(ChronicPoint.objects.filter(campaign_key=campaign.pk, month=month), user, unit)
               .values("point_id")
               .annotate(closed=Sum("closed"), **{f"back_{d}": Sum(f"back_{d}") for d in WINDOWS})
               .filter(back_90__gte=CHRONIC_MIN_RETURNS).order_by("-back_90", "-closed", "point_id")
               .annotate(point__name=Subquery(point.values("name")), point__code=Subquery(point.values("code"))))
    return {"range": rng, "rates": rates, "chronic": [point_row(r) for r in chronic[:5]]}


def _summary(rows, user, unit: Unit, *, totals: bool = False):
    """The summary rows in the user's scope and ``unit``'s (by the units' current paths). When the
    scope holds ``unit``'s whole subtree it adds nothing; then, for the only root, every row (no join
    to the units) or, when the summary has them (``totals``), the campaign's total rows (unit 0)."""
    from campaigns.scope import path_q, scope_paths

    rows = rows.order_by()
    paths = scope_paths(user)
    covered = paths is None or any(unit.path.startswith(p) for p in paths)
    if not covered:
        rows = rows.filter(path_q(user, "unit__path", "department__path"))
    if unit.kind == Unit.Kind.DEPARTMENT:
        return rows.filter(department__path__startswith=unit.path)
    if covered and _only_root(unit):
        return rows.filter(unit_id=recurrence.ALL_UNITS) if totals else rows
    return rows.filter(unit__path__startswith=unit.path)


def _only_root(unit: Unit) -> bool:
    """Whether ``unit`` is the root of every unit; kept on the object (the dashboards set it first)."""
    if not hasattr(unit, "dash_everything"):
        unit.dash_everything = unit.depth == 1 and not Unit.objects.filter(depth=1).exclude(pk=unit.pk).exists()
    return unit.dash_everything


def tally_sums() -> dict:
    """closed, back_30, back_60, back_90 as sums over RecurrenceTally rows (``bucket``: the first window)."""
    out = {"closed": Sum("n")}
    for days in WINDOWS:
        out[f"back_{days}"] = Coalesce(Sum("n", filter=Q(bucket__gt=0, bucket__lte=days)), 0)
    return out


def by_category(rng: Range, user) -> list[dict]:
    rows = (closed_findings(rng, user).order_by().values("category_id", "category__name")
            .annotate(**counts()).order_by("-back_90", "-closed", "category__name"))
    return [with_rates({"id": r["category_id"], "name": r["category__name"], "code": "", **_nums(r)}) for r in rows]


def _within(qs, unit: Unit | None):
    if unit is None:
        return qs
    if unit.kind == Unit.Kind.DEPARTMENT:
        return qs.filter(department_path__startswith=unit.path)
    return qs.filter(unit_path__startswith=unit.path)


def by_point(rng: Range, user, *, chronic: bool = False, within: Unit | None = None):
    """Per point (in ``within``'s subtree when given); ``chronic`` keeps the 顽疾点位 (at least
    CHRONIC_MIN_RETURNS came back within 90 days). A queryset of dicts (paginated by the caller)."""
    rows = (_within(closed_findings(rng, user), within).order_by().values("point_id", "point__name", "point__code")
            .annotate(**counts()))
    if chronic:
        rows = rows.filter(back_90__gte=CHRONIC_MIN_RETURNS)
    return rows.order_by("-back_90", "-closed", "point_id")


def point_row(r: dict) -> dict:
    return with_rates({"id": r["point_id"], "name": r["point__name"], "code": r["point__code"], **_nums(r)})


def _nums(r: dict) -> dict:
    return {"closed": r["closed"], **{f"back_{d}": r[f"back_{d}"] for d in WINDOWS}}


def by_unit(rng: Range, user, *, kind: str | None = None) -> list[dict]:
    """Per unit of the user's scope with closed findings in its subtree (a department: at the
    places it supervises): one aggregate per (unit path, department path) rolled up by path
    prefix, then one query for the units."""
    cells = (closed_findings(rng, user).order_by().values("unit_path", "department_path").annotate(**counts()))
    totals: dict[str, dict] = {}
    for cell in cells:
        prefixes = {cell["unit_path"][:end] for end in range(Unit.steplen, len(cell["unit_path"]) + 1, Unit.steplen)}
        prefixes |= {cell["department_path"][:end]
                     for end in range(Unit.steplen, len(cell["department_path"] or "") + 1, Unit.steplen)}
        for prefix in prefixes:
            slot = totals.setdefault(prefix, dict.fromkeys(("closed", *[f"back_{d}" for d in WINDOWS]), 0))
            for key in slot:
                slot[key] += cell[key]
    units = Unit.objects.visible_to(user).filter(path__in=list(totals)).exclude(kind=Unit.Kind.GRID)
    if kind:
        units = units.filter(kind=kind)
    return [with_rates({"id": u.pk, "name": u.name, "code": u.code, "kind": u.kind, **totals[u.path]})
            for u in units.order_by("path").only("pk", "name", "code", "kind", "path")]
