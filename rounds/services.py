"""Writes for evaluation rounds: drawing a point sample and turning it into a
concealed inspection; keeping recurring schedules and turning their due
occurrences into inspections exactly once. Inspections themselves are made by
``inspections.services.inspection_create`` (its rules and history apply).

The draw (docs/rounds.md):
1. Candidates: active points of the chosen types under the area, minus those
   visited in the last K days, ordered by (type id, stratum path, point id).
2. Per type: ``count`` → min(N, candidates); ``share`` → candidates × share
   rounded half up, at least 1 when the type has candidates.
3. Per type, across strata (the area's next level, e.g. districts): quota =
   n × stratum candidates ÷ type candidates; each stratum gets the floor, the
   remaining points go to the largest fractional remainders, ties by path
   (the largest-remainder / Hamilton rule).
4. One ``random.Random(seed)``, types by id and strata by path, each stratum
   ``rng.sample`` over its candidates ordered by id.
The same seed, rule and points give the same draw."""

from __future__ import annotations

import datetime as dt
import logging
import random
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from fractions import Fraction

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.db.models.functions import Substr
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns.models import Campaign, Membership, Point, PointType, Unit, User
from campaigns.scope import has_role
from inspections import services as inspection_services
from inspections.models import Inspection, Visit

from .models import InspectionSchedule, PlannedVisit, PointDraw, ScheduleOccurrence

logger = logging.getLogger(__name__)
Role = Membership.Role
RULE_VERSION = 1
MAX_EXCLUDE_DAYS = 366
MAX_DRAW_COUNT = 10_000


def _require_office_over(actor: User, unit: Unit) -> None:
    if not has_role(actor, unit, [Role.SUPERVISOR]):
        raise PermissionDenied(_("Only the campaign office (supervisors) over this unit may do this."))


def _check_inspectors(inspectors: list[User], area: Unit, field: str = "inspectors") -> list[User]:
    wrong = [u.get_username() for u in inspectors if not has_role(u, area, [Role.INSPECTOR, Role.SUPERVISOR])]
    if wrong:
        raise ValidationError({field: _("Not an inspector over this area: %(names)s") % {"names": "、".join(wrong)}})
    return sorted({u.pk: u for u in inspectors}.values(), key=lambda u: u.pk)


def deal(items: list, inspectors: list[User]) -> list[User | None]:
    """Balanced contiguous shares: the first ``len % n`` inspectors get one more (counts differ by at most 1)."""
    if not inspectors:
        return [None] * len(items)
    base, extra = divmod(len(items), len(inspectors))
    out: list[User | None] = []
    for i, inspector in enumerate(inspectors):
        out += [inspector] * (base + (1 if i < extra else 0))
    return out


# --- the draw -------------------------------------------------------------------------------


@dataclass
class Sample:
    """A draw's outcome before it is saved: drawn point ids (in draw order) with their stratum paths."""

    points: list[tuple[int, str]] = field(default_factory=list)
    candidates: int = 0
    allocation: dict[int, dict[str, int]] = field(default_factory=dict)  # type id → stratum path → drawn


