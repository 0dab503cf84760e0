"""Scoring periods: a month (``2026-07``), a quarter (``2026-Q3``), a half-year (``2026-H2``)
or a year (``2026``). A longer period is scored over its own records with the month's rules
(docs/scores.md, "Periods"); it is never an average of monthly totals."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

MONTH, QUARTER, HALF, YEAR = "month", "quarter", "half", "year"
LONG_KINDS = (QUARTER, HALF, YEAR)
KIND_CHOICES = [(QUARTER, gettext_lazy("quarter")), (HALF, gettext_lazy("half-year")), (YEAR, gettext_lazy("year"))]
_PATTERN = re.compile(r"^(?P<year>[0-9]{4})(?:-(?:(?P<month>0[1-9]|1[0-2])|Q(?P<quarter>[1-4])|H(?P<half>[12])))?$")
_LENGTH = {MONTH: 1, QUARTER: 3, HALF: 6, YEAR: 12}


@dataclass(frozen=True)
class Period:
    kind: str
    year: int
    index: int  # month 1–12, quarter 1–4, half 1–2; 1 for a year

    @classmethod
    def parse(cls, text: str | None, *, field: str = "period") -> Period:
        """``2026-07`` | ``2026-Q3`` | ``2026-H2`` | ``2026``; anything else is a ValidationError."""
        match = _PATTERN.fullmatch((text or "").strip()) if isinstance(text, str) and len(text) <= 10 else None
        if match is None or not 1900 <= int(match["year"]) <= 2999:
            raise ValidationError({field: _("Enter a period as 2026-07 (month), 2026-Q3 (quarter), 2026-H2 "
                                            "(half-year) or 2026 (year).")})
        year = int(match["year"])
        for kind in (MONTH, QUARTER, HALF):
            if match[kind]:
                return cls(kind, year, int(match[kind]))
        return cls(YEAR, year, 1)

    @classmethod
    def of(cls, kind: str, first_month: dt.date) -> Period:
        length = _LENGTH[kind]
        return cls(kind, first_month.year, (first_month.month - 1) // length + 1)

    @property
    def is_month(self) -> bool:
        return self.kind == MONTH

    @property
    def first_month(self) -> dt.date:
        return dt.date(self.year, (self.index - 1) * _LENGTH[self.kind] + 1, 1)

    @property
    def months(self) -> list[dt.date]:
        first = self.first_month.month
        return [dt.date(self.year, m, 1) for m in range(first, first + _LENGTH[self.kind])]

    @property
    def last_month(self) -> dt.date:
        return self.months[-1]

    @property
    def bounds(self) -> tuple[dt.date, dt.date]:
        """[first day, first day after) — the period's dates for a range filter."""
        after = self.first_month.month - 1 + _LENGTH[self.kind]
        return self.first_month, dt.date(self.year + after // 12, after % 12 + 1, 1)

    def __str__(self) -> str:
        if self.kind == MONTH:
            return f"{self.year}-{self.index:02d}"
        if self.kind == QUARTER:
            return f"{self.year}-Q{self.index}"
        if self.kind == HALF:
            return f"{self.year}-H{self.index}"
        return f"{self.year}"
