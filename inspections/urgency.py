"""Task lists in urgency order (red, yellow, green, finished; then deadline, id),
paged by keyset.

The order used to be a CASE over status, ``due_at`` and ``warn_at``
(``TaskQuerySet.with_light``): no index can serve it, so every page sorted all
of a scope's tasks and skipped the earlier pages with OFFSET. Here the order is
the concatenation of four slices (``models.urgency_q``), each an index range
read in ``(due_at, id)`` order, and a page continues after a cursor carrying
(slice, due_at, id): a page reads at most ``per_page + 1`` rows of each slice,
whatever the page's position and the table's size. On PostgreSQL the slices
are one ``UNION ALL`` query; where the database cannot order and limit inside
a compound statement (SQLite) they are read one query each.

Counts are capped (``COUNT_CAP``): never a full COUNT per request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone as dt_timezone

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import IntegerField, Q, Value
from django.db.models.expressions import RawSQL
from django.utils import timezone

from civportal.pagination import COUNT_CAP

from .models import URGENCY_FINISHED, URGENCY_GREEN, URGENCY_RED, URGENCY_YELLOW, RectificationTask, urgency_q

ALL = (URGENCY_RED, URGENCY_YELLOW, URGENCY_GREEN, URGENCY_FINISHED)
OPEN = (URGENCY_RED, URGENCY_YELLOW, URGENCY_GREEN)
LIGHTS = {URGENCY_RED: RectificationTask.Light.RED, URGENCY_YELLOW: RectificationTask.Light.YELLOW,
          URGENCY_GREEN: RectificationTask.Light.GREEN, URGENCY_FINISHED: ""}
URGENCY_OF_LIGHT = {light: urgency for urgency, light in LIGHTS.items()}
PAGE_SIZES_MAX = 200
EPOCH = datetime(1970, 1, 1, tzinfo=dt_timezone.utc)
ANNOTATION = "urgency_slice"


def light_q(lights, now: datetime) -> Q:
    """Tasks whose light is one of ``lights`` ("red", "yellow", "green"), as slice ranges."""
    by_light = {light: urgency for urgency, light in LIGHTS.items() if light}
    q = Q(pk__in=[])
    for light in lights:
        if light in by_light:
            q |= urgency_q(by_light[light], now)
    return q


@dataclass(frozen=True)
class Cursor:
    urgency: int
    due_at: datetime
    pk: int

    def encode(self) -> str:
        return f"{self.urgency}.{(self.due_at - EPOCH) // timedelta(microseconds=1)}.{self.pk}"

    @classmethod
    def decode(cls, text: str | None) -> Cursor | None:
        """The cursor of ``text``, or None for anything malformed (the first page, never a 500)."""
        try:
            urgency, micros, pk = (int(part) for part in (text or "").split("."))
            due_at = EPOCH + timedelta(microseconds=micros)
        except (ValueError, OverflowError):
            return None
        if urgency not in ALL or pk < 1 or pk > 2**63 - 1:
            return None
        return cls(urgency, due_at, pk)

    @classmethod
    def of(cls, task) -> Cursor:
        if isinstance(task, dict):  # a row of a values queryset (the list pages)
            return cls(task[ANNOTATION], task["due_at"], task["id"])
        return cls(getattr(task, ANNOTATION), task.due_at, task.pk)


class UrgencyPage:
    """One page of rows in urgency order, with the cursors of the pages around it
    and the capped count of all matching rows (``count``, ``capped``, ``cap``)."""

    cap = COUNT_CAP

    def __init__(self, rows: list, *, has_next: bool, has_previous: bool, count: int | None, capped: bool,
                 per_page: int):
        self.object_list = rows
        self.has_next, self.has_previous = has_next, has_previous
        self.count, self.capped, self.per_page = count, capped, per_page
        self.next_cursor = Cursor.of(rows[-1]).encode() if has_next and rows else None
        self.previous_cursor = Cursor.of(rows[0]).encode() if has_previous and rows else None

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self) -> int:
        return len(self.object_list)

    def has_other_pages(self) -> bool:
        return self.has_next or self.has_previous


def _urgency_of(row: dict, now: datetime) -> int:
    """``URGENCY_OF_LIGHT[task.light_at(now)]`` of a values row."""
    if row["status"] not in RectificationTask.OPEN_STATUSES:
        return URGENCY_FINISHED
    if now > row["due_at"]:
        return URGENCY_RED
    if now >= row["warn_at"]:
        return URGENCY_YELLOW
    return URGENCY_GREEN


def _slice(queryset, urgency: int, now: datetime, cursor: Cursor | None, backward: bool):
    qs = queryset.filter(urgency_q(urgency, now))
    if cursor is not None and cursor.urgency == urgency:
        # (due_at, id) after / before the cursor; the plain bound lets the index start there.
        if backward:
            qs = qs.filter(Q(due_at__lt=cursor.due_at) | Q(due_at=cursor.due_at, pk__lt=cursor.pk),
                           due_at__lte=cursor.due_at)
        else:
            qs = qs.filter(Q(due_at__gt=cursor.due_at) | Q(due_at=cursor.due_at, pk__gt=cursor.pk),
                           due_at__gte=cursor.due_at)
    qs = qs.annotate(**{ANNOTATION: Value(urgency, output_field=IntegerField())})
    return qs.order_by("-due_at", "-id") if backward else qs.order_by("due_at", "id")


def _read(queryset, slices, now, cursor, backward, limit, compound, keys_from=None) -> list:
    """Up to ``limit`` rows of ``slices`` (in page order) after/before ``cursor``; with one
    compound query, the slices read the page's ids from ``keys_from`` (the rows without the joins
    of the values' related names) when given."""
    if cursor is not None:
        slices = [u for u in slices if (u <= cursor.urgency if backward else u >= cursor.urgency)]
    if backward:
        slices = list(reversed(slices))
    parts = [_slice(queryset, u, now, cursor, backward)[:limit] for u in slices]
    if not parts or queryset.query.is_empty():  # (.none(): an invalid filter matches nothing)
        return []
    if compound is None:
        compound = connections[queryset.db].features.supports_slicing_ordering_in_compound
    if len(parts) > 1 and compound:
        # The page's ids: the slices of the task table alone, no join (4 slices of 5 joined tables took
        # longer to compile and plan than to run: bench-1M 3.5 ms of planning); its rows with their relations
        # in the same query, ``pk IN (ids)``, put in page order here (a row's slice is the light it has at ``now``).
        order = (f"-{ANNOTATION}", "-due_at", "-pk") if backward else (ANNOTATION, "due_at", "pk")
        keyed = parts if keys_from is None else [_slice(keys_from, u, now, cursor, backward)[:limit] for u in slices]
        ids = [part.values_list("pk", "due_at", ANNOTATION) for part in keyed]
        try:
            sql, params = ids[0].union(*ids[1:], all=True).order_by(*order)[:limit].query.sql_with_params()
        except EmptyResultSet:  # every slice matches nothing (e.g. no unit to act on)
            return []
        rows = list(queryset.filter(pk__in=RawSQL(f'SELECT "pk" FROM ({sql}) AS page_ids', params)))
        if rows and isinstance(rows[0], dict):  # a values queryset (the list pages): with id, status, due_at, warn_at
            for row in rows:
                row[ANNOTATION] = _urgency_of(row, now)
            rows.sort(key=lambda row: (row[ANNOTATION], row["due_at"], row["id"]), reverse=backward)
            return rows
        for row in rows:
            setattr(row, ANNOTATION, URGENCY_OF_LIGHT[row.light_at(now)])
        rows.sort(key=lambda row: (getattr(row, ANNOTATION), row.due_at, row.pk), reverse=backward)
        return rows
    rows: list = []
    for part in parts:  # one query per slice, stopping once the page is full
        rows += list(part[: limit - len(rows)])
        if len(rows) >= limit:
            break
    return rows


