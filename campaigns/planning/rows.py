"""The point API list without model instances (issue 13, "Lean requests"), as the finding,
task and visit lists do (inspections/api/rows.py): ``.values()`` of exactly the columns
PointSerializer emits, built into the same JSON objects (same keys in the same order,
datetimes in the current time zone, coordinates as 6-place strings). Details and
writes keep the serializer; ``tests/campaigns/test_point_rows.py`` compares both."""

from __future__ import annotations

from civportal.api.rows import datetime_formatter, decimal_text

POINT_COLUMNS = ("id", "code", "name", "point_type_id", "point_type__name", "address", "latitude", "longitude",
                 "unit_id", "unit__name", "department_id", "department__name", "active", "created_at", "updated_at")


def point_values(queryset):
    return queryset.values(*POINT_COLUMNS)


def point_rows(rows: list[dict], request=None) -> list[dict]:
    iso = datetime_formatter()  # DRF's DateTimeField, the zone looked up once per page
    return [{
        "id": r["id"], "code": r["code"], "name": r["name"], "point_type": r["point_type_id"],
        "point_type_name": r["point_type__name"], "address": r["address"], "latitude": decimal_text(r["latitude"]),
        "longitude": decimal_text(r["longitude"]), "unit": r["unit_id"], "unit_name": r["unit__name"],
        "department": r["department_id"], "department_name": r["department__name"], "active": r["active"],
        "created_at": iso(r["created_at"]), "updated_at": iso(r["updated_at"]),
    } for r in rows]