def normalize_rule(*, mode: str, value, point_types: list[int] | None = None,
                   exclude_days: int | None = None) -> dict:
    """The stored rule: validated, canonical (sorted ids, value as a string) so it reproduces exactly."""
    errors = {}
    if mode not in PointDraw.Mode.values:
        errors["mode"] = _("Choose a number or a share per type.")
    try:
        number = Decimal(str(value))
        if not number.is_finite():
            raise InvalidOperation
    except (InvalidOperation, ValueError, TypeError):
        number = None
        errors["value"] = _("Enter a number.")
    if number is not None and mode == PointDraw.Mode.COUNT and (
            number != number.to_integral_value() or not 1 <= number <= MAX_DRAW_COUNT):
        errors["value"] = _("Enter a whole number of points from 1 to %(max)s.") % {"max": MAX_DRAW_COUNT}
    if number is not None and mode == PointDraw.Mode.SHARE and not Decimal(0) < number <= Decimal(1):
        errors["value"] = _("Enter a share above 0 and at most 1 (0.1 is one tenth).")
    if exclude_days is not None and not 0 <= int(exclude_days) <= MAX_EXCLUDE_DAYS:
        errors["exclude_days"] = _("Enter a number of days from 0 to %(max)s.") % {"max": MAX_EXCLUDE_DAYS}
    if errors:
        raise ValidationError(errors)
    text = str(int(number)) if mode == PointDraw.Mode.COUNT else format(number.normalize(), "f")
    return {"version": RULE_VERSION, "mode": mode, "value": text,
            "point_types": sorted({int(t) for t in point_types or []}),
            "exclude_days": int(exclude_days) if exclude_days else 0}


def type_size(rule: dict, candidates: int) -> int:
    if candidates == 0:
        return 0
    if rule["mode"] == PointDraw.Mode.COUNT:
        return min(int(rule["value"]), candidates)
    share = Decimal(rule["value"])
    return max(1, int((share * candidates).to_integral_value(rounding=ROUND_HALF_UP)))


def allocate(size: int, strata: dict[str, int]) -> dict[str, int]:
    """Largest-remainder (Hamilton) proportional allocation of ``size`` over strata sizes; ties by path."""
    total = sum(strata.values())
    quotas = {path: Fraction(size * n, total) for path, n in strata.items()}
    out = {path: int(q) for path, q in quotas.items()}
    left = size - sum(out.values())
    for path in sorted(strata, key=lambda p: (-(quotas[p] - out[p]), p))[:left]:
        out[path] += 1
    return out


def candidates(*, area: Unit, rule: dict, now: dt.datetime | None = None) -> list[tuple[int, int, str]]:
    """(point id, type id, stratum path) of the draw's candidates, in the draw's order: one query."""
    now = now or timezone.now()
    qs = Point.objects.filter(active=True, unit__path__startswith=area.path)
    if rule["point_types"]:
        qs = qs.filter(point_type_id__in=rule["point_types"])
    if rule["exclude_days"]:
        recent = Visit.objects.filter(point_id=OuterRef("pk"),
                                      visited_at__gte=now - dt.timedelta(days=rule["exclude_days"]))
        qs = qs.exclude(Exists(recent))
    step = len(area.path) + Unit.steplen
    return list(qs.annotate(stratum=Substr("unit__path", 1, step))
                .order_by("point_type_id", "stratum", "pk").values_list("pk", "point_type_id", "stratum"))


def draw_sample(*, area: Unit, rule: dict, seed: int, now: dt.datetime | None = None) -> Sample:
    rows = candidates(area=area, rule=rule, now=now)
    by_type: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for pk, type_id, stratum in rows:
        by_type[type_id][stratum].append(pk)
    rng = random.Random(seed)
    sample = Sample(candidates=len(rows))
    for type_id in sorted(by_type):
        strata = by_type[type_id]
        sizes = {path: len(ids) for path, ids in strata.items()}
        shares = allocate(type_size(rule, sum(sizes.values())), sizes)
        sample.allocation[type_id] = {path: shares[path] for path in sorted(strata)}
        for path in sorted(strata):
            if shares[path]:
                sample.points += [(pk, path) for pk in rng.sample(sorted(strata[path]), shares[path])]
    return sample


