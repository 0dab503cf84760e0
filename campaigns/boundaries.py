"""Unit boundaries: import many at once from a GeoJSON FeatureCollection keyed
by unit code, read them back as GeoJSON, and the demo city's generated outlines.

An import is all-or-nothing: every feature is checked first (its code names a
unit the importing supervisor oversees, its geometry is a valid Polygon or
MultiPolygon, no code twice); any problem rejects the file with every bad
feature named, and nothing changes. Changes are written in bulk with their
history rows (who, when)."""

from __future__ import annotations

import json
import math

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_update_with_history

from civportal.xlsx import ImportRejected, ImportResult, RowError

from .geojson import clean_geometry, rectangle
from .models import Membership, Unit, User
from .scope import scope_of

MAX_BYTES = 20 * 1024 * 1024
MAX_FEATURES = 50_000
CODE_KEYS = ("code", "unit_code", "编码", "单位编码")


def _feature_label(number: int, code: str) -> str:
    if code:
        return _("Feature %(number)d (%(code)s)") % {"number": number, "code": code}
    return _("Feature %(number)d") % {"number": number}


def read_collection(upload) -> list:
    """The features of an uploaded FeatureCollection; a translated ValidationError otherwise."""
    size = getattr(upload, "size", None)
    if size is not None and size > MAX_BYTES:
        raise ValidationError(_("The file is larger than %(mb)d MB.") % {"mb": MAX_BYTES // (1024 * 1024)})
    raw = upload.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        raise ValidationError(_("The file is larger than %(mb)d MB.") % {"mb": MAX_BYTES // (1024 * 1024)})
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ValidationError(_("The file is not GeoJSON (UTF-8 JSON) text."))
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection" or not isinstance(
            data.get("features"), list):
        raise ValidationError(_("The file must be a GeoJSON FeatureCollection with a list of features."))
    if not data["features"]:
        raise ValidationError(_("The FeatureCollection has no features."))
    if len(data["features"]) > MAX_FEATURES:
        raise ValidationError(_("At most %(max)d features per file.") % {"max": MAX_FEATURES})
    return data["features"]


def _code_of(feature) -> str:
    properties = feature.get("properties") if isinstance(feature, dict) else None
    if not isinstance(properties, dict):
        return ""
    for key in CODE_KEYS:
        value = properties.get(key)
        if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
            return str(value).strip()[:40]
    return ""


def import_boundaries(*, actor: User, upload) -> ImportResult:
    """Set the boundaries of the units named in ``upload``. Raises ValidationError for an unreadable
    file and ImportRejected (every bad feature named) when any feature is bad."""
    features = read_collection(upload)
    scope = scope_of(actor)
    codes = {_code_of(f) for f in features} - {""}
    units = {u.code: u for u in Unit.objects.filter(code__in=codes).only("id", "code", "path", "boundary", "name")}
    supervised = scope.role_paths([Membership.Role.SUPERVISOR])
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    planned: dict[str, dict] = {}

    for number, feature in enumerate(features, start=1):
        code = _code_of(feature)
        label = _feature_label(number, code)

        def error(message: str) -> None:
            errors.append(RowError(row=number, column=label, message=message))

        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            error(_("Not a GeoJSON Feature."))
            continue
        if not code:
            error(_("The feature has no unit code (property “code”)."))
            continue
        unit = units.get(code)
        if unit is None or not (scope.superuser or any(unit.path.startswith(p) for p in supervised)):
            error(_("No unit with this code that you supervise."))
            continue
        if code in seen:
            error(_("The same code as feature %(number)d.") % {"number": seen[code]})
            continue
        seen[code] = number
        try:
            planned[code] = clean_geometry(feature.get("geometry"))
        except ValidationError as exc:
            error(" ".join(exc.messages))
    if errors:
        raise ImportRejected(errors)

    result = ImportResult()
    changed = []
    now = timezone.now()
    for code, geometry in planned.items():
        unit = units[code]
        if unit.boundary == geometry:
            result.unchanged += 1
            continue
        unit.boundary, unit.updated_at = geometry, now
        changed.append(unit)
    result.updated = len(changed)
    with transaction.atomic():
        bulk_update_with_history(changed, Unit, ["boundary", "updated_at"], batch_size=500, default_user=actor,
                                 default_change_reason=_("boundary imported"))
    return result


def feature(unit: Unit, **properties) -> dict:
    """One unit as a GeoJSON Feature (id, code, name, kind, parent code when annotated)."""
    props = {"id": unit.pk, "code": unit.code, "name": unit.name, "kind": unit.kind}
    if hasattr(unit, "parent_code"):
        props["parent_code"] = unit.parent_code
    props.update(properties)
    return {"type": "Feature", "id": unit.pk, "geometry": unit.boundary, "properties": props}


def feature_collection(units) -> dict:
    return {"type": "FeatureCollection", "features": [feature(u) for u in units]}


# --- the demo city ------------------------------------------------------------------------------

# 明州市 spans this box; its four districts are a 2×2 grid, each split into three streets (columns),
# each street into three communities (rows), each community into two grid cells (halves).
DEMO_BOX = (121.45, 29.80, 121.70, 30.00)


def _split(box, parts: int, *, columns: bool):
    west, south, east, north = box
    for i in range(parts):
        if columns:
            step = (east - west) / parts
            yield (west + i * step, south, west + (i + 1) * step, north)
        else:
            step = (north - south) / parts
            yield (west, north - (i + 1) * step, east, north - i * step)


def demo_boxes(units: list[Unit]) -> dict[str, tuple]:
    """(west, south, east, north) per territorial unit of the demo city, by code."""
    by_parent: dict[str, list[Unit]] = {}
    city = None
    for unit in sorted(units, key=lambda u: u.path):
        if unit.kind == Unit.Kind.DEPARTMENT:
            continue
        if unit.depth == 1:
            city = unit
        else:
            by_parent.setdefault(unit.parent_path, []).append(unit)
    if city is None:
        return {}
    boxes = {city.code: DEMO_BOX}

    def place(parent: Unit, box) -> None:
        children = by_parent.get(parent.path, [])
        if not children:
            return
        if parent.kind == Unit.Kind.CITY:
            cols = 2 if len(children) <= 4 else math.ceil(math.sqrt(len(children)))
            cells = list(_grid(box, cols, math.ceil(len(children) / cols)))
        else:
            cells = list(_split(box, len(children), columns=parent.depth % 2 == 0))
        for child, cell in zip(children, cells):
            boxes[child.code] = cell
            place(child, cell)

    place(city, DEMO_BOX)
    return boxes


def _grid(box, cols: int, rows: int):
    for row in _split(box, rows, columns=False):
        yield from _split(row, cols, columns=True)


def demo_point_in(box, n: int) -> tuple[float, float]:
    """A spot inside ``box`` (lat, lng), spread by ``n`` and away from the edges."""
    west, south, east, north = box
    fx, fy = 0.15 + ((n * 37) % 71) / 100, 0.15 + ((n * 53) % 71) / 100
    return south + (north - south) * fy, west + (east - west) * fx


def load_demo(*, admin, stdout=None) -> None:
    """Give the demo city's territorial units (code ``MZ…``) rectangular boundaries, unless they have one."""
    units = list(Unit.objects.filter(code__startswith="MZ").exclude(kind=Unit.Kind.DEPARTMENT))
    boxes = demo_boxes(units)
    rows = []
    now = timezone.now()
    for unit in units:
        if unit.boundary is None and unit.code in boxes:
            unit.boundary, unit.updated_at = rectangle(*boxes[unit.code]), now
            rows.append(unit)
    if rows:
        bulk_update_with_history(rows, Unit, ["boundary", "updated_at"], batch_size=500, default_user=admin)
        if stdout is not None:
            stdout.write(f"boundaries: {len(rows)} units")
