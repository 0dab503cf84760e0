"""Reads of resident surveys."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal


def survey_scores(campaign, month: dt.date) -> dict[str, Decimal]:
    """S per unit path for a month (filled in by the survey waves)."""
    return {}
