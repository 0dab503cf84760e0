"""Unit boundaries as GeoJSON geometries (RFC 7946): a Polygon or MultiPolygon
in WGS 84 longitude/latitude, checked here without a spatial database. Maps
draw them; nothing computes with them."""

from __future__ import annotations

import math

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

KINDS = ("Polygon", "MultiPolygon")
MAX_POSITIONS = 20_000  # per unit: a detailed street outline has a few thousand
PRECISION = 6  # decimal places kept (about 0.1 m)


def _position(value) -> list[float]:
    if not isinstance(value, (list, tuple)) or len(value) not in (2, 3):
        raise ValidationError(_("Each position must be [longitude, latitude]."), code="position")
    lng, lat = value[0], value[1]
    for number in (lng, lat):
        if isinstance(number, bool) or not isinstance(number, (int, float)) or not math.isfinite(number):
            raise ValidationError(_("Coordinates must be numbers."), code="position")
    if not (-180 <= lng <= 180 and -90 <= lat <= 90):
        raise ValidationError(
            _("A position lies outside longitude -180 to 180, latitude -90 to 90: %(lng)s, %(lat)s "
              "(is it [longitude, latitude] in WGS 84?)") % {"lng": lng, "lat": lat}, code="range")
    return [round(float(lng), PRECISION), round(float(lat), PRECISION)]


def _polygon(rings) -> list[list[list[float]]]:
    if not isinstance(rings, (list, tuple)) or not rings:
        raise ValidationError(_("A polygon needs at least one ring of positions."), code="ring")
    out = []
    for ring in rings:
        if not isinstance(ring, (list, tuple)) or len(ring) < 4:
            raise ValidationError(_("A polygon ring needs at least four positions (the first repeated at the end)."),
                                  code="ring")
        positions = [_position(p) for p in ring]
        if positions[0] != positions[-1]:
            raise ValidationError(_("A polygon ring must end where it starts."), code="ring")
        out.append(positions)
    return out


def clean_geometry(value) -> dict:
    """The geometry as stored: type and coordinates only, coordinates rounded.
    Raises a translated ValidationError saying what is wrong."""
    if not isinstance(value, dict):
        raise ValidationError(_("A boundary must be a GeoJSON geometry object."), code="type")
    kind = value.get("type")
    if kind not in KINDS:
        raise ValidationError(_("A boundary must be a GeoJSON Polygon or MultiPolygon, not %(type)s.")
                              % {"type": str(kind)[:40]}, code="type")
    coordinates = value.get("coordinates")
    if kind == "Polygon":
        cleaned = _polygon(coordinates)
        count = sum(len(r) for r in cleaned)
    else:
        if not isinstance(coordinates, (list, tuple)) or not coordinates:
            raise ValidationError(_("A MultiPolygon needs at least one polygon."), code="ring")
        cleaned = [_polygon(p) for p in coordinates]
        count = sum(len(r) for p in cleaned for r in p)
    if count > MAX_POSITIONS:
        raise ValidationError(_("A boundary may have at most %(max)d positions; simplify it first.")
                              % {"max": MAX_POSITIONS}, code="size")
    return {"type": kind, "coordinates": cleaned}


def validate_boundary(value) -> None:
    """Model field validator (``Unit.boundary``)."""
    if value is not None:
        clean_geometry(value)


def rectangle(west: float, south: float, east: float, north: float) -> dict:
    """A rectangle as a GeoJSON Polygon (counter-clockwise exterior ring)."""
    w, s, e, n = (round(v, PRECISION) for v in (west, south, east, north))
    return {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}


def bounds(geometry: dict) -> tuple[float, float, float, float]:
    """(west, south, east, north) of a cleaned geometry."""
    rings = geometry["coordinates"] if geometry["type"] == "Polygon" else [
        r for polygon in geometry["coordinates"] for r in polygon]
    lngs = [p[0] for r in rings for p in r]
    lats = [p[1] for r in rings for p in r]
    return min(lngs), min(lats), max(lngs), max(lats)