def urgency_page(queryset, *, per_page: int = 50, after: str | None = None, before: str | None = None,
                 slices=ALL, now: datetime | None = None, count: bool = True,
                 compound: bool | None = None, count_from=None) -> UrgencyPage:
    """A page of ``queryset`` (unordered, without the ``with_light()`` annotations; model
    instances, or dicts of a values queryset with ``id``, ``status``, ``due_at`` and ``warn_at``)
    in urgency order: the first page, the one after cursor ``after``, or the one
    before cursor ``before``. ``slices`` restricts the urgency classes (the
    workbench reads the open ones). ``compound`` chooses one UNION ALL query
    (True) or a query per slice (False); by default the database's ability. ``count_from``: the
    same rows before ``.values()`` of related names, for the capped count and the page's ids (joins
    only the names need would be walked, and planned, by the count and every slice too)."""
    now = now or timezone.now()
    per_page = min(max(per_page, 1), PAGE_SIZES_MAX)
    after_c, before_c = Cursor.decode(after), Cursor.decode(before)
    backward = after_c is None and before_c is not None
    cursor = before_c if backward else after_c
    rows = _read(queryset, list(slices), now, cursor, backward, per_page + 1, compound, count_from)
    if backward and not rows:  # nothing before the cursor (a stale link): the first page
        backward, cursor = False, None
        rows = _read(queryset, list(slices), now, None, False, per_page + 1, compound, count_from)
    more = len(rows) > per_page
    rows = rows[:per_page]
    if backward:
        rows.reverse()
        has_next, has_previous = True, more
    else:
        has_next, has_previous = more, cursor is not None
    for row in rows:  # the light that placed the row, so that the page shows the order it sorted by
        if isinstance(row, dict):
            row["light"] = LIGHTS[row[ANNOTATION]]
        else:
            row.light = LIGHTS[getattr(row, ANNOTATION)]
    counted = queryset if count_from is None else count_from
    total, capped = (capped_count(counted.filter(_union_q(slices, now))) if count else (None, False))
    return UrgencyPage(rows, has_next=has_next, has_previous=has_previous, count=total, capped=capped,
                       per_page=per_page)