def point_draw_create(*, actor: User, campaign: Campaign, area: Unit, title: str, mode: str, value,
                      starts_on: dt.date, ends_on: dt.date, inspectors: list[User],
                      point_types: list[PointType] | None = None, exclude_days: int | None = None,
                      seed: int | None = None, kind: str = Inspection.Kind.FIELD_EVALUATION) -> PointDraw:
    """Draw, save the draw (who, when, seed, rule) and turn it into a concealed inspection with one planned
    stop per drawn point, dealt to the inspectors in balanced contiguous shares (by district, then place)."""
    _require_office_over(actor, area)
    rule = normalize_rule(mode=mode, value=value, point_types=[t.pk for t in point_types or []],
                          exclude_days=exclude_days)
    if ends_on < starts_on:
        raise ValidationError({"ends_on": _("The round cannot end before it starts.")})
    if not inspectors:
        raise ValidationError({"inspectors": _("Assign at least one inspector.")})
    if seed is not None and not 0 <= seed < 2 ** 63:
        raise ValidationError({"seed": _("Enter a seed from 0 to 2⁶³ − 1.")})
    inspectors = _check_inspectors(inspectors, area)
    seed = secrets.randbits(48) if seed is None else seed
    sample = draw_sample(area=area, rule=rule, seed=seed)
    if not sample.points:
        raise ValidationError(_("No point matches the rule in this area."))
    points = Point.objects.in_bulk([pk for pk, _path in sample.points])
    strata = {u.path: u for u in Unit.objects.filter(path__in={path for _pk, path in sample.points})}
    # Dealt by district, then by the point's own unit and name: each inspector gets a compact share.
    ordered = sorted(sample.points, key=lambda row: (row[1], points[row[0]].unit_id, points[row[0]].name, row[0]))
    with transaction.atomic():
        inspection = inspection_services.inspection_create(
            actor=actor, campaign=campaign, title=title.strip(), kind=kind, unit=area, starts_on=starts_on,
            ends_on=ends_on, inspectors=inspectors, concealed=True,
            notes=_("Point draw: seed %(seed)s, %(count)s of %(total)s points.") % {
                "seed": seed, "count": len(ordered), "total": sample.candidates})
        draw = PointDraw(campaign=campaign, title=inspection.title, area=area, seed=seed, rule=rule,
                         starts_on=starts_on, ends_on=ends_on, inspection=inspection, drawn_by=actor,
                         candidate_count=sample.candidates)
        draw.full_clean()
        draw._history_user = actor
        draw.save()
        PlannedVisit.objects.bulk_create([
            PlannedVisit(inspection=inspection, draw=draw, point_id=pk, stratum=strata.get(path), inspector=who,
                         position=i)
            for i, ((pk, path), who) in enumerate(zip(ordered, deal(ordered, inspectors)), start=1)
        ])
    return draw


# --- schedules ------------------------------------------------------------------------------

SCHEDULE_FIELDS = ("title", "kind", "unit", "frequency", "interval", "weekdays", "starts_on", "until",
                   "duration_days", "lead_days")
RULE_FIELDS = {"frequency", "interval", "weekdays", "starts_on", "until"}
# Rules are walked from their first date: keep them within the years an office plans for.
EARLIEST, LATEST = dt.date(2000, 1, 1), dt.date(2100, 12, 31)


def _require_scheduler(actor: User, unit: Unit, kind: str) -> None:
    if not has_role(actor, unit, [Role.SUPERVISOR]) and not (
            kind == Inspection.Kind.SELF_CHECK and has_role(actor, unit, [Role.HEAD])):
        raise PermissionDenied(_("Only the campaign office (or a unit head, for a self-check) may plan inspections."))


