"""Reading a year's holiday schedule (放假安排) from an office spreadsheet:
one row per date with 日期, 类型 (休 = day off, 班 = make-up working day)
and 名称 (the holiday's name). All rows belong to one year; any bad row
rejects the whole file with the row numbers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from civportal.xlsx import ImportRejected, RowError, iter_table, normalize_text

COLUMNS = {
    "date": ("日期", "date"),
    "kind": ("类型", "休/班", "休班", "kind", "type"),
    "name": ("名称", "节日", "节假日", "说明", "name", "holiday"),
}
DAY_OFF = {"休", "假", "休息", "放假", "off", "holiday", "dayoff"}
WORKDAY = {"班", "上班", "补班", "work", "workday", "working day"}


@dataclass(frozen=True)
class ScheduleRow:
    date: dt.date
    is_workday: bool
    name: str


def _parse_date(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = normalize_text(value).replace("/", "-").replace(".", "-")
    for fmt in ("%Y-%m-%d", "%Y年%m月%d日"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(value)


MAX_ROWS = 366  # one year's dates at most


def read_schedule(upload) -> tuple[int, list[ScheduleRow]]:
    """(year, rows) or ImportRejected with every row error. The sheet is read as
    it streams; a sheet with more rows than a year has days is refused at row 367
    (ValidationError), so a huge file is neither read to the end nor listed
    row by row (the calendar's import is a page of one year, never a background job)."""
    errors: list[RowError] = []
    parsed: list[tuple[int, ScheduleRow]] = []
    seen: set[dt.date] = set()
    for count, (number, values) in enumerate(iter_table(upload, columns=COLUMNS, required=["date", "kind"]), start=1):
        if count > MAX_ROWS:
            raise ValidationError(_("One file holds one year's schedule: at most %(max)d rows.") % {"max": MAX_ROWS})
        try:
            day = _parse_date(values["date"])
        except (ValueError, TypeError):
            errors.append(RowError(number, "date", _("Not a date (write 2027-01-01).")))
            continue
        kind = normalize_text(values["kind"]).lower()
        if kind in DAY_OFF:
            is_workday = False
        elif kind in WORKDAY:
            is_workday = True
        else:
            errors.append(RowError(number, "kind", _("Write 休 for a day off or 班 for a make-up working day.")))
            continue
        if day in seen:
            errors.append(RowError(number, "date", _("%(date)s appears twice.") % {"date": day.isoformat()}))
            continue
        seen.add(day)
        parsed.append((number, ScheduleRow(day, is_workday, normalize_text(values.get("name"))[:200])))
    years = {row.date.year for _n, row in parsed}
    if len(years) > 1:
        first = min(years)
        for number, row in parsed:
            if row.date.year != first:
                errors.append(RowError(number, "date", _("One file holds one year's schedule (%(year)s).")
                                       % {"year": first}))
    if not parsed and not errors:
        errors.append(RowError(1, "date", _("The file lists no dates.")))
    if errors:
        raise ImportRejected(sorted(errors, key=lambda e: e.row))
    return years.pop(), [row for _n, row in parsed]
