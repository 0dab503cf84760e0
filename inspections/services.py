"""Writes with rules for inspections and the rectification loop.

Every transition of a finding or task is one function here. Each checks the
actor's role and scope, claims the row under a lock and checks its current
state (a stale or concurrent transition raises ``Conflict``), records a
TaskEvent and history, and queues side effects after commit. Pages, the API,
the admin and Celery tasks all call these."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import BooleanField, Exists, ExpressionWrapper, F, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_update_with_history

from campaigns.models import Campaign, Indicator, Membership, Point, Unit, User
from campaigns.scope import has_role, in_scope, user_roles
from civportal.errors import Conflict

from . import deadlines, hooks, photos, recurrence, rollups
from .models import (
    CalendarOverride, DeadlineRule, ExtensionRequest, Finding, FindingCategory, FindingPhoto, HolidaySchedule,
    Inspection,
    RectificationTask, Severity, Submission, SubmissionPhoto, TaskEvent, Visit,
)

Role = Membership.Role
SUPERVISOR = [Role.SUPERVISOR]
UNIT_ROLES = [Role.HANDLER, Role.HEAD]
RECORDERS = [Role.INSPECTOR, Role.SUPERVISOR]
Status = RectificationTask.Status
Action = TaskEvent.Action
REPEAT_WINDOW = dt.timedelta(days=30)
SHANGHAI = ZoneInfo("Asia/Shanghai")


# --- checks ---------------------------------------------------------------------------------


def _require_office(actor: User) -> None:
    if Role.SUPERVISOR not in user_roles(actor):
        raise PermissionDenied(_("Only the campaign office (supervisors) may do this."))


def _require_supervisor_over(actor: User, unit: Unit) -> None:
    if not has_role(actor, unit, SUPERVISOR):
        raise PermissionDenied(_("Only the campaign office (supervisors) over this unit may do this."))


def _require_unit_role(actor: User, task: RectificationTask) -> None:
    if not has_role(actor, task.unit, UNIT_ROLES):
        raise PermissionDenied(_("Only the handling clerks and heads of the assigned unit may do this."))


def _save(obj, actor: User | None, **clean) -> None:
    obj.full_clean(**clean)
    obj._history_user = actor
    obj.save()


def _lock_task(task: RectificationTask, allowed: list[str], *, expected_status: str | None = None) -> RectificationTask:
    """Re-read the task under a row lock and check its state: the second of
    two concurrent transitions waits here and then finds the state moved on."""
    locked = RectificationTask.objects.select_for_update().select_related("finding", "unit").get(pk=task.pk)
    if expected_status is not None and locked.status != expected_status:
        raise Conflict(_("This task has changed in the meantime (it is now “%(status)s”). Reload and try again.")
                       % {"status": locked.get_status_display()})
    if locked.status not in allowed:
        raise Conflict(_("This task is “%(status)s”; that action is no longer possible. Reload and try again.")
                       % {"status": locked.get_status_display()})
    return locked


def _lock_finding(finding: Finding, allowed: list[str]) -> Finding:
    locked = Finding.objects.select_for_update().get(pk=finding.pk)
    if locked.status not in allowed:
        raise Conflict(_("This finding is “%(status)s”; that action is no longer possible. Reload and try again.")
                       % {"status": locked.get_status_display()})
    return locked


def _event(task: RectificationTask, actor: User | None, action: str, from_status: str, note: str = "",
           **data) -> TaskEvent:
    event = TaskEvent.objects.create(
        task=task, actor=actor, action=action, from_status=from_status, to_status=task.status, note=note,
        data={k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in data.items()},
    )
    hooks.task_event_committed(event.pk)
    return event


def _note(note: str | None, *, required: bool, field: str = "note") -> str:
    note = (note or "").strip()
    if required and not note:
        raise ValidationError({field: _("Please give a reason.")})
    if "\x00" in note:
        raise ValidationError({field: _("The text contains invalid characters.")})
    return note


# --- categories, rules, calendar ------------------------------------------------------------


def category_save(*, actor: User, category: FindingCategory | None = None, **fields) -> FindingCategory:
    _require_office(actor)
    allowed = {"code", "name", "group", "default_severity", "deduction", "engineering", "supervising_department",
               "sort_order", "active"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError(_("Unknown fields: %(fields)s") % {"fields": ", ".join(sorted(unknown))})
    category = category or FindingCategory()
    for name, value in fields.items():
        setattr(category, name, value.strip() if isinstance(value, str) else value)
    if category.group_id and category.pk and category.group_id == category.pk:
        raise ValidationError({"group": _("A category cannot be its own group.")})
    _save(category, actor)
    return category


def deadline_rule_save(*, actor: User, category: FindingCategory | None, severity: str, amount: int,
                       measure: str) -> DeadlineRule:
    """Set (create or replace) the rule for category × severity."""
    _require_office(actor)
    rule = DeadlineRule.objects.filter(category=category, severity=severity).first() or DeadlineRule(
        category=category, severity=severity)
    rule.amount, rule.measure = amount, measure
    _save(rule, actor, validate_constraints=False)
    return rule


def calendar_override_set(*, actor: User, date: dt.date, is_workday: bool, reason: str) -> CalendarOverride:
    """Mark one date as a working day or a day off; later deadlines follow it
    (deadlines already set are not moved)."""
    _require_office(actor)
    override = CalendarOverride.objects.filter(date=date).first() or CalendarOverride(date=date, created_by=actor)
    override.is_workday, override.reason = is_workday, _note(reason, required=True, field="reason")
    _save(override, actor, validate_unique=False)
    return override


def calendar_year_import(*, actor: User, upload) -> HolidaySchedule:
    """Import a year's holidays (休) and make-up working days (班) from xlsx as
    calendar overrides, in one step: every row is checked first, then all
    dates are written together and the year is recorded as known, so its
    deadlines are no longer provisional. Deadlines already set are not moved."""
    from .calendar_io import read_schedule

    _require_office(actor)
    year, rows = read_schedule(upload)
    with transaction.atomic():
        existing = {o.date: o for o in CalendarOverride.objects.select_for_update().filter(
            date__in=[r.date for r in rows])}
        for row in rows:
            override = existing.get(row.date) or CalendarOverride(date=row.date, created_by=actor)
            override.is_workday = row.is_workday
            override.reason = row.name or (_("make-up working day") if row.is_workday else _("holiday"))
            _save(override, actor, validate_unique=False)
        schedule = HolidaySchedule.objects.select_for_update().filter(year=year).first() or HolidaySchedule(year=year)
        schedule.source_name = (getattr(upload, "name", "") or "")[:200]
        schedule.holiday_count = sum(1 for r in rows if not r.is_workday)
        schedule.workday_count = sum(1 for r in rows if r.is_workday)
        schedule.imported_by = actor
        _save(schedule, actor, validate_unique=False)
    return schedule


# --- inspections and visits -----------------------------------------------------------------


def inspection_create(*, actor: User, campaign: Campaign, title: str, kind: str, unit: Unit, starts_on: dt.date,
                      ends_on: dt.date, inspectors: list[User] | None = None, notes: str = "",
                      concealed: bool = False) -> Inspection:
    if not has_role(actor, unit, SUPERVISOR) and not (
        kind == Inspection.Kind.SELF_CHECK and has_role(actor, unit, [Role.HEAD])
    ):
        raise PermissionDenied(_("Only the campaign office (or a unit head, for a self-check) may plan inspections."))
    inspection = Inspection(campaign=campaign, title=title.strip(), kind=kind, unit=unit, starts_on=starts_on,
                            ends_on=ends_on, notes=notes, concealed=concealed, created_by=actor)
    with transaction.atomic():
        _save(inspection, actor)
        if inspectors:
            inspection.inspectors.set(inspectors)
    return inspection


def inspection_set_status(*, actor: User, inspection: Inspection, status: str) -> Inspection:
    _require_supervisor_over(actor, inspection.unit)
    inspection.status = status
    _save(inspection, actor)
    return inspection


def visit_create(*, actor: User, inspection: Inspection, point: Point, visited_at: dt.datetime | None = None,
                 latitude: Decimal | None = None, longitude: Decimal | None = None, clean: bool = False,
                 notes: str = "") -> Visit:
    if not has_role(actor, point.unit, RECORDERS + [Role.HEAD]) or not in_scope(actor, inspection.unit):
        raise PermissionDenied(_("Only inspectors and the campaign office may record visits here."))
    if inspection.status == Inspection.Status.CANCELLED:
        raise ValidationError(_("This inspection was cancelled."))
    if not inspection.unit.path or not point.unit.path.startswith(inspection.unit.path):
        raise ValidationError({"point": _("This point lies outside the inspected area.")})
    visit = Visit(inspection=inspection, point=point, unit=point.unit, visited_at=visited_at or timezone.now(),
                  inspector=actor, latitude=latitude, longitude=longitude, is_clean=clean, notes=notes)
    _save(visit, actor)
    return visit


def visit_mark_clean(*, actor: User, visit: Visit, clean: bool = True) -> Visit:
    if not has_role(actor, visit.unit, RECORDERS):
        raise PermissionDenied(_("Only inspectors and the campaign office may change visits."))
    if clean and visit.findings.counting().exists():
        raise ValidationError(_("This visit has findings; void them before marking the place clean."))
    visit.is_clean = clean
    _save(visit, actor)
    return visit


# --- findings -------------------------------------------------------------------------------


def repeat_expression(earlier) -> ExpressionWrapper:
    """A finding is a repeat when ``earlier`` (a counting finding of the same category at the same
    point within the window) exists, or when it is the recurrence of a finding that still counts."""
    original = Finding.objects.counting().filter(pk=OuterRef("recurrence_of_id"))
    return ExpressionWrapper(Q(Exists(earlier)) | Q(Exists(original), recurrence_of__isnull=False),
                             output_field=BooleanField())


def _is_repeat(*, point: Point | None, category: FindingCategory, observed_at: dt.datetime,
               exclude_pk: int | None = None, recurrence_of: Finding | None = None) -> bool:
    if point is None:
        return False
    if recurrence_of is not None and recurrence_of.status not in (Finding.Status.VOID, Finding.Status.DUPLICATE):
        return True
    earlier = Finding.objects.counting().filter(
        point=point, category=category, observed_at__gte=observed_at - REPEAT_WINDOW, observed_at__lt=observed_at,
    )
    if exclude_pk:
        earlier = earlier.exclude(pk=exclude_pk)
    return earlier.exists()


def _plus_window(value: dt.datetime) -> dt.datetime:
    try:
        return value + REPEAT_WINDOW
    except OverflowError:  # observed at the end of the calendar (hostile input)
        return value


def findings_refresh_repeats(*, findings: list[Finding]) -> None:
    """Keep the stored repeat flag right (DESIGN §6: an earlier *counting* finding of the same
    category at the same point within the window) for the findings after ``findings`` — which
    were just recorded, voided or marked duplicate. Two queries; rows whose flag changes are
    updated with history."""
    at_points = [f for f in findings if f.point_id is not None]
    if not at_points:
        return
    earlier = Finding.objects.counting().filter(
        point_id=OuterRef("point_id"), category_id=OuterRef("category_id"), observed_at__lt=OuterRef("observed_at"),
        observed_at__gte=OuterRef("observed_at") - REPEAT_WINDOW)
    nearby = Q(point_id__in={f.point_id for f in at_points}, category_id__in={f.category_id for f in at_points},
               observed_at__gt=min(f.observed_at for f in at_points),
               observed_at__lte=_plus_window(max(f.observed_at for f in at_points)))
    changed = list(
        # A recurrence (回头看) is a repeat while its original counts, however long ago it was seen.
        Finding.objects.filter(nearby | Q(recurrence_of_id__in=[f.pk for f in at_points]))
        .annotate(repeat_now=repeat_expression(earlier)).exclude(repeat_now=F("is_repeat")).order_by("pk")
    )
    for finding in changed:
        finding.is_repeat = finding.repeat_now
    bulk_update_with_history(changed, Finding, ["is_repeat"], default_user=None)


def finding_observed_on_visit(*, visit: Visit, observed_at: dt.datetime | None) -> dt.datetime:
    """DESIGN §6: a finding recorded on a visit takes the visit's time unless
    given (not the upload time: a night inspection uploaded next morning stays
    in the visit's month), and cannot be observed after the end of the visit's
    day (Asia/Shanghai)."""
    if observed_at is None:
        return visit.visited_at
    local_day = timezone.localtime(visit.visited_at, SHANGHAI).date()
    day_end = dt.datetime.combine(local_day + dt.timedelta(days=1), dt.time(), tzinfo=SHANGHAI)
    if observed_at >= day_end:
        raise ValidationError({"observed_at": _(
            "A finding on a visit cannot be observed after the end of the visit's day (%(day)s)."
        ) % {"day": local_day.isoformat()}})
    return observed_at


def finding_create(
    *, actor: User, source: str, category: FindingCategory, description: str, severity: str | None = None,
    campaign: Campaign | None = None, visit: Visit | None = None, point: Point | None = None,
    unit: Unit | None = None, department: Unit | None = None, indicator: Indicator | None = None,
    address: str = "", latitude: Decimal | None = None, longitude: Decimal | None = None,
    observed_at: dt.datetime | None = None, reporter_name: str = "", reporter_contact: str = "",
    external_id: str | None = None, photos_in=None, recurrence_of: Finding | None = None,
    client_id: uuid.UUID | None = None,
) -> tuple[Finding, bool]:
    """Record a finding (new, awaiting triage). Returns ``(finding, created)``:
    a finding already ingested with the same source and external id, or
    already sent by the same person with the same client id (the phone's
    outbox resending a draft), is returned unchanged (idempotent ingest)."""
    if client_id is not None:
        sent = _finding_sent_before(actor=actor, client_id=client_id)
        if sent is not None:
            return sent, False
    if visit is not None:
        point = point or visit.point
        campaign = campaign or visit.inspection.campaign
        if point.pk != visit.point_id:
            raise ValidationError({"point": _("The point must be the visit's point.")})
        observed_at = finding_observed_on_visit(visit=visit, observed_at=observed_at)
    if point is not None:
        unit = unit or point.unit
        department = department or point.department
        if latitude is None or longitude is None:
            # Where the inspector stood, else where the point is: every finding can go on the map.
            source_of_position = visit if visit is not None and visit.latitude is not None else point
            latitude, longitude = source_of_position.latitude, source_of_position.longitude
    department = department or category.supervising_department
    if unit is None:
        raise ValidationError({"unit": _("Choose the responsible unit (or a point).")})
    if source == Finding.Source.INSPECTION and visit is None and point is None:
        raise ValidationError({"point": _("A finding from an inspection needs its point or visit.")})
    if not has_role(actor, unit, RECORDERS):
        raise PermissionDenied(_("Only inspectors and the campaign office over this unit may record findings."))
    return _finding_insert(
        actor=actor, source=source, category=category, description=description, severity=severity,
        campaign=campaign, visit=visit, point=point, unit=unit, department=department, indicator=indicator,
        address=address, latitude=latitude, longitude=longitude, observed_at=observed_at,
        reporter_name=reporter_name, reporter_contact=reporter_contact, external_id=external_id, photos_in=photos_in,
        recurrence_of=recurrence_of, client_id=client_id,
    )


def _finding_sent_before(*, actor: User, client_id: uuid.UUID) -> Finding | None:
    """The finding this person already sent with this client id, if any. Someone
    else's id is refused without saying anything about their finding."""
    sent = Finding.objects.filter(client_id=client_id).first()
    if sent is not None and sent.reporter_id != actor.pk:
        raise Conflict(_("This draft id is already in use: reload the form and fill it in again."))
    return sent


def campaign_for_new_finding() -> Campaign:
    """The campaign a finding belongs to when its channel names none: the one
    active campaign. Without it the finding would drop out of the index, so
    none or several active campaigns is the caller's error to resolve."""
    active = list(Campaign.objects.active().order_by("-starts_on", "-id")[:2])
    if len(active) == 1:
        return active[0]
    if not active:
        raise ValidationError({"campaign": _("No campaign is active: name the campaign of this finding, or ask the "
                                             "campaign office to activate one.")})
    raise ValidationError({"campaign": _("Several campaigns are active: name the campaign of this finding.")})


def _finding_insert(
    *, actor: User, source: str, category: FindingCategory, description: str, severity: str | None,
    campaign: Campaign | None, visit: Visit | None, point: Point | None, unit: Unit, department: Unit | None,
    indicator: Indicator | None, address: str, latitude: Decimal | None, longitude: Decimal | None,
    observed_at: dt.datetime | None, reporter_name: str, reporter_contact: str, external_id: str | None, photos_in,
    recurrence_of: Finding | None = None, client_id: uuid.UUID | None = None,
) -> tuple[Finding, bool]:
    """The insert shared by every way a finding arrives, once the caller has
    checked who may record it: validation, photos, repeat flag, history, hooks."""
    if not category.active:
        raise ValidationError({"category": _("This category is no longer in use.")})
    if campaign is None:
        campaign = campaign_for_new_finding()
    if indicator is not None and campaign is not None and campaign.indicator_system_id not in (None, indicator.system_id):
        raise ValidationError({"indicator": _("The indicator is not in the campaign's edition.")})
    external_id = (external_id or "").strip() or None
    if external_id is not None:
        existing = Finding.objects.filter(source=source, external_id=external_id).first()
        if existing is not None:
            return existing, False
    prepared = photos.prepare_photos(photos_in, required=source == Finding.Source.INSPECTION, label=_("“before”"))
    observed_at = observed_at or timezone.now()
    finding = Finding(
        campaign=campaign, source=source, external_id=external_id, client_id=client_id, visit=visit, point=point, unit=unit,
        department=department, indicator=indicator, category=category,
        severity=severity or category.default_severity, description=_note(description, required=True,
                                                                           field="description"),
        address=address.strip(), latitude=latitude, longitude=longitude, observed_at=observed_at, reporter=actor,
        reporter_name=reporter_name.strip(), reporter_contact=reporter_contact.strip(),
        is_repeat=_is_repeat(point=point, category=category, observed_at=observed_at, recurrence_of=recurrence_of),
        recurrence_of=recurrence_of,
    )
    finding.full_clean(validate_constraints=False)
    finding._history_user = actor
    with photos.discarded_on_error() as saved:
        try:
            with transaction.atomic():
                finding.save()
                rollups.findings_added([finding])
                findings_refresh_repeats(findings=[finding])
                recurrence.refresh([finding])
                photos.store(FindingPhoto, prepared, uploaded_by=actor, finding=finding, saved=saved)
                if visit is not None and visit.is_clean:
                    visit.is_clean = False
                    visit._history_user = actor
                    visit.save(update_fields=["is_clean", "updated_at"])
                hooks.finding_created_committed(finding.pk)
        except IntegrityError:
            if external_id is not None:  # the same case pushed twice at once
                photos.discard(saved)
                return Finding.objects.get(source=source, external_id=external_id), False
            if client_id is not None:  # the outbox and a second tab sent the same draft at once
                photos.discard(saved)
                sent = _finding_sent_before(actor=actor, client_id=client_id)
                if sent is not None:
                    return sent, False
            raise
    return finding, True


def finding_report_by_volunteer(
    *, actor: User, category: FindingCategory, description: str, point: Point | None = None,
    latitude: Decimal | None = None, longitude: Decimal | None = None, address: str = "", photos_in=None,
) -> Finding:
    """A volunteer's report from the street (市民找差/志愿者随手拍): a new finding
    with source ``volunteer`` awaiting triage by the office. The actor needs an
    active volunteer record linked to their account; the point's territorial
    unit answers for it, else the volunteer's community. Photos are optional."""
    from volunteers.models import volunteer_of  # inspections may import volunteers, never the reverse

    volunteer = volunteer_of(actor)
    if volunteer is None:
        raise PermissionDenied(_("Only active registered volunteers with a login account may report problems here."))
    if point is not None and not point.active:
        raise ValidationError({"point": _("This point is no longer in use.")})
    if latitude is None and longitude is None and point is None and not (address or "").strip():
        raise ValidationError({"address": _("Say where the problem is: a point, your location or an address.")})
    address = _note(address, required=False, field="address")
    campaign = campaign_for_new_finding()
    finding, _created = _finding_insert(
        actor=actor, source=Finding.Source.VOLUNTEER, category=category, description=description, severity=None,
        campaign=campaign, visit=None, point=point, unit=point.unit if point is not None else volunteer.unit,
        department=(point.department if point is not None else None) or category.supervising_department,
        indicator=None, address=address,
        latitude=latitude if latitude is not None else (point.latitude if point is not None else None),
        longitude=longitude if longitude is not None else (point.longitude if point is not None else None),
        observed_at=None, reporter_name=volunteer.name, reporter_contact="", external_id=None, photos_in=photos_in,
    )
    return finding


def finding_add_photos(*, actor: User, finding: Finding, photos_in) -> list[FindingPhoto]:
    if not (has_role(actor, finding.unit, SUPERVISOR) or (finding.reporter_id == actor.pk and finding.is_open)):
        raise PermissionDenied(_("Only the reporter or the campaign office may add photos to this finding."))
    prepared = photos.prepare_photos(photos_in, required=True, label=_("“before”"))
    with photos.discarded_on_error() as saved, transaction.atomic():
        return photos.store(FindingPhoto, prepared, uploaded_by=actor, finding=finding, saved=saved)


def duplicate_candidates(finding: Finding, *, limit: int = 10):
    """Open findings that may be the same problem: same category, last 30 days,
    same point or within about 100 m."""
    from django.db.models import Q

    window = Q(observed_at__gte=finding.observed_at - REPEAT_WINDOW, observed_at__lte=finding.observed_at + REPEAT_WINDOW)
    near = Q(pk__in=[])
    if finding.point_id:
        near |= Q(point_id=finding.point_id)
    if finding.latitude is not None and finding.longitude is not None:
        import math

        dlat = Decimal("0.0009")  # ≈ 100 m
        dlon = Decimal(str(round(0.0009 / max(math.cos(math.radians(float(finding.latitude))), 0.1), 6)))
        lat = (finding.latitude - dlat, finding.latitude + dlat)
        lon = (finding.longitude - dlon, finding.longitude + dlon)
        near |= Q(latitude__range=lat, longitude__range=lon) | Q(point__latitude__range=lat, point__longitude__range=lon)
    return (
        Finding.objects.filter(window, near, category_id=finding.category_id, status__in=Finding.OPEN_STATUSES)
        .exclude(pk=finding.pk).select_related("unit", "point").order_by("-observed_at")[:limit]
    )


def task_dispatch(*, actor: User, finding: Finding, unit: Unit | None = None, due_at: dt.datetime | None = None,
                  instructions: str = "") -> RectificationTask:
    """Dispatch a new finding to a unit (the finding's responsible unit by
    default) as a task with a deadline from the category × severity rule."""
    unit = unit or finding.unit
    _require_supervisor_over(actor, finding.unit)
    _require_supervisor_over(actor, unit)
    if not unit.active:
        raise ValidationError({"unit": _("This unit is no longer active.")})
    now = timezone.now()
    if due_at is None:
        due_at = deadlines.due_at_for(now, deadlines.allowance_for(finding.category, finding.severity))
    elif due_at <= now:
        raise ValidationError({"due_at": _("The deadline must be in the future.")})
    with transaction.atomic():
        finding = _lock_finding(finding, [Finding.Status.NEW])
        finding.status = Finding.Status.DISPATCHED
        finding._history_user = actor
        finding.save(update_fields=["status", "updated_at"])
        rollups.finding_moved(finding, Finding.Status.NEW)
        task = RectificationTask(
            finding=finding, unit=unit, campaign_id=finding.campaign_id, category_id=finding.category_id, instructions=_note(instructions, required=False, field="instructions"),
            dispatched_at=now, dispatched_by=actor, original_due_at=due_at, due_at=due_at,
            warn_at=deadlines.warn_at_for(now, due_at, RectificationTask.WARN_SHARE),
        )
        task.full_clean(validate_constraints=False)
        task._history_user = actor
        task.save()
        _event(task, actor, Action.DISPATCH, "", instructions, due_at=due_at)
    return task


def finding_mark_duplicate(*, actor: User, finding: Finding, original: Finding, note: str = "") -> Finding:
    _require_supervisor_over(actor, finding.unit)
    if original.pk == finding.pk:
        raise ValidationError({"original": _("A finding cannot duplicate itself.")})
    if original.status in (Finding.Status.DUPLICATE, Finding.Status.VOID):
        raise ValidationError({"original": _("Choose the original finding, not a voided one or another duplicate.")})
    with transaction.atomic():
        finding = _lock_finding(finding, [Finding.Status.NEW])
        finding.status, finding.duplicate_of = Finding.Status.DUPLICATE, original
        finding.void_reason = _note(note, required=False)[:300]
        finding._history_user = actor
        finding.save(update_fields=["status", "duplicate_of", "void_reason", "updated_at"])
        rollups.finding_moved(finding, Finding.Status.NEW)
        findings_refresh_repeats(findings=[finding])
        recurrence.refresh([finding])
    return finding


def finding_void(*, actor: User, finding: Finding, reason: str) -> Finding:
    """Void an invalid finding (with its open task, if any); the record stays."""
    _require_supervisor_over(actor, finding.unit)
    reason = _note(reason, required=True, field="reason")
    with transaction.atomic():
        finding = _lock_finding(finding, Finding.OPEN_STATUSES)
        open_task = finding.tasks.select_for_update().filter(status__in=RectificationTask.OPEN_STATUSES).first()
        if open_task is not None:
            _void_task(actor, open_task, reason)
        before = finding.status
        finding.status, finding.void_reason = Finding.Status.VOID, reason[:300]
        finding._history_user = actor
        finding.save(update_fields=["status", "void_reason", "updated_at"])
        rollups.finding_moved(finding, before)
        findings_refresh_repeats(findings=[finding])
        recurrence.refresh([finding])
    return finding


def finding_set_severity(*, actor: User, finding: Finding, severity: str, reason: str) -> Finding:
    """Correct a finding's severity (e.g. an accepted appeal); the record keeps
    its history. Drafts computed afterwards use the new severity."""
    _require_supervisor_over(actor, finding.unit)
    reason = _note(reason, required=True, field="reason")
    if severity not in Severity.values:
        raise ValidationError({"severity": _("Choose minor, moderate or severe.")})
    with transaction.atomic():
        finding = Finding.objects.select_for_update().get(pk=finding.pk)
        if finding.status in (Finding.Status.VOID, Finding.Status.DUPLICATE):
            raise Conflict(_("This finding is void or a duplicate; it deducts nothing."))
        finding.severity = severity
        finding._history_user = actor
        finding._change_reason = reason[:100]
        finding.save(update_fields=["severity", "updated_at"])
    return finding


# --- the task loop --------------------------------------------------------------------------


def task_accept(*, actor: User, task: RectificationTask, note: str = "",
                expected_status: str | None = None) -> RectificationTask:
    _require_unit_role(actor, task)
    with transaction.atomic():
        task = _lock_task(task, [Status.ASSIGNED, Status.RETURNED], expected_status=expected_status)
        before = task.status
        task.status = Status.IN_PROGRESS
        task.accepted_at = task.accepted_at or timezone.now()
        task._history_user = actor
        task.save(update_fields=["status", "accepted_at", "updated_at"])
        _event(task, actor, Action.ACCEPT, before, _note(note, required=False))
    return task


def task_submit(*, actor: User, task: RectificationTask, note: str, photos_in,
                expected_status: str | None = None) -> Submission:
    """Report the fix with "after" photos; the task waits for verification."""
    _require_unit_role(actor, task)
    note = _note(note, required=True)
    prepared = photos.prepare_photos(photos_in, required=True, label=_("“after”"))
    with photos.discarded_on_error() as saved, transaction.atomic():
        task = _lock_task(task, [Status.IN_PROGRESS, Status.RETURNED], expected_status=expected_status)
        before, now = task.status, timezone.now()
        submission = Submission.objects.create(task=task, round=task.rework_count + 1, note=note, submitted_by=actor,
                                               submitted_at=now)
        photos.store(SubmissionPhoto, prepared, uploaded_by=actor, submission=submission, saved=saved)
        task.status, task.submitted_at = Status.SUBMITTED, now
        task.accepted_at = task.accepted_at or now
        task._history_user = actor
        task.save(update_fields=["status", "submitted_at", "accepted_at", "updated_at"])
        _event(task, actor, Action.SUBMIT, before, note, submission=submission.pk)
    return submission


def task_verify(*, actor: User, task: RectificationTask, passed: bool, note: str = "",
                expected_status: str | None = None) -> RectificationTask:
    """Pass (task and finding closed) or fail (returned to the unit, rework + 1)."""
    _require_supervisor_over(actor, task.unit)
    note = _note(note, required=not passed)
    with transaction.atomic():
        task = _lock_task(task, [Status.SUBMITTED], expected_status=expected_status)
        now = timezone.now()
        submission = task.submissions.select_for_update().filter(outcome=Submission.Outcome.PENDING).first()
        if submission is not None:
            submission.outcome = Submission.Outcome.PASSED if passed else Submission.Outcome.FAILED
            submission.reviewed_by, submission.reviewed_at, submission.review_note = actor, now, note
            submission.save(update_fields=["outcome", "reviewed_by", "reviewed_at", "review_note"])
        task._history_user = actor
        if passed:
            task.status, task.closed_at, task.closed_by = Status.CLOSED, now, actor
            task.save(update_fields=["status", "closed_at", "closed_by", "updated_at"])
            finding = task.finding
            finding_before = finding.status
            finding.status, finding.closed_at = Finding.Status.CLOSED, now
            finding._history_user = actor
            finding.save(update_fields=["status", "closed_at", "updated_at"])
            rollups.finding_moved(finding, finding_before)
            rollups.finding_closed(finding)
            recurrence.refresh([finding], closed=[finding])
            rollups.task_closed(task)
            _event(task, actor, Action.VERIFY_PASS, Status.SUBMITTED, note, on_time=now <= task.due_at)
        else:
            task.status, task.rework_count = Status.RETURNED, task.rework_count + 1
            task.save(update_fields=["status", "rework_count", "updated_at"])
            _event(task, actor, Action.VERIFY_FAIL, Status.SUBMITTED, note, rework=task.rework_count)
    return task


def task_request_extension(*, actor: User, task: RectificationTask, requested_due_at: dt.datetime,
                           reason: str) -> ExtensionRequest:
    _require_unit_role(actor, task)
    reason = _note(reason, required=True, field="reason")
    with transaction.atomic():
        task = _lock_task(task, [Status.ASSIGNED, Status.IN_PROGRESS, Status.RETURNED])
        if requested_due_at <= task.due_at:
            raise ValidationError({"requested_due_at": _("The new deadline must be later than the current one.")})
        if task.extension_requests.filter(status=ExtensionRequest.Status.PENDING).exists():
            raise Conflict(_("An extension request for this task is already waiting for a decision."))
        request = ExtensionRequest(task=task, reason=reason, requested_due_at=requested_due_at,
                                   previous_due_at=task.due_at, requested_by=actor)
        request._history_user = actor
        request.save()
        _event(task, actor, Action.EXTENSION_REQUEST, task.status, reason, requested_due_at=requested_due_at,
               request=request.pk)
    return request


def task_decide_extension(*, actor: User, request: ExtensionRequest, approve: bool, note: str = "",
                          due_at: dt.datetime | None = None) -> ExtensionRequest:
    """Approve (the deadline moves, to ``due_at`` if given) or refuse an extension request."""
    task = request.task
    _require_supervisor_over(actor, task.unit)
    note = _note(note, required=not approve)
    with transaction.atomic():
        task = _lock_task(task, RectificationTask.OPEN_STATUSES)
        request = ExtensionRequest.objects.select_for_update().get(pk=request.pk)
        if request.status != ExtensionRequest.Status.PENDING:
            raise Conflict(_("This extension request has already been decided."))
        now = timezone.now()
        request.status = ExtensionRequest.Status.APPROVED if approve else ExtensionRequest.Status.REFUSED
        request.decided_by, request.decided_at, request.decision_note = actor, now, note
        request._history_user = actor
        request.save()
        if approve:
            new_due = due_at or request.requested_due_at
            if new_due <= task.due_at:
                raise ValidationError({"due_at": _("The new deadline must be later than the current one.")})
            old_due = task.due_at
            task.due_at = new_due
            task.warn_at = deadlines.warn_at_for(task.dispatched_at, new_due, RectificationTask.WARN_SHARE)
            task.extension_count += 1
            task._history_user = actor
            task.save(update_fields=["due_at", "warn_at", "extension_count", "updated_at"])
            _event(task, actor, Action.EXTENSION_APPROVE, task.status, note, previous_due_at=old_due, due_at=new_due,
                   request=request.pk)
        else:
            _event(task, actor, Action.EXTENSION_REFUSE, task.status, note, request=request.pk)
    return request


def task_escalate(*, actor: User | None, task: RectificationTask, level: str | None = None,
                  note: str = "", note_code: dict | None = None) -> RectificationTask:
    """Raise the supervision level (督办 → 挂牌督办). ``actor=None`` is the
    automatic escalation of the reminder job."""
    if actor is not None:
        _require_supervisor_over(actor, task.unit)
    order = RectificationTask.SUPERVISION_ORDER
    with transaction.atomic():
        task = _lock_task(task, RectificationTask.OPEN_STATUSES)
        current = order.index(task.supervision)
        target = order.index(level) if level else current + 1
        if target >= len(order) or target <= current:
            raise Conflict(_("This task is already at “%(level)s”.") % {"level": task.get_supervision_display()})
        before_level = task.supervision
        task.supervision, task.escalated_at = order[target], timezone.now()
        task._history_user = actor
        task.save(update_fields=["supervision", "escalated_at", "updated_at"])
        _event(task, actor, Action.ESCALATE, task.status, _note(note, required=False), from_level=before_level,
               to_level=task.supervision, automatic=actor is None, **({"note_code": note_code} if note_code else {}))
    return task


def _void_task(actor: User, task: RectificationTask, reason: str) -> RectificationTask:
    task = _lock_task(task, RectificationTask.OPEN_STATUSES)
    before = task.status
    task.status, task.voided_at, task.void_reason = Status.VOID, timezone.now(), reason[:300]
    task._history_user = actor
    task.save(update_fields=["status", "voided_at", "void_reason", "updated_at"])
    # A pending extension request dies with the task (refused, with history).
    pending = list(ExtensionRequest.objects.select_for_update().filter(task=task, status=ExtensionRequest.Status.PENDING))
    for request in pending:
        request.status, request.decided_by, request.decided_at = ExtensionRequest.Status.REFUSED, actor, timezone.now()
        request.decision_note = reason
    bulk_update_with_history(pending, ExtensionRequest, ["status", "decided_by", "decided_at", "decision_note"],
                             default_user=actor)
    _event(task, actor, Action.VOID, before, reason)
    return task


def task_void(*, actor: User, task: RectificationTask, reason: str) -> RectificationTask:
    """Void a task dispatched in error; its finding returns to triage (to be
    dispatched again, marked duplicate or voided)."""
    _require_supervisor_over(actor, task.unit)
    reason = _note(reason, required=True, field="reason")
    with transaction.atomic():
        task = _void_task(actor, task, reason)
        finding = Finding.objects.select_for_update().get(pk=task.finding_id)
        if finding.status == Finding.Status.DISPATCHED:
            finding.status = Finding.Status.NEW
            finding._history_user = actor
            finding.save(update_fields=["status", "updated_at"])
            rollups.finding_moved(finding, Finding.Status.DISPATCHED)
    return task


def tasks_escalate(*, actor: User | None, task_ids: list[int], level: str) -> int:
    """Bulk variant for the reminder job: raise many open tasks below ``level``
    to it at once, with history and one event each. Rows are locked first, so
    two concurrent runs never escalate a task twice."""
    order = RectificationTask.SUPERVISION_ORDER
    lower = order[: order.index(level)]
    now = timezone.now()
    with transaction.atomic():
        rows = list(RectificationTask.objects.select_for_update()
                    .filter(pk__in=task_ids, status__in=RectificationTask.OPEN_STATUSES, supervision__in=lower)
                    .order_by("pk"))
        before = {t.pk: t.supervision for t in rows}
        for t in rows:
            t.supervision, t.escalated_at, t.updated_at = level, now, now
        bulk_update_with_history(rows, RectificationTask, ["supervision", "escalated_at", "updated_at"],
                                 default_user=actor)
        events = TaskEvent.objects.bulk_create([
            TaskEvent(task=t, actor=actor, action=Action.ESCALATE, from_status=t.status, to_status=t.status,
                      created_at=now, data={"from_level": before[t.pk], "to_level": level, "automatic": actor is None})
            for t in rows
        ])
        for event in events:
            if event.pk:
                hooks.task_event_committed(event.pk)
    return len(rows)


__all__ = [
    "Severity", "calendar_override_set", "category_save", "deadline_rule_save", "duplicate_candidates",
    "finding_add_photos", "finding_create", "finding_mark_duplicate", "finding_void", "inspection_create",
    "inspection_set_status", "task_accept", "task_decide_extension", "task_dispatch", "task_escalate",
    "task_request_extension", "task_submit", "task_verify", "task_void", "tasks_escalate", "visit_create",
    "visit_mark_clean",
]