def _check_schedule(schedule: InspectionSchedule, inspectors, points) -> None:
    errors = {}
    if schedule.weekdays and (not isinstance(schedule.weekdays, list) or any(
            not isinstance(d, int) or isinstance(d, bool) or not 0 <= d <= 6 for d in schedule.weekdays)):
        errors["weekdays"] = _("Weekdays are numbers from 0 (Monday) to 6 (Sunday).")
    if schedule.interval is not None and not 1 <= schedule.interval <= 366:
        errors["interval"] = _("Enter an interval from 1 to 366.")
    if schedule.duration_days is not None and schedule.duration_days < 1:
        errors["duration_days"] = _("A round lasts at least one day.")
    for name in ("starts_on", "until"):
        value = getattr(schedule, name)
        if value and not EARLIEST <= value <= LATEST:
            errors[name] = _("Enter a date between %(first)s and %(last)s.") % {"first": EARLIEST, "last": LATEST}
    if schedule.until and schedule.starts_on and schedule.until < schedule.starts_on:
        errors["until"] = _("The last occurrence cannot come before the first.")
    if schedule.duration_days and schedule.duration_days > 92:
        errors["duration_days"] = _("A round lasts at most 92 days.")
    if schedule.lead_days is not None and schedule.lead_days > 30:
        errors["lead_days"] = _("Create rounds at most 30 days ahead.")
    outside = [p.name for p in points or [] if not p.unit.path.startswith(schedule.unit.path)]
    if outside:
        errors["points"] = _("These points lie outside the area: %(names)s") % {"names": "、".join(outside)}
    if errors:
        raise ValidationError(errors)
    if inspectors:
        _check_inspectors(inspectors, schedule.unit)


def schedule_create(*, actor: User, campaign: Campaign, inspectors: list[User] | None = None,
                    points: list[Point] | None = None, **fields) -> InspectionSchedule:
    schedule = InspectionSchedule(campaign=campaign, created_by=actor,
                                  **{k: v for k, v in fields.items() if k in SCHEDULE_FIELDS})
    if schedule.unit_id is None:
        raise ValidationError({"unit": _("Choose the area.")})
    _require_scheduler(actor, schedule.unit, schedule.kind)
    schedule.weekdays = schedule.weekdays or []
    _check_schedule(schedule, inspectors, points)
    schedule.full_clean()
    with transaction.atomic():
        schedule._history_user = actor
        schedule.save()
        schedule.inspectors.set(inspectors or [])
        schedule.points.set(points or [])
    return schedule


def schedule_update(*, actor: User, schedule: InspectionSchedule, inspectors: list[User] | None = None,
                    points: list[Point] | None = None, **fields) -> InspectionSchedule:
    """Edit a schedule. Occurrences already turned into inspections stay (one per date, by constraint);
    a changed rule applies from today on, so no passed occurrence comes back."""
    _require_scheduler(actor, schedule.unit, schedule.kind)
    with transaction.atomic():
        schedule = InspectionSchedule.objects.select_for_update().get(pk=schedule.pk)
        before = {name: getattr(schedule, name) for name in RULE_FIELDS}
        for name, value in fields.items():
            if name in SCHEDULE_FIELDS:
                setattr(schedule, name, value)
        schedule.weekdays = schedule.weekdays or []
        _require_scheduler(actor, schedule.unit, schedule.kind)
        _check_schedule(schedule, inspectors, points)
        if any(getattr(schedule, name) != value for name, value in before.items()):
            schedule.not_before = max(schedule.not_before or dt.date.min, timezone.localdate())
        schedule.full_clean()
        schedule._history_user = actor
        schedule.save()
        if inspectors is not None:
            schedule.inspectors.set(inspectors)
        if points is not None:
            schedule.points.set(points)
    return schedule


def schedule_set_active(*, actor: User, schedule: InspectionSchedule, active: bool) -> InspectionSchedule:
    """Pause or resume. A resumed schedule does not back-fill what fell in the pause."""
    _require_scheduler(actor, schedule.unit, schedule.kind)
    with transaction.atomic():
        schedule = InspectionSchedule.objects.select_for_update().get(pk=schedule.pk)
        if schedule.active == active:
            return schedule
        schedule.active = active
        if active:
            schedule.not_before = max(schedule.not_before or dt.date.min, timezone.localdate())
        schedule._history_user = actor
        schedule.save(update_fields=["active", "not_before", "updated_at"])
    return schedule


def _window(schedule: InspectionSchedule, today: dt.date) -> tuple[dt.date, dt.date]:
    """Occurrences worth creating today: rounds still running, or starting within the lead days."""
    return today - dt.timedelta(days=schedule.duration_days - 1), today + dt.timedelta(days=schedule.lead_days)


