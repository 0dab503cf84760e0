"""Field formatters for the lists that build their JSON from ``.values()`` instead of serializers
(issue 13, "Lean requests"): the same text as DRF's fields, with per-page lookups done once.
Used by the finding, task and visit lists (inspections/api/rows.py) and the point list
(campaigns/planning/rows.py)."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

COORDINATE = Decimal("0.000001")  # latitude and longitude: DecimalField(max_digits=9, decimal_places=6)


def datetime_formatter():
    """DRF's DateTimeField.to_representation (ISO 8601 in the current time zone, ``Z`` for
    UTC), with the time zone looked up once per page instead of once per value."""
    zone = timezone.get_current_timezone()

    def iso(value):
        if not value:
            return None
        text = value.astimezone(zone).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return iso


def decimal_text(value) -> str | None:
    """DRF's DecimalField (coerced to a string) for the 6-place coordinates, read from the
    database already at that precision."""
    return None if value is None else f"{value.quantize(COORDINATE):f}"