def _union_q(slices, now) -> Q:
    if set(slices) == set(ALL):
        return Q()
    q = Q(pk__in=[])
    for u in slices:
        q |= urgency_q(u, now)
    return q


def capped_count(queryset, cap: int = COUNT_CAP) -> tuple[int, bool]:
    """At most ``cap`` (and whether there were more): PostgreSQL stops after cap + 1 rows.

    In primary-key order: unordered, a wide scope's count is a sequential scan that stops
    after cap + 1 rows (cheap, but a scan of the table where the matches are few); ordered,
    it walks the primary key checking each row (wide scopes) or reads the path indexes and
    sorts what they give (narrow ones), never the whole table."""
    counted = queryset.order_by("pk").values("pk")[: cap + 1].count()
    return min(counted, cap), counted > cap


def capped_counts(querysets: dict, cap: int = COUNT_CAP) -> dict:
    """Capped counts of several querysets of one database in one query:
    ``SELECT (SELECT COUNT(*) FROM (… LIMIT cap + 1)), …``; each at most
    ``cap + 1``, which means "more than ``cap``"."""
    if not querysets:
        return {}
    parts, params, db = [], [], None
    for index, (key, qs) in enumerate(querysets.items()):
        db = qs.db
        try:
            sql, p = qs.order_by().values("pk")[: cap + 1].query.sql_with_params()
        except EmptyResultSet:  # e.g. a user with no unit to act on: no rows, nothing to ask
            parts.append("0")
            continue
        parts.append(f"(SELECT COUNT(*) FROM ({sql}) AS capped_{index})")
        params.extend(p)
    with connections[db].cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts), params)
        values = cursor.fetchone()
    return dict(zip(querysets, values))


def page_links(request, page: UrgencyPage) -> dict:
    """Query strings of the next and previous pages (the other parameters kept)."""
    links = {}
    for name, key, cursor in (("next", "after", page.next_cursor), ("previous", "before", page.previous_cursor)):
        if cursor is None:
            continue
        query = request.GET.copy()
        for stale in ("page", "after", "before"):
            query.pop(stale, None)
        query[key] = cursor
        links[name] = "?" + query.urlencode()
    return links


def page_from_request(request, queryset, **kwargs) -> UrgencyPage:
    """``urgency_page`` from ``?per_page=``, ``?after=`` and ``?before=`` (bad values fall
    back; an old ``?page=N`` link shows the first page), with ``links`` to the pages around it."""
    try:
        per_page = int(request.GET.get("per_page", 50))
    except (TypeError, ValueError):
        per_page = 50
    page = urgency_page(queryset, per_page=per_page, after=request.GET.get("after"),
                        before=request.GET.get("before"), **kwargs)
    page.links = page_links(request, page)
    return page