def due_occurrences(today: dt.date | None = None) -> list[tuple[int, dt.date]]:
    """(schedule id, date) pairs due and not yet created: two queries whatever the number of schedules."""
    today = today or timezone.localdate()
    schedules = list(InspectionSchedule.objects.filter(active=True, starts_on__lte=today + dt.timedelta(days=30))
                     .exclude(until__lt=today - dt.timedelta(days=92)))
    wanted = [(s.pk, day) for s in schedules for day in s.occurrences_between(*_window(s, today))]
    if not wanted:
        return []
    done = set(ScheduleOccurrence.objects.filter(
        schedule_id__in={pk for pk, _day in wanted}, occurs_on__gte=min(day for _pk, day in wanted),
    ).values_list("schedule_id", "occurs_on"))
    return [pair for pair in wanted if pair not in done]


def occurrence_materialize(*, schedule_id: int, occurs_on: dt.date, today: dt.date | None = None
                           ) -> ScheduleOccurrence | None:
    """Turn one occurrence into an inspection and remind its inspectors, exactly once: the schedule row is
    locked, the occurrence checked against the current rule, and (schedule, date) is unique. None when
    there is nothing to do (already made, paused, edited away, over)."""
    from notifications.models import Event
    from notifications.services import Text, notify

    today = today or timezone.localdate()
    try:
        with transaction.atomic():
            schedule = (InspectionSchedule.objects.select_for_update(of=("self",))
                        .select_related("campaign", "unit", "created_by").filter(pk=schedule_id).first())
            if schedule is None or not schedule.active:
                return None
            first, last = _window(schedule, today)
            if not first <= occurs_on <= last or occurs_on not in schedule.occurrences_between(occurs_on, occurs_on):
                return None
            if ScheduleOccurrence.objects.filter(schedule=schedule, occurs_on=occurs_on).exists():
                return None
            inspectors = list(schedule.inspectors.filter(is_active=True).order_by("pk"))
            inspection = inspection_services.inspection_create(
                actor=schedule.created_by, campaign=schedule.campaign,
                title=f"{schedule.title} · {occurs_on.isoformat()}"[:200], kind=schedule.kind, unit=schedule.unit,
                starts_on=occurs_on, ends_on=occurs_on + dt.timedelta(days=schedule.duration_days - 1),
                inspectors=inspectors)
            occurrence = ScheduleOccurrence.objects.create(schedule=schedule, occurs_on=occurs_on,
                                                           inspection=inspection)
            points = list(schedule.points.filter(active=True).select_related("unit").order_by("unit__path", "name",
                                                                                               "pk"))
            PlannedVisit.objects.bulk_create([
                PlannedVisit(inspection=inspection, point=p, inspector=who, position=i)
                for i, (p, who) in enumerate(zip(points, deal(points, inspectors)), start=1)
            ])
            params = {"title": schedule.title, "date": occurs_on.isoformat(), "area": schedule.unit.name}
            notify(event=Event.WORKITEM_DUE_SOON, recipients=inspectors,
                   title=Text(gettext_lazy("Inspection round on %(date)s: %(title)s"), params),
                   body=Text(gettext_lazy("You are assigned to “%(title)s” over %(area)s, starting %(date)s."),
                             params),
                   target=inspection, unit=schedule.unit,
                   url=reverse("rounds:my_round"),
                   data={"kind": "inspection_schedule", "schedule_id": schedule.pk, "inspection_id": inspection.pk,
                         "occurs_on": occurs_on.isoformat()})
            return occurrence
    except IntegrityError:
        # Another run made the same occurrence between our check and our insert: it is theirs.
        return None
    except PermissionDenied:
        logger.warning("schedule %s: its creator may no longer plan inspections here; occurrence %s skipped",
                       schedule_id, occurs_on)
        return None
