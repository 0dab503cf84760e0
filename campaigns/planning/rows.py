"""The point API list without model instances (issue 13, "Lean requests"), as the finding,
task and visit lists do (inspections/api/rows.py): ``.values()`` of exactly the columns
PointSerializer emits, built into the same JSON objects (same keys in the same order,
datetimes in the current time zone, coordinates as 6-place strings). Details and
writes keep the serializer; ``tests/campaigns/test_point_rows.py`` compares both."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

POINT_COLUMNS = ("id", "code", "name", "point_type_id", "point_type__name", "address", "latitude", "longitude",
                 "unit_id", "unit__name", "department_id", "department__name", "active", "created_at", "updated_at")
COORDINATE = Decimal("0.000001")  # DecimalField(max_digits=9, decimal_places=6)


def point_values(queryset):
    return queryset.values(*POINT_COLUMNS)


def point_rows(rows: list[dict], request=None) -> list[dict]:
    zone = timezone.get_current_timezone()  # DRF's DateTimeField, the zone looked up once per page

    def iso(value):
        if not value:
            return None
        text = value.astimezone(zone).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    def decimal(value):
        return None if value is None else f"{value.quantize(COORDINATE):f}"

    return [{
        "id": r["id"], "code": r["code"], "name": r["name"], "point_type": r["point_type_id"],
        "point_type_name": r["point_type__name"], "address": r["address"], "latitude": decimal(r["latitude"]),
        "longitude": decimal(r["longitude"]), "unit": r["unit_id"], "unit_name": r["unit__name"],
        "department": r["department_id"], "department_name": r["department__name"], "active": r["active"],
        "created_at": iso(r["created_at"]), "updated_at": iso(r["updated_at"]),
    } for r in rows]
