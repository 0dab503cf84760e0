"""Bulk intake of findings from other systems (12345 hotline tickets …) and
status pull by external id.

``findings_bulk_ingest`` records up to ``BULK_MAX`` findings in one call,
idempotent on (source, external id), with a fixed number of queries however
long the batch: references (categories, units, points, campaigns) are
resolved in one query each, the external ids already known in one query,
the repeat flag in one query, and the new findings and their history rows
are inserted with one statement each. One after-commit call fans out
finding.created for the whole batch.

Per item, in the order sent:

- ``created``: a new finding;
- ``unchanged``: a finding with this source and external id already exists
  and the item says nothing different (a re-sent batch);
- ``error``: the item was not recorded; ``code`` says why — ``invalid``
  (``errors`` per field), ``permission_denied`` (the unit is outside what
  the key may record), or ``conflict`` (the external id is already recorded
  with *different* content: the existing finding is never overwritten).

Valid items are recorded even when others in the batch are not (partial
success); a re-send of the corrected items is safe thanks to idempotency."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from campaigns.models import Campaign, Membership, Point, Unit, User
from campaigns.scope import has_role

from . import hooks, recurrence, rollups
from .models import Finding, FindingCategory, RectificationTask
from .services import campaign_for_new_finding, findings_refresh_repeats

BULK_MAX = 1000
STATUS_MAX = 1000
Role = Membership.Role
RECORDERS = [Role.INSPECTOR, Role.SUPERVISOR]
REPEAT_WINDOW = dt.timedelta(days=30)
# Fields compared to decide "unchanged" vs "conflict" (only those the item gives).
COMPARED = ["category", "unit", "point", "description", "address", "latitude", "longitude", "observed_at",
            "severity", "reporter_name", "reporter_contact", "campaign"]


@dataclass
class Outcome:
    index: int
    external_id: str | None
    result: str = "error"
    id: int | None = None
    code: str | None = None
    errors: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"index": self.index, "external_id": self.external_id, "result": self.result, "id": self.id,
                "code": self.code, "errors": self.errors}


def _is_id(value: str) -> bool:
    return value.isascii() and value.isdigit() and len(value) < 19  # "²".isdigit() is True


def _by_ref(rows, refs: set[str], *, code_field: str = "code") -> dict[str, object]:
    """Map each reference (id or code) to its row."""
    found = {}
    for row in rows:
        found[str(row.pk)] = row
        code = getattr(row, code_field, "")
        if code:
            found.setdefault(f"code:{code}", row)
    return {ref: found.get(ref if _is_id(ref) else f"code:{ref}") for ref in refs}


def _lookup(queryset, refs: set[str]):
    ids = [int(ref) for ref in refs if _is_id(ref)]
    codes = [ref for ref in refs if not _is_id(ref)]
    if not refs:
        return {}
    return _by_ref(queryset.filter(Q(pk__in=ids) | Q(code__in=codes)), refs)


def _same(existing: Finding, resolved: dict) -> bool:
    for name in COMPARED:
        if name not in resolved:
            continue
        new = resolved[name]
        old = getattr(existing, f"{name}_id" if name in {"category", "unit", "point", "campaign"} else name)
        if name in {"category", "unit", "point", "campaign"}:
            new = new.pk if new is not None else None
        elif name in {"latitude", "longitude"}:
            new = None if new is None else Decimal(new).quantize(Decimal("0.000001"))
            old = None if old is None else Decimal(old).quantize(Decimal("0.000001"))
        elif isinstance(new, str):
            new, old = new.strip(), (old or "").strip()
        if new != old:
            return False
    return True


def findings_bulk_ingest(*, actor: User, items: list[tuple[dict | None, dict, str | None]]) -> list[Outcome]:
    """``items``: per item, ``(data, errors, external_id)`` from the input
    serializer (``data`` None when the item's shape is invalid; ``external_id``
    as sent, to echo it). Returns one Outcome per item, in order."""
    for attempt in range(3):
        try:
            return _ingest(actor, items)
        except IntegrityError:  # a concurrent batch inserted one of our external ids first: resolve again
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _ingest(actor: User, items: list[tuple[dict | None, dict, str | None]]) -> list[Outcome]:
    outcomes = [Outcome(index=i, external_id=external_id) for i, (_d, _e, external_id) in enumerate(items)]
    valid: list[tuple[int, dict]] = []
    for i, (data, errors, _external_id) in enumerate(items):
        if data is None:
            outcomes[i].code, outcomes[i].errors = "invalid", errors
        else:
            outcomes[i].external_id = data["external_id"]
            valid.append((i, data))
    if not valid:
        return outcomes

    # References, one query each.
    category_refs = {d["category"] for _i, d in valid}
    unit_refs = {d["unit"] for _i, d in valid if d.get("unit")}
    point_refs = {d["point"] for _i, d in valid if d.get("point")}
    campaign_ids = {d["campaign"] for _i, d in valid if d.get("campaign") is not None}
    categories = _lookup(FindingCategory.objects.select_related("supervising_department"), category_refs)
    units = _lookup(Unit.objects.visible_to(actor), unit_refs)
    points = _lookup(Point.objects.visible_to(actor).select_related("unit", "department"), point_refs)
    campaigns = {c.pk: c for c in Campaign.objects.filter(pk__in=campaign_ids)} if campaign_ids else {}
    default_campaign, default_campaign_errors = None, None
    if any(d.get("campaign") is None for _i, d in valid):
        try:
            default_campaign = campaign_for_new_finding()
        except ValidationError as exc:
            default_campaign_errors = exc.message_dict["campaign"]
    keys = {(d["source"], d["external_id"]) for _i, d in valid}
    existing_q = Q()
    for source in {s for s, _e in keys}:
        existing_q |= Q(source=source, external_id__in=[e for s, e in keys if s == source])
    existing = {(f.source, f.external_id): f for f in Finding.objects.filter(existing_q)}
    visible = set()
    if existing:
        visible = set(Finding.objects.visible_to(actor).filter(pk__in=[f.pk for f in existing.values()])
                      .values_list("pk", flat=True))

    now = timezone.now()
    new: list[tuple[int, Finding]] = []
    pending: dict[tuple[str, str], tuple[int, dict]] = {}
    for i, data in valid:
        outcome = outcomes[i]
        errors: dict[str, list[str]] = {}
        resolved: dict = {}
        category = categories.get(data["category"])
        if category is None:
            errors["category"] = [_("No finding category with this id or code.")]
        elif not category.active:
            errors["category"] = [_("This category is no longer in use.")]
        resolved["category"] = category
        point = None
        if data.get("point"):
            point = points.get(data["point"])
            if point is None:
                errors["point"] = [_("No point with this id or code in your scope.")]
            elif not point.active:
                errors["point"] = [_("This point is no longer in use.")]
            resolved["point"] = point
        unit = None
        if data.get("unit"):
            unit = units.get(data["unit"])
            if unit is None:
                errors["unit"] = [_("No unit with this id or code in your scope.")]
            resolved["unit"] = unit
        elif point is not None:
            unit = point.unit
        elif "point" not in errors:
            errors["unit"] = [_("Choose the responsible unit (or a point).")]
        campaign = default_campaign
        if data.get("campaign") is None and default_campaign_errors:
            errors["campaign"] = default_campaign_errors
        if data.get("campaign") is not None:
            campaign = campaigns.get(data["campaign"])
            if campaign is None:
                errors["campaign"] = [_("No such campaign.")]
            resolved["campaign"] = campaign
        for name in ["description", "address", "latitude", "longitude", "observed_at", "severity",
                     "reporter_name", "reporter_contact"]:
            if data.get(name) not in (None, ""):
                resolved[name] = data[name]
        if "\x00" in data["description"] + data.get("address", "") + data.get("reporter_name", "") + \
                data.get("reporter_contact", ""):
            errors["description"] = [_("The text contains invalid characters.")]
        if not data["description"].strip():
            errors["description"] = [_("Please give a reason.")]
        if errors:
            outcome.code, outcome.errors = "invalid", errors
            continue
        if not has_role(actor, unit, RECORDERS):
            outcome.code = "permission_denied"
            outcome.errors = {"unit": [_("Only inspectors and the campaign office over this unit may record "
                                         "findings.")]}
            continue
        key = (data["source"], data["external_id"])
        earlier = existing.get(key)
        if earlier is None and key in pending:  # the same ticket twice in one batch
            first_index, first_resolved = pending[key]
            earlier_same = all(first_resolved.get(k) == v for k, v in resolved.items()) and \
                all(resolved.get(k) == v for k, v in first_resolved.items())
            if earlier_same:
                outcome.result, outcome.code = "unchanged", None
                outcome.id = -first_index - 1  # filled in once the first is inserted
            else:
                outcome.code = "conflict"
                outcome.errors = {"external_id": [_("This external id appears earlier in the batch (item "
                                                    "%(index)s) with different content.") % {"index": first_index}]}
            continue
        if earlier is not None:
            if earlier.pk not in visible:
                outcome.code = "conflict"
                outcome.errors = {"external_id": [_("This external id is already recorded for a unit outside "
                                                    "your scope.")]}
            elif _same(earlier, resolved):
                outcome.result, outcome.id = "unchanged", earlier.pk
            else:
                outcome.id, outcome.code = earlier.pk, "conflict"
                outcome.errors = {"external_id": [_("Finding #%(id)s already has this external id with different "
                                                    "content; it was not changed. Send changes to the campaign "
                                                    "office instead.") % {"id": earlier.pk}]}
            continue
        pending[key] = (i, resolved)
        latitude, longitude = data.get("latitude"), data.get("longitude")
        if (latitude is None or longitude is None) and point is not None:
            latitude, longitude = point.latitude, point.longitude
        finding = Finding(
            campaign=campaign, source=data["source"], external_id=data["external_id"], point=point, unit=unit,
            department=(point.department if point is not None else None) or category.supervising_department,
            category=category, severity=data.get("severity") or category.default_severity,
            description=data["description"].strip(), address=(data.get("address") or "").strip(),
            latitude=latitude, longitude=longitude, observed_at=data.get("observed_at") or now, reporter=actor,
            reporter_name=(data.get("reporter_name") or "").strip(),
            reporter_contact=(data.get("reporter_contact") or "").strip(),
        )
        try:
            finding.clean_fields(exclude=["campaign", "visit", "point", "unit", "department", "indicator", "category",
                                          "reporter", "duplicate_of", "uid"])
        except ValidationError as exc:
            outcome.code, outcome.errors = "invalid", {k: [str(m) for m in v] for k, v in exc.message_dict.items()}
            pending.pop(key)
            continue
        new.append((i, finding))

    if new:
        _mark_repeats([f for _i, f in new])
        with transaction.atomic():
            created = bulk_create_with_history([f for _i, f in new], Finding, batch_size=500, default_user=actor)
            rollups.findings_added(created)
            findings_refresh_repeats(findings=created)
            recurrence.refresh(created)
            hooks.findings_created_committed([f.pk for f in created])
        for (i, _f), finding in zip(new, created):
            outcomes[i].result, outcomes[i].id, outcomes[i].code = "created", finding.pk, None
    for outcome in outcomes:
        if outcome.result == "unchanged" and outcome.id is not None and outcome.id < 0:
            outcome.id = outcomes[-outcome.id - 1].id
    return outcomes


def _mark_repeats(findings: list[Finding]) -> None:
    """The repeat flag for a batch in one query: an earlier counting finding
    (or an earlier one in the batch) of the same category at the same point within 30 days."""
    at_points = [f for f in findings if f.point_id is not None]
    if not at_points:
        return
    start = min(f.observed_at for f in at_points) - REPEAT_WINDOW
    end = max(f.observed_at for f in at_points)
    seen: dict[tuple[int, int], list[dt.datetime]] = {}
    for point_id, category_id, observed_at in Finding.objects.counting().filter(
            point_id__in={f.point_id for f in at_points}, category_id__in={f.category_id for f in at_points},
            observed_at__gte=start, observed_at__lt=end).values_list("point_id", "category_id", "observed_at"):
        seen.setdefault((point_id, category_id), []).append(observed_at)
    for f in at_points:
        seen.setdefault((f.point_id, f.category_id), []).append(f.observed_at)
    for f in at_points:
        times = seen[(f.point_id, f.category_id)]
        f.is_repeat = any(f.observed_at - REPEAT_WINDOW <= t < f.observed_at for t in times)


# --- status pull ---------------------------------------------------------------------------------


def findings_status(*, actor: User, source: str, external_ids: list[str]):
    """The findings in the actor's scope with these external ids, with their
    tasks (two queries), keyed by external id."""
    from .selectors import open_task_prefetch

    rows = (Finding.objects.visible_to(actor).filter(source=source, external_id__in=external_ids)
            .prefetch_related(open_task_prefetch()))
    return {f.external_id: f for f in rows}


def status_notes(finding: Finding, task: RectificationTask | None) -> str:
    """Where the case stands, in a sentence (in the request's language)."""
    if finding.status == Finding.Status.VOID:
        return _("Void: %(reason)s") % {"reason": finding.void_reason}
    if finding.status == Finding.Status.DUPLICATE:
        return _("Duplicate of finding #%(id)s.") % {"id": finding.duplicate_of_id}
    if finding.status == Finding.Status.CLOSED:
        when = timezone.localtime(finding.closed_at).strftime("%Y-%m-%d %H:%M") if finding.closed_at else ""
        return _("Rectified and verified (%(when)s).") % {"when": when}
    if task is not None and finding.status == Finding.Status.DISPATCHED:
        return _("Assigned to %(unit)s for rectification: %(status)s, due %(due)s.") % {
            "unit": task.unit.name, "status": task.get_status_display(),
            "due": timezone.localtime(task.due_at).strftime("%Y-%m-%d %H:%M")}
    return _("Received; awaiting triage by the campaign office.")


def status_row(external_id: str, finding: Finding | None) -> dict:
    if finding is None:
        return {"external_id": external_id, "found": False, "id": None, "uid": None, "status": None,
                "status_display": None, "status_notes": None, "closed_at": None, "updated_at": None, "task": None}
    tasks = getattr(finding, "task_list", [])
    task = tasks[0] if tasks else None
    return {
        "external_id": external_id, "found": True, "id": finding.pk, "uid": str(finding.uid),
        "status": finding.status, "status_display": finding.get_status_display(),
        "status_notes": status_notes(finding, task), "closed_at": finding.closed_at, "updated_at": finding.updated_at,
        "task": None if task is None else {
            "id": task.pk, "unit": task.unit_id, "unit_name": task.unit.name, "status": task.status,
            "status_display": task.get_status_display(), "light": getattr(task, "light", None),
            "due_at": task.due_at, "closed_at": task.closed_at,
        },
    }


__all__ = ["findings_bulk_ingest", "findings_status", "status_row", "BULK_MAX", "STATUS_MAX"]
