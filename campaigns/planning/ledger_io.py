"""Evaluation points and the task ledger in and out of Excel.

Both imports check every row before writing anything, then insert in bulk
(20,000 rows are a few statements, not 20,000 round trips). ``progress`` is
called with (done, total) so a background job can show how far it got.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from civportal.xlsx import ImportRejected, ImportResult, RowError, normalize_text, parse_number, read_table

from ..models import Campaign, Indicator, Membership, Point, ProgressReport, Unit, User, WorkItem
from ..scope import fill_scope_paths, has_role, refresh_scope_paths
from .parsing import PointTypeLookup, UnitLookup, parse_bool, parse_date
from .services import require_office

Progress = Callable[[int, int], None] | None
SUPERVISOR = Membership.Role.SUPERVISOR
BATCH = 2000

POINT_COLUMNS = {
    "code": ("点位编号", "编号", "点位编码", "code"),
    "name": ("点位名称", "名称", "name"),
    "point_type": ("点位类型", "类型", "type", "point type"),
    "address": ("地址", "详细地址", "address"),
    "longitude": ("经度", "longitude", "lng"),
    "latitude": ("纬度", "latitude", "lat"),
    "unit": ("属地单位", "所属单位", "责任单位", "territorial unit", "unit"),
    "department": ("主管部门", "监管部门", "supervising department", "department"),
    "active": ("状态", "是否有效", "active"),
}
POINT_REQUIRED = ("name", "point_type", "unit")
POINT_LABELS = {
    "code": pgettext_lazy("xlsx column", "code"), "name": pgettext_lazy("xlsx column", "name"), "point_type": pgettext_lazy("xlsx column", "type"),
    "address": pgettext_lazy("xlsx column", "address"), "longitude": pgettext_lazy("xlsx column", "longitude"), "latitude": pgettext_lazy("xlsx column", "latitude"),
    "unit": pgettext_lazy("xlsx column", "territorial unit"), "department": pgettext_lazy("xlsx column", "supervising department"),
    "active": pgettext_lazy("xlsx column", "active"),
}
POINT_FIELDS = ["code", "name", "point_type", "address", "longitude", "latitude", "unit", "department", "active"]

WORK_ITEM_COLUMNS = {
    "indicator": ("指标编码", "测评指标编码", "indicator code", "indicator"),
    "title": ("工作任务", "任务内容", "工作事项", "title", "item"),
    "description": ("任务要求", "说明", "description"),
    "lead_unit": ("牵头单位", "责任单位", "lead unit"),
    "cooperating_units": ("配合单位", "协同单位", "cooperating units"),
    "deadline": ("完成时限", "完成时间", "截止日期", "deadline"),
}
WORK_ITEM_REQUIRED = ("title", "lead_unit", "deadline")
WORK_ITEM_LABELS = {
    "indicator": pgettext_lazy("xlsx column", "indicator code"), "title": pgettext_lazy("xlsx column", "work item"),
    "description": pgettext_lazy("xlsx column", "description"), "lead_unit": pgettext_lazy("xlsx column", "lead unit"),
    "cooperating_units": pgettext_lazy("xlsx column", "cooperating units"), "deadline": pgettext_lazy("xlsx column", "deadline"),
}


def _tick(progress: Progress, done: int, total: int) -> None:
    if progress is not None and (done == total or done % 500 == 0):
        progress(done, total)


def _coordinate(raw, low: int, high: int) -> Decimal | None:
    if not normalize_text(raw):
        return None
    value = parse_number(raw, allow_suffix=("°",))
    if not low <= value <= high:
        raise ValueError(raw)
    return value.quantize(Decimal("0.000001"))


def import_points(*, actor: User, upload, progress: Progress = None) -> ImportResult:
    """Create points, or update those whose code already exists."""
    rows = read_table(upload, columns=POINT_COLUMNS, required=POINT_REQUIRED)
    total = len(rows) * 2
    errors: list[RowError] = []
    types = PointTypeLookup()
    units = UnitLookup(Unit.objects.visible_to(actor))
    existing = {p.code: p for p in Point.objects.visible_to(actor).exclude(code="").select_related("unit")}
    taken = set(Point.objects.exclude(code="").values_list("code", flat=True)) - set(existing)
    seen: dict[str, int] = {}
    parsed: list[dict] = []

    def error(row: int, column: str, message: str) -> None:
        errors.append(RowError(row=row, column=str(POINT_LABELS[column]), message=message))

    for done, (row, raw) in enumerate(rows, start=1):
        _tick(progress, done, total)
        values, ok = {}, True
        code = normalize_text(raw.get("code"))
        if len(code) > 40:
            error(row, "code", _("The point code is longer than 40 characters."))
            ok = False
        elif code in seen:
            error(row, "code", _("Duplicate point code %(code)s (also on row %(row)d).") % {"code": code, "row": seen[code]})
            ok = False
        elif code in taken:
            error(row, "code", _("Code %(code)s belongs to a point outside your scope.") % {"code": code})
            ok = False
        elif code:
            seen[code] = row
        values["code"] = code
        values["name"] = normalize_text(raw.get("name"))
        if not values["name"] or len(values["name"]) > 200:
            error(row, "name", _("The name is missing or longer than 200 characters."))
            ok = False
        values["address"] = normalize_text(raw.get("address"))[:300]
        for column, parse in (
            ("point_type", types.one),
            ("unit", lambda v: units.one(v, kinds={k for k in Unit.Kind.values if k != Unit.Kind.DEPARTMENT})),
            ("department", lambda v: units.one(v, kinds={Unit.Kind.DEPARTMENT}) if normalize_text(v) else None),
            ("active", parse_bool),
        ):
            try:
                values[column] = parse(raw.get(column))
            except ValueError as exc:
                error(row, column, str(exc))
                ok = False
        for column, low, high in (("longitude", -180, 180), ("latitude", -90, 90)):
            try:
                values[column] = _coordinate(raw.get(column), low, high)
            except ValueError:
                error(row, column, _("%(value)s is not a valid %(column)s.")
                      % {"value": normalize_text(raw.get(column)), "column": POINT_LABELS[column]})
                ok = False
        unit, department = values.get("unit"), values.get("department")
        if unit is not None and unit.kind == Unit.Kind.DEPARTMENT:
            error(row, "unit", _("The territorial unit must be a district, street, community or grid cell."))
            ok = False
        elif unit is not None and not has_role(actor, unit, [SUPERVISOR]):
            error(row, "unit", _("You may not add or change points in %(unit)s.") % {"unit": unit.name})
            ok = False
        if department is not None and department.kind != Unit.Kind.DEPARTMENT:
            error(row, "department", _("The supervising unit must be a department."))
            ok = False
        if code in existing and not has_role(actor, existing[code].unit, [SUPERVISOR]):
            error(row, "code", _("You may not change point %(code)s.") % {"code": code})
            ok = False
        if ok:
            parsed.append(values)
    if errors:
        raise ImportRejected(errors)

    result = ImportResult()
    new, changed = [], []
    for values in parsed:
        point = existing.get(values["code"]) if values["code"] else None
        if point is None:
            new.append(Point(**values))
            continue
        before = [getattr(point, f) for f in POINT_FIELDS]
        for name in POINT_FIELDS:
            setattr(point, name, values[name])
        if before != [getattr(point, f) for f in POINT_FIELDS]:
            changed.append(point)
        else:
            result.unchanged += 1
    with transaction.atomic():
        for start in range(0, len(new), BATCH):
            bulk_create_with_history(new[start : start + BATCH], Point, batch_size=BATCH, default_user=actor)
            _tick(progress, len(rows) + min(start + BATCH, len(new)), total)
        if changed:
            fill_scope_paths(changed)  # the points' own path columns follow a new unit or department
            bulk_update_with_history(changed, Point, [*POINT_FIELDS, *Point.SCOPE_PATHS], batch_size=BATCH,
                                     default_user=actor)
            # Visits at these points carry their department's path (a scope column).
            refresh_scope_paths(Point, [p.pk for p in changed])
    if progress:
        progress(total, total)
    result.created, result.updated = len(new), len(changed)
    return result


def point_export_headers() -> list[str]:
    return ["点位编号", "点位名称", "点位类型", "地址", "经度", "纬度", "属地单位", "主管部门", "状态"]


def point_export_rows(queryset):
    for p in queryset.select_related("point_type", "unit", "department").order_by("id").iterator(chunk_size=2000):
        yield [
            p.code, p.name, p.point_type.name, p.address,
            float(p.longitude) if p.longitude is not None else None,
            float(p.latitude) if p.latitude is not None else None,
            p.unit.code, p.department.code if p.department else "", "是" if p.active else "否",
        ]


def import_work_items(*, actor: User, upload, campaign: Campaign, progress: Progress = None) -> ImportResult:
    """Add a breakdown table (one row per work item) to a campaign's ledger."""
    require_office(actor)
    if campaign.status == Campaign.Status.CLOSED:
        raise ValidationError(_("The campaign is closed."))
    rows = read_table(upload, columns=WORK_ITEM_COLUMNS, required=WORK_ITEM_REQUIRED)
    total = len(rows) * 2
    errors: list[RowError] = []
    units = UnitLookup(Unit.objects.visible_to(actor))
    indicators = {
        code.lower(): pk
        for code, pk in Indicator.objects.filter(system_id=campaign.indicator_system_id).values_list("code", "pk")
    }
    parsed = []

    def error(row: int, column: str, message: str) -> None:
        errors.append(RowError(row=row, column=str(WORK_ITEM_LABELS[column]), message=message))

    for done, (row, raw) in enumerate(rows, start=1):
        _tick(progress, done, total)
        ok = True
        title = normalize_text(raw.get("title"))
        if not title or len(title) > 300:
            error(row, "title", _("The work item is missing or longer than 300 characters."))
            ok = False
        indicator_code = normalize_text(raw.get("indicator"))
        indicator_id = indicators.get(indicator_code.lower()) if indicator_code else None
        if indicator_code and indicator_id is None:
            error(row, "indicator", _("Indicator %(code)s is not in the campaign's edition.") % {"code": indicator_code})
            ok = False
        values = {}
        for column, parse in (("lead_unit", units.one), ("cooperating_units", units.many), ("deadline", parse_date)):
            try:
                values[column] = parse(raw.get(column))
            except ValueError as exc:
                error(row, column, str(exc))
                ok = False
        lead = values.get("lead_unit")
        if lead is not None and not has_role(actor, lead, [SUPERVISOR]):
            error(row, "lead_unit", _("You may not assign work to %(unit)s.") % {"unit": lead.name})
            ok = False
        if lead is not None and any(u.pk == lead.pk for u in values.get("cooperating_units", [])):
            error(row, "cooperating_units", _("The lead unit cannot also be a cooperating unit."))
            ok = False
        if ok:
            parsed.append((WorkItem(campaign=campaign, indicator_id=indicator_id, title=title, lead_unit=lead,
                                    description=normalize_text(raw.get("description")), deadline=values["deadline"],
                                    created_by=actor), values["cooperating_units"]))
    if errors:
        raise ImportRejected(errors)
    through = WorkItem.cooperating_units.through
    with transaction.atomic():
        for start in range(0, len(parsed), BATCH):
            chunk = parsed[start : start + BATCH]
            items = bulk_create_with_history([item for item, _units in chunk], WorkItem, batch_size=BATCH,
                                             default_user=actor)
            links = [through(workitem_id=item.pk, unit_id=unit.pk) for item, (_i, cooperating) in zip(items, chunk)
                     for unit in cooperating]
            through.objects.bulk_create(links, batch_size=BATCH)
            _tick(progress, len(rows) + start + len(chunk), total)
    if progress:
        progress(total, total)
    return ImportResult(created=len(parsed))


def ledger_headers() -> list[str]:
    return ["指标编码", "工作任务", "牵头单位", "配合单位", "完成时限", "状态", "是否逾期", "最新进展"]


def ledger_rows(queryset):
    """The ledger (台账) as offices expect it; the latest progress comes from a subquery."""
    today = timezone.localdate()
    latest = ProgressReport.objects.filter(work_item=OuterRef("pk")).order_by("-created_at", "-id").values("text")[:1]
    queryset = (
        queryset.select_related("indicator", "lead_unit")
        .prefetch_related("cooperating_units")
        .annotate(latest_progress=Subquery(latest))
        .order_by("deadline", "id")
    )
    for item in queryset.iterator(chunk_size=2000):
        yield [
            item.indicator.code if item.indicator else "", item.title, item.lead_unit.name,
            "、".join(unit.name for unit in item.cooperating_units.all()), item.deadline,
            item.get_status_display(), "是" if item.is_overdue(today) else "否", item.latest_progress or "",
        ]
