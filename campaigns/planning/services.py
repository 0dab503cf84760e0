"""Writes with rules for planning: campaigns, editions, point types, points,
work items and their progress. Pages, the API, imports and Celery tasks all
call these."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from civportal.errors import Conflict

from ..models import (
    Campaign, Indicator, IndicatorSystem, Membership, Point, PointType, ProgressAttachment, ProgressReport,
    Unit, User, WorkItem,
)
from ..scope import has_role, user_roles

SUPERVISOR = Membership.Role.SUPERVISOR
UNIT_ROLES = [Membership.Role.HANDLER, Membership.Role.HEAD]
MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024


def require_office(actor: User) -> None:
    """City-wide plans (campaigns, editions, point types) belong to the campaign office."""
    if SUPERVISOR not in user_roles(actor):
        raise PermissionDenied(_("Only the campaign office (supervisors) may do this."))


def require_supervisor_over(actor: User, unit: Unit) -> None:
    if not has_role(actor, unit, [SUPERVISOR]):
        raise PermissionDenied(_("Only the campaign office (supervisors) over this unit may do this."))


def _save(obj, actor: User, **clean) -> None:
    obj.full_clean(**clean)
    obj._history_user = actor
    obj.save()


# --- campaigns -------------------------------------------------------------------------------------


def campaign_create(
    *, actor: User, name: str, starts_on: dt.date, ends_on: dt.date, indicator_system: IndicatorSystem | None = None,
    description: str = "", status: str = Campaign.Status.DRAFT,
) -> Campaign:
    require_office(actor)
    campaign = Campaign(name=name.strip(), starts_on=starts_on, ends_on=ends_on, indicator_system=indicator_system,
                        description=description, status=status, created_by=actor)
    _check_campaign(campaign)
    _save(campaign, actor)
    return campaign


def campaign_update(*, actor: User, campaign: Campaign, **fields) -> Campaign:
    require_office(actor)
    allowed = {"name", "starts_on", "ends_on", "indicator_system", "description", "status"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError(_("Unknown fields: %(fields)s") % {"fields": ", ".join(sorted(unknown))})
    old_status = campaign.status
    for name, value in fields.items():
        setattr(campaign, name, value.strip() if name == "name" else value)
    transitions = {
        Campaign.Status.DRAFT: {Campaign.Status.DRAFT, Campaign.Status.ACTIVE},
        Campaign.Status.ACTIVE: {Campaign.Status.ACTIVE, Campaign.Status.CLOSED},
        Campaign.Status.CLOSED: {Campaign.Status.CLOSED},
    }
    if campaign.status not in transitions[old_status]:
        raise ValidationError({"status": _("A campaign goes draft → active → closed; it cannot go back.")})
    _check_campaign(campaign)
    _save(campaign, actor)
    return campaign


def _check_campaign(campaign: Campaign) -> None:
    if campaign.starts_on and campaign.ends_on and campaign.ends_on < campaign.starts_on:
        raise ValidationError({"ends_on": _("The end date is before the start date.")})
    if campaign.status == Campaign.Status.ACTIVE and campaign.indicator_system is None:
        raise ValidationError({"indicator_system": _("An active campaign needs an indicator edition.")})


# --- indicator editions ----------------------------------------------------------------------------


def edition_is_frozen(system: IndicatorSystem) -> bool:
    """A published edition used by an active campaign is frozen: change a copy."""
    return (
        system.status == IndicatorSystem.Status.PUBLISHED
        and system.campaigns.filter(status=Campaign.Status.ACTIVE).exists()
    )


def _require_editable(system: IndicatorSystem) -> None:
    if edition_is_frozen(system):
        raise ValidationError(
            _("This edition is published and used by an active campaign; copy it to a new edition to change it.")
        )


def indicator_system_update(*, actor: User, system: IndicatorSystem, **fields) -> IndicatorSystem:
    require_office(actor)
    _require_editable(system)
    for name in ("name", "effective_from", "effective_until", "description", "is_sample", "status"):
        if name in fields:
            setattr(system, name, fields[name])
    if system.effective_from and system.effective_until and system.effective_until < system.effective_from:
        raise ValidationError({"effective_until": _("The end date is before the start date.")})
    _save(system, actor)
    return system


def indicator_system_publish(*, actor: User, system: IndicatorSystem) -> IndicatorSystem:
    require_office(actor)
    if system.status == IndicatorSystem.Status.PUBLISHED:
        raise Conflict(_("This edition is already published."))
    if not system.indicators.exists():
        raise ValidationError(_("An empty edition cannot be published."))
    system.status = IndicatorSystem.Status.PUBLISHED
    _save(system, actor)
    return system


def indicator_system_copy(*, actor: User, system: IndicatorSystem, name: str) -> IndicatorSystem:
    """A draft copy of an edition with the whole tree (paths and codes kept)."""
    require_office(actor)
    copy = IndicatorSystem(
        name=name.strip(), status=IndicatorSystem.Status.DRAFT, effective_from=system.effective_from,
        effective_until=system.effective_until, is_sample=system.is_sample, description=system.description,
        copied_from=system, created_by=actor,
    )
    with transaction.atomic():
        _save(copy, actor)
        nodes = list(system.indicators.order_by("path").prefetch_related("point_types"))
        new_by_path: dict[str, Indicator] = {}
        for node in nodes:
            new_by_path[node.path] = Indicator(
                system=copy, path=node.path, depth=node.depth, level=node.level, code=node.code, name=node.name,
                points=node.points, method=node.method, description=node.description,
            )
        Indicator.objects.bulk_create(new_by_path.values(), batch_size=1000)
        _link_parents(list(new_by_path.values()))
        through = Indicator.point_types.through
        through.objects.bulk_create(
            [through(indicator_id=new_by_path[node.path].pk, pointtype_id=pt.pk) for node in nodes for pt in node.point_types.all()],
            batch_size=2000,
        )
    return copy


def _link_parents(created: list[Indicator]) -> None:
    by_path = {node.path: node for node in created}
    updates = []
    for node in created:
        if node.depth > 1:
            node.parent_id = by_path[node.path[: -Indicator.STEPLEN]].pk
            updates.append(node)
    Indicator.objects.bulk_update(updates, ["parent"], batch_size=1000)


def indicator_update(
    *, actor: User, indicator: Indicator, name: str, points: Decimal, method: str, description: str,
    point_types: list[PointType] | None = None,
) -> Indicator:
    require_office(actor)
    _require_editable(indicator.system)
    indicator.name, indicator.points, indicator.method, indicator.description = name.strip(), points, method, description
    indicator.full_clean(validate_constraints=False)
    with transaction.atomic():
        indicator.save()
        if point_types is not None:
            indicator.point_types.set(point_types)
    return indicator


# --- point types and points ------------------------------------------------------------------------


def point_type_save(*, actor: User, point_type: PointType | None = None, code: str, name: str, weight: Decimal = Decimal(1),
                    active: bool = True) -> PointType:
    require_office(actor)
    point_type = point_type or PointType()
    point_type.code, point_type.name, point_type.weight, point_type.active = code.strip(), name.strip(), weight, active
    _save(point_type, actor)
    return point_type


def _check_point_units(actor: User, unit: Unit, department: Unit | None) -> None:
    require_supervisor_over(actor, unit)
    if unit.kind == Unit.Kind.DEPARTMENT:
        raise ValidationError({"unit": _("The territorial unit must be a district, street, community or grid cell.")})
    if department is not None and department.kind != Unit.Kind.DEPARTMENT:
        raise ValidationError({"department": _("The supervising unit must be a department.")})


POINT_FIELDS = ("code", "name", "point_type", "address", "latitude", "longitude", "unit", "department")


def point_create(*, actor: User, name: str, point_type: PointType, unit: Unit, department: Unit | None = None,
                 code: str = "", address: str = "", latitude: Decimal | None = None,
                 longitude: Decimal | None = None) -> Point:
    _check_point_units(actor, unit, department)
    point = Point(code=code.strip(), name=name.strip(), point_type=point_type, address=address.strip(),
                  latitude=latitude, longitude=longitude, unit=unit, department=department)
    _save(point, actor)
    return point


def point_update(*, actor: User, point: Point, **fields) -> Point:
    require_supervisor_over(actor, point.unit)
    for name, value in fields.items():
        if name not in POINT_FIELDS:
            raise ValidationError(_("Unknown fields: %(fields)s") % {"fields": name})
        setattr(point, name, value.strip() if isinstance(value, str) else value)
    _check_point_units(actor, point.unit, point.department)
    # The point's own path columns follow its unit and department on save(), and so do the
    # visits at the point (their department path reads through it: ScopePathsModel.save).
    with transaction.atomic():
        _save(point, actor)
    return point


def point_set_active(*, actor: User, point: Point, active: bool) -> Point:
    """Points are never deleted: a closed market is deactivated, its visits stay."""
    require_supervisor_over(actor, point.unit)
    point.active = active
    _save(point, actor)
    return point


# --- work items ------------------------------------------------------------------------------------


def work_item_create(
    *, actor: User, campaign: Campaign, title: str, lead_unit: Unit, deadline: dt.date,
    indicator: Indicator | None = None, description: str = "", cooperating_units: list[Unit] = (),
) -> WorkItem:
    require_supervisor_over(actor, lead_unit)
    _check_work_item(campaign, indicator, lead_unit, cooperating_units)
    item = WorkItem(campaign=campaign, indicator=indicator, title=title.strip(), description=description,
                    lead_unit=lead_unit, deadline=deadline, created_by=actor)
    with transaction.atomic():
        _save(item, actor)
        item.cooperating_units.set(cooperating_units)
    return item


def work_item_update(*, actor: User, item: WorkItem, **fields) -> WorkItem:
    require_supervisor_over(actor, item.lead_unit)
    cooperating = fields.pop("cooperating_units", None)
    for name, value in fields.items():
        if name not in {"title", "description", "indicator", "lead_unit", "deadline"}:
            raise ValidationError(_("Unknown fields: %(fields)s") % {"fields": name})
        setattr(item, name, value.strip() if isinstance(value, str) and name == "title" else value)
    require_supervisor_over(actor, item.lead_unit)
    _check_work_item(item.campaign, item.indicator, item.lead_unit, cooperating or [])
    with transaction.atomic():
        _save(item, actor)
        if cooperating is not None:
            item.cooperating_units.set(cooperating)
    return item


def _check_work_item(campaign: Campaign, indicator: Indicator | None, lead_unit: Unit, cooperating) -> None:
    if campaign.status == Campaign.Status.CLOSED:
        raise ValidationError({"campaign": _("The campaign is closed.")})
    if indicator is not None and indicator.system_id != campaign.indicator_system_id:
        raise ValidationError({"indicator": _("The indicator is not in the campaign's edition.")})
    if any(unit.pk == lead_unit.pk for unit in cooperating):
        raise ValidationError({"cooperating_units": _("The lead unit cannot also be a cooperating unit.")})


def _locked(item: WorkItem) -> WorkItem:
    return WorkItem.objects.select_for_update().select_related("lead_unit").get(pk=item.pk)


def _acting_unit(actor: User, item: WorkItem, *, lead_only: bool) -> Unit:
    units = [item.lead_unit] if lead_only else [item.lead_unit, *item.cooperating_units.all()]
    for unit in units:
        if has_role(actor, unit, UNIT_ROLES):
            return unit
    if lead_only:
        raise PermissionDenied(_("Only the lead unit's clerks and heads may do this."))
    raise PermissionDenied(_("Only the clerks and heads of the lead or a cooperating unit may report progress."))


def _add_report(*, item: WorkItem, kind: str, actor: User, unit: Unit | None, text: str, files=()) -> ProgressReport:
    report = ProgressReport(work_item=item, kind=kind, unit=unit, author=actor, text=text.strip())
    report.full_clean()
    report.save()
    for upload in files:
        if upload.size > MAX_ATTACHMENT_BYTES:
            raise ValidationError({"files": _("An attachment is larger than 20 MB.")})
        name = (upload.name or "file").rsplit("/", 1)[-1][:200]
        ProgressAttachment.objects.create(report=report, file=upload, original_name=name, size=upload.size)
    return report


def work_item_report_progress(*, actor: User, item: WorkItem, text: str, files=()) -> ProgressReport:
    """A unit reports progress; a not-started item becomes in progress."""
    if not text.strip():
        raise ValidationError({"text": _("Describe the progress.")})
    with transaction.atomic():
        item = _locked(item)
        unit = _acting_unit(actor, item, lead_only=False)
        if item.status not in WorkItem.OPEN_STATUSES:
            raise Conflict(_("This work item is already %(status)s.") % {"status": item.get_status_display()})
        report = _add_report(item=item, kind=ProgressReport.Kind.PROGRESS, actor=actor, unit=unit, text=text, files=files)
        if item.status == WorkItem.Status.NOT_STARTED:
            item.status = WorkItem.Status.IN_PROGRESS
            item._history_user = actor
            item.save(update_fields=["status", "updated_at"])
    return report


def work_item_submit(*, actor: User, item: WorkItem, text: str, files=()) -> WorkItem:
    """The lead unit declares the item done and hands it to the office for verification."""
    with transaction.atomic():
        item = _locked(item)
        unit = _acting_unit(actor, item, lead_only=True)
        if item.status not in WorkItem.OPEN_STATUSES:
            raise Conflict(_("This work item is already %(status)s.") % {"status": item.get_status_display()})
        _add_report(item=item, kind=ProgressReport.Kind.SUBMISSION, actor=actor, unit=unit,
                    text=text or _("Submitted for verification."), files=files)
        item.status, item.submitted_at = WorkItem.Status.SUBMITTED, timezone.now()
        item._history_user = actor
        item.save(update_fields=["status", "submitted_at", "updated_at"])
    return item


def work_item_verify(*, actor: User, item: WorkItem, accept: bool, text: str = "") -> WorkItem:
    """The office verifies a submitted item, or returns it to the lead unit."""
    with transaction.atomic():
        item = _locked(item)
        require_supervisor_over(actor, item.lead_unit)
        if item.status != WorkItem.Status.SUBMITTED:
            raise Conflict(_("Only a submitted work item can be verified or returned."))
        if not accept and not text.strip():
            raise ValidationError({"text": _("Say why the work item is returned.")})
        kind = ProgressReport.Kind.VERIFICATION if accept else ProgressReport.Kind.RETURN
        _add_report(item=item, kind=kind, actor=actor, unit=None, text=text or _("Verified."))
        if accept:
            item.status, item.verified_at, item.verified_by = WorkItem.Status.VERIFIED, timezone.now(), actor
        else:
            item.status, item.submitted_at = WorkItem.Status.IN_PROGRESS, None
        item._history_user = actor
        item.save(update_fields=["status", "verified_at", "verified_by", "submitted_at", "updated_at"])
    return item
