"""Reading untidy office spreadsheets and writing exports.

Offices author their tables by hand: a title row above the header, blank
rows, full-width digits, "12000人" in a number column. ``read_table`` finds
the header, normalises cells and returns the data rows with their sheet row
numbers; imports then validate every row and report all errors at once.
"""

from __future__ import annotations

import logging
import re
import tempfile
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import FileResponse
from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils.exceptions import InvalidFileException

audit = logging.getLogger("civportal.audit")

HEADER_SCAN_ROWS = 10


@dataclass(frozen=True)
class RowError:
    """One problem in an imported sheet: the sheet row (1-based), the column and why."""

    row: int
    column: str
    message: str

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "message": str(self.message)}


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": [error.as_dict() for error in self.errors],
        }


class ImportRejected(Exception):
    """Raised with the row errors when an import must change nothing."""

    def __init__(self, errors: list[RowError]):
        super().__init__(f"{len(errors)} row error(s)")
        self.errors = errors


def normalize_text(value) -> str:
    """NFKC (full-width digits and letters become ASCII), trimmed, inner whitespace collapsed."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = unicodedata.normalize("NFKC", str(value))
    return re.sub(r"\s+", " ", text).strip()


def header_key(value) -> str:
    return re.sub(r"[\s*＊:：()（）_\-]", "", normalize_text(value)).lower()


_NUMBER = re.compile(r"^[+-]?\d+(?:\.\d+)?")


def parse_number(value, *, allow_suffix: Iterable[str] = ()) -> Decimal:
    """A number from a cell: 12, "12", "１２", "12分", "12,000". Raises ValueError."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, (int, float, Decimal)):
        return Decimal(str(value))
    text = normalize_text(value).replace(",", "").replace(" ", "")
    for suffix in allow_suffix:
        if text.endswith(suffix):
            text = text[: -len(suffix)]
            break
    if not text or not _NUMBER.fullmatch(text):
        raise ValueError(value)
    try:
        return Decimal(text)
    except InvalidOperation as exc:
        raise ValueError(value) from exc


def open_workbook(upload, *, read_only: bool = True):
    """Open an uploaded xlsx, or raise a translated ValidationError."""
    size = getattr(upload, "size", None)
    if size is not None and size > settings.MAX_IMPORT_BYTES:
        raise ValidationError(
            _("The file is too large (%(size)d MB at most).") % {"size": settings.MAX_IMPORT_BYTES // (1024 * 1024)}
        )
    try:
        upload.seek(0)
        return load_workbook(upload, read_only=read_only, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError, TypeError, EOFError) as exc:
        raise ValidationError(_("The file is not a readable Excel workbook (.xlsx).")) from exc


def iter_table(
    upload,
    *,
    columns: dict[str, Sequence[str]],
    required: Iterable[str],
    sized: Callable[[int], None] | None = None,
) -> Iterator[tuple[int, dict[str, object]]]:
    """The rows of ``read_table`` one at a time, as openpyxl streams them
    (read-only mode): an import checks each row as it comes instead of holding
    the whole sheet. The header is found (or ValidationError raised) on the first
    ``next()``; the workbook is closed when the rows run out or the iterator is closed.
    ``sized(rows)`` hears the sheet's declared row count (for a progress bar; 0 if unknown)."""
    workbook = open_workbook(upload)
    try:
        sheet = workbook.worksheets[0]
        if sized is not None:
            sized(sheet.max_row or 0)
        wanted = {header_key(name): fieldname for fieldname, names in columns.items() for name in names}
        required = list(required)
        header_row = None
        positions: dict[str, int] = {}
        rows = sheet.iter_rows(values_only=True)
        row_number = 0
        for row_number, row in enumerate(rows, start=1):
            found = {}
            for index, cell in enumerate(row or ()):
                fieldname = wanted.get(header_key(cell))
                if fieldname and fieldname not in found:
                    found[fieldname] = index
            if all(name in found for name in required):
                header_row, positions = row_number, found
                break
            if row_number >= HEADER_SCAN_ROWS:
                break
        if header_row is None:
            missing = ", ".join(" / ".join(columns[name][:2]) for name in required)
            raise ValidationError(
                _("No header row found: the sheet must have the columns %(columns)s.") % {"columns": missing}
            )
        for row_number, row in enumerate(rows, start=header_row + 1):
            row = row or ()
            values = {name: (row[index] if index < len(row) else None) for name, index in positions.items()}
            if all(normalize_text(value) == "" for value in values.values()):
                continue
            yield row_number, values
    finally:
        workbook.close()


def chunked(rows: Iterable, size: int) -> Iterator[list]:
    """Lists of up to ``size`` items of ``rows`` (a streamed sheet checked a chunk at a time)."""
    chunk = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def read_table(
    upload,
    *,
    columns: dict[str, Sequence[str]],
    required: Iterable[str],
) -> list[tuple[int, dict[str, object]]]:
    """Rows of the first sheet as ``(sheet row number, {field: raw value})``.

    ``columns`` maps each field to the header texts that mean it (any
    language). The header is the first of the top rows that names every
    required column; rows above it (titles) and blank rows are skipped.
    Imports that can check a row on its own read ``iter_table`` instead.
    """
    return list(iter_table(upload, columns=columns, required=required))


# A spreadsheet treats a cell typed or stored as text beginning with one of these as a formula (or DDE call):
# anyone can put them into a volunteer's name, a hotline description or a unit name.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def export_row(sheet, row: Iterable) -> list:
    """The one rule for every exported cell: strings are text, never formulas.

    openpyxl writes a string starting with ``=`` as a formula; such strings (and
    the other triggers) become cells of type ``s`` with the value unchanged, so an
    export still imports back as it was. Control characters that xlsx cannot
    hold are dropped rather than failing the whole export."""
    out = []
    for value in row:
        if isinstance(value, str):
            value = ILLEGAL_CHARACTERS_RE.sub("", value)
            if value.startswith(FORMULA_TRIGGERS):
                cell = WriteOnlyCell(sheet, value=value)
                cell.data_type = "s"
                value = cell
        out.append(value)
    return out


def csv_safe(value):
    """The same rule for CSV, which has no cell types: prefix a formula trigger with ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def write_xlsx(out, *, title: str, headers: Sequence[str], rows: Iterable[Sequence]) -> int:
    """Write one sheet to the binary file ``out`` (every cell through ``export_row``); returns the row count."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    sheet.append(export_row(sheet, [str(header) for header in headers]))
    count = 0
    for row in rows:
        sheet.append(export_row(sheet, row))
        count += 1
    workbook.save(out)
    return count


def xlsx_response(
    *, filename: str, title: str, headers: Sequence[str], rows: Iterable[Sequence], user=None
) -> FileResponse:
    """Write rows to a write-only workbook on disk and stream it back (every
    cell through ``export_row``: user-controlled text is never a formula)."""
    spool = tempfile.TemporaryFile()
    count = write_xlsx(spool, title=title, headers=headers, rows=rows)
    spool.seek(0)
    audit.info("export %s rows=%d user=%s", filename, count, getattr(user, "pk", None))
    return FileResponse(
        spool,
        as_attachment=True,
        filename=filename,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
