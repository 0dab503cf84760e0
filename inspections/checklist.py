"""The checklist at a visit (测评标准逐条判定): which criteria of the campaign's
edition apply to the visit's point type, how one submission of results is read
(the page and the API take the same fields, docs/field-evaluation.md), and the
write itself — idempotent on the device's client id, a 不达标 becoming a finding
linked to its criterion through ``services.finding_create``."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from campaigns.models import Indicator, User
from campaigns.scope import has_role

from . import services
from .models import Finding, FindingCategory, Severity, Visit, VisitCheck

Result = VisitCheck.Result
HUNDRED = Decimal(100)
NOTE_MAX = 2000


# --- what applies -------------------------------------------------------------------------------


def applicable_criteria(visit: Visit) -> list[Indicator]:
    """The criteria (leaves) of the visit's campaign edition whose applicable point
    types include the visit's point type, in the edition's order. One query."""
    system_id = visit.inspection.campaign.indicator_system_id
    if system_id is None:
        return []
    return list(
        Indicator.objects.filter(system_id=system_id, level=Indicator.Level.CRITERION,
                                 point_types=visit.point.point_type_id)
        .order_by("path")
    )


@dataclass
class Group:
    """A 版块 › 测评项目 heading of the checklist and its criteria rows."""

    section: Indicator | None
    item: Indicator | None
    rows: list = field(default_factory=list)


def checklist(visit: Visit) -> tuple[list[Group], dict]:
    """The page's checklist: groups by section and item, each row a criterion with
    its current check (or None), and the counts. Three queries."""
    criteria = applicable_criteria(visit)
    checks = {c.indicator_id: c for c in VisitCheck.objects.filter(visit=visit).select_related("finding")}
    prefixes = {c.path[:n * Indicator.STEPLEN] for c in criteria for n in (1, 2)}
    uppers = {i.path: i for i in Indicator.objects.filter(
        system_id=visit.inspection.campaign.indicator_system_id, path__in=prefixes)} if criteria else {}
    groups: list[Group] = []
    for criterion in criteria:
        section = uppers.get(criterion.path[:Indicator.STEPLEN])
        item = uppers.get(criterion.path[:2 * Indicator.STEPLEN])
        if not groups or groups[-1].item != item or groups[-1].section != section:
            groups.append(Group(section, item))
        groups[-1].rows.append((criterion, checks.get(criterion.pk)))
    counts = {"total": len(criteria), "met": 0, "failed": 0, "na": 0}
    for criterion in criteria:
        check = checks.get(criterion.pk)
        if check is not None:
            counts[check.result] += 1
    counts["open"] = counts["total"] - counts["met"] - counts["failed"] - counts["na"]
    counts["score"] = criteria_score(criteria, checks)
    return groups, counts


def criteria_score(criteria: list[Indicator], checks: dict) -> Decimal | None:
    """Points of the criteria met ÷ points of the criteria judged (met or not met)
    × 100, before the repeat rule (docs/scores.md); None when nothing with points was judged."""
    stake = met = Decimal(0)
    for criterion in criteria:
        check = checks.get(criterion.pk)
        if check is None or check.result not in VisitCheck.SCORED:
            continue
        stake += criterion.points
        if check.result == Result.MET:
            met += criterion.points
    return (met * HUNDRED / stake).quantize(Decimal("0.01")) if stake > 0 else None


# --- reading a submission -----------------------------------------------------------------------


@dataclass
class Item:
    indicator_id: int
    result: str
    note: str = ""
    category: str = ""
    severity: str = ""
    photos: list = field(default_factory=list)


@dataclass
class Submission:
    client_id: uuid.UUID | None
    items: list[Item]
    all_met: bool = False
    latitude: Decimal | None = None
    longitude: Decimal | None = None


def _text(value, field_name: str, errors: dict, limit: int = NOTE_MAX) -> str:
    value = "" if value is None else str(value)
    if "\x00" in value or any(0xD800 <= ord(ch) <= 0xDFFF for ch in value):
        errors[field_name] = _("The text contains invalid characters.")
        return ""
    value = value.strip()
    if len(value) > limit:
        errors[field_name] = _("At most %(n)s characters.") % {"n": limit}
        return ""
    return value


def _coordinate(value, field_name: str, bound: int, errors: dict) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value).strip())
    except ArithmeticError:
        number = None
    if number is None or not number.is_finite() or abs(number) > bound:
        errors[field_name] = _("Enter a valid coordinate.")
        return None
    return number.quantize(Decimal("0.000001"))


def _truthy(value) -> bool:
    return value is True or str(value).strip().lower() in {"1", "true", "on", "yes"}


def parse(data, files=None) -> Submission:
    """Read one submission from form fields (the page, multipart API calls) or a
    JSON body (``items`` as a list). Raises ValidationError naming each bad field."""
    errors: dict = {}
    raw_client = data.get("client_id") if hasattr(data, "get") else None
    client_id = None
    if raw_client not in (None, ""):
        try:
            client_id = uuid.UUID(str(raw_client))
        except (ValueError, AttributeError, TypeError):
            errors["client_id"] = _("The client id must be a UUID.")
    raw_items = []
    if isinstance(data.get("items"), list):
        for n, entry in enumerate(data["items"]):
            if not isinstance(entry, dict):
                errors[f"items[{n}]"] = _("Each item is an object with an indicator and a result.")
                continue
            raw_items.append((f"items[{n}]", entry.get("indicator"), entry, []))
    elif data.get("items") not in (None, ""):
        errors["items"] = _("Each item is an object with an indicator and a result.")
    keys = data.keys() if hasattr(data, "keys") else []
    for key in keys:
        if key.startswith("c-") and key.endswith("-result"):
            raw_id = key[2:-len("-result")]
            entry = {name: data.get(f"c-{raw_id}-{name}") for name in ("result", "note", "category", "severity")}
            photos = files.getlist(f"c-{raw_id}-photos") if files is not None else []
            raw_items.append((key, raw_id, entry, photos))
    items: list[Item] = []
    seen: set[int] = set()
    for label, raw_id, entry, photos in raw_items:
        try:
            indicator_id = int(str(raw_id))
            if indicator_id <= 0 or indicator_id > 2**31:
                raise ValueError
        except (TypeError, ValueError):
            errors[label] = _("Unknown criterion.")
            continue
        result = str(entry.get("result") or "").strip()
        if result == "":
            continue  # not judged yet
        if result not in Result.values:
            errors[label] = _("Choose met, not met or not applicable.")
            continue
        if indicator_id in seen:
            errors[label] = _("This criterion is given twice.")
            continue
        seen.add(indicator_id)
        severity = str(entry.get("severity") or "").strip()
        if severity and severity not in Severity.values:
            errors[label] = _("Choose a severity: minor, moderate or severe.")
            continue
        items.append(Item(
            indicator_id=indicator_id, result=result, note=_text(entry.get("note"), label, errors),
            category=_text(entry.get("category"), label, errors, 40), severity=severity, photos=list(photos),
        ))
    latitude = _coordinate(data.get("latitude"), "latitude", 90, errors)
    longitude = _coordinate(data.get("longitude"), "longitude", 180, errors)
    all_met = _truthy(data.get("all_met"))
    if not items and not all_met and not errors:
        errors["items"] = _("Judge at least one criterion, or record the place as clean.")
    if errors:
        raise ValidationError(errors)
    return Submission(client_id, items, all_met, latitude, longitude)


# --- the write ----------------------------------------------------------------------------------


def _category(raw: str, categories: dict) -> FindingCategory | None:
    return categories.get(raw) or (categories.get(int(raw)) if raw.isdigit() else None)


def record(*, actor: User, visit: Visit, submission: Submission) -> bool:
    """Write a submission's results. Returns False when it is a resend (a row of this
    visit already carries its client id): nothing changes and the caller answers with
    the current state, as the first time. Else every item is checked first; then each
    不达标 without a finding gets one (its category, severity, note, photos, the
    inspector's position), and the rows are written with history."""
    if not has_role(actor, visit.unit, services.RECORDERS):
        raise PermissionDenied(_("Only inspectors and the campaign office may record checklists here."))
    with transaction.atomic():
        visit = Visit.objects.select_for_update(of=("self",)).select_related(
            "inspection__campaign", "point__point_type", "unit").get(pk=visit.pk)
        if submission.client_id is not None and VisitCheck.objects.filter(
                visit=visit, client_id=submission.client_id).exists():
            return False
        criteria = {c.pk: c for c in applicable_criteria(visit)}
        existing = {c.indicator_id: c for c in VisitCheck.objects.select_for_update(of=("self",)).filter(visit=visit)
                    .select_related("finding")}
        items = {item.indicator_id: item for item in submission.items}
        if submission.all_met:
            for pk in criteria:
                if pk not in items and pk not in existing:
                    items[pk] = Item(indicator_id=pk, result=Result.MET)
        codes = {i.category for i in items.values() if i.result == Result.FAILED and i.category}
        categories: dict = {}
        if codes:
            ids = [int(c) for c in codes if c.isdigit() and int(c) < 2**31]
            for cat in FindingCategory.objects.filter(code__in=codes) | FindingCategory.objects.filter(pk__in=ids):
                categories[cat.code] = categories[cat.pk] = cat
        errors: dict = {}
        for pk, item in items.items():
            label = f"c-{pk}-result"
            if pk not in criteria:
                errors[label] = _("This criterion does not apply to this point type in the campaign's edition.")
                continue
            before = existing.get(pk)
            has_finding = (before is not None and before.finding is not None
                           and before.finding.status not in (Finding.Status.VOID, Finding.Status.DUPLICATE))
            if item.result != Result.FAILED and has_finding:
                errors[label] = _("“%(name)s” has finding #%(pk)s; void it before changing the result.") % {
                    "name": criteria[pk].name, "pk": before.finding_id}
            elif item.result == Result.FAILED and not has_finding:
                category = _category(item.category, categories) if item.category else None
                if category is None:
                    errors[label] = _("Choose the problem category for “%(name)s”.") % {"name": criteria[pk].name}
                elif not item.photos:
                    errors[label] = _("Add at least one photo of the problem for “%(name)s”.") % {
                        "name": criteria[pk].name}
        if errors:
            raise ValidationError(errors)
        now = timezone.now()
        new, changed = [], []
        for pk, item in sorted(items.items()):
            criterion, before = criteria[pk], existing.get(pk)
            finding = before.finding if before is not None else None
            if item.result == Result.FAILED and (finding is None or finding.status in (
                    Finding.Status.VOID, Finding.Status.DUPLICATE)):
                try:
                    finding, _created = services.finding_create(
                        actor=actor, source=Finding.Source.INSPECTION, category=_category(item.category, categories),
                        severity=item.severity or None, visit=visit, indicator=criterion,
                        description=item.note or _("Not met: %(name)s") % {"name": criterion.name},
                        latitude=submission.latitude, longitude=submission.longitude, photos_in=item.photos,
                    )
                except ValidationError as exc:
                    messages = exc.messages if hasattr(exc, "messages") else [str(exc)]
                    raise ValidationError({f"c-{pk}-result": messages}) from exc
            row = before or VisitCheck(visit=visit, indicator=criterion)
            row.result, row.note = item.result, item.note
            row.finding = finding if item.result == Result.FAILED else row.finding
            row.recorded_by, row.recorded_at, row.client_id = actor, now, submission.client_id
            (changed if before is not None else new).append(row)
        if new:
            bulk_create_with_history(new, VisitCheck, default_user=actor)
        if changed:
            bulk_update_with_history(changed, VisitCheck, ["result", "note", "finding", "recorded_by", "recorded_at",
                                                            "client_id"], default_user=actor)
        if submission.all_met and not visit.is_clean and not visit.findings.counting().exists():
            visit.is_clean = True
            visit._history_user = actor
            visit.save(update_fields=["is_clean", "updated_at"])
    return True


def payload(visit: Visit, client_id: uuid.UUID | None = None) -> dict:
    """The checklist as the API answers it (the same answer to a resend)."""
    groups, counts = checklist(visit)
    rows = []
    for group in groups:
        for criterion, check in group.rows:
            rows.append({
                "indicator": criterion.pk, "code": criterion.code, "name": criterion.name,
                "section": group.section.name if group.section else "", "item": group.item.name if group.item else "",
                "points": criterion.points, "result": check.result if check else "",
                "note": check.note if check else "", "finding": check.finding_id if check else None,
                "recorded_at": check.recorded_at if check else None,
            })
    return {"visit": visit.pk, "client_id": client_id, "counts": counts, "checks": rows}
