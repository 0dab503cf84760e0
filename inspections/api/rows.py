"""List rows without model instances (issue 13, "Lean requests"): the finding,
task and visit API lists read ``.values()`` of exactly the columns their serializers emit and
build the same JSON objects — same keys in the same order, same formatting
(datetimes in the current time zone, decimals as strings, photo URLs absolute,
translated status labels, traffic lights) — about four times faster than
serializing 50 model instances. Details (one row) use them too; every write keeps the serializers.
``tests/inspections/test_list_rows.py`` compares both on generated rows.

Each list is a pair: ``*_values(queryset)`` turns the filtered queryset into a
values queryset (pagination orders and slices it; the cursor reads its ordering
columns from the dicts), ``*_rows(rows, request)`` finishes the page with one
query per nested list (photos, tasks, pending extension requests), as the
prefetches did."""

from __future__ import annotations

from collections import defaultdict

from django.urls import reverse
from django.utils import timezone

from civportal.api.rows import datetime_formatter, decimal_text
from civportal.related import KeyedRows

from ..models import ExtensionRequest, Finding, FindingPhoto, RectificationTask
from ..selectors import visit_finding_counts

SENTINEL = 7_304_591_867  # a number no real route part contains: the photo URL is built once per page


def labels(choices) -> dict:
    """``get_FOO_display`` for a page: the current language's label of every value."""
    return {value: str(label) for value, label in choices}


def photo_urls(request, kind: str):
    """(full, thumbnail) URL builders as PhotoSerializer writes them: reverse() and the
    absolute URI once per page, the photo's number put in per photo."""
    out = []
    for variant in ("full", "thumb"):
        path = reverse("inspections:photo", args=[kind, SENTINEL, variant])
        if request is not None:
            absolute = request.build_absolute_uri(path)
        else:
            from django.conf import settings

            absolute = settings.SITE_URL.rstrip("/") + path
        head, tail = absolute.split(f"/{SENTINEL}/", 1)
        out.append((f"{head}/", f"/{tail}"))
    (full_head, full_tail), (thumb_head, thumb_tail) = out
    return (lambda pk: f"{full_head}{pk}{full_tail}"), (lambda pk: f"{thumb_head}{pk}{thumb_tail}")




# --- findings (FindingSerializer) ------------------------------------------------------------

FINDING_COLUMNS = (
    "id", "uid", "campaign_id", "source", "external_id", "client_id", "visit_id", "point_id", "point__name",
    "unit_id", "unit__name", "department_id", "indicator_id", "category_id", "category__name", "severity",
    "description", "address", "latitude", "longitude", "observed_at", "reporter_id", "reporter_name", "is_repeat",
    "status", "duplicate_of_id", "void_reason", "closed_at", "created_at", "updated_at",
)


# A page's nested rows, by statements compiled once per process and number of ids (civportal.related).
PHOTOS = KeyedRows(FindingPhoto, "finding", ("width", "height"))  # (the model's order: finding, id)
TASKS = KeyedRows(RectificationTask, "finding", ("unit", "status", "supervision", "due_at", "warn_at", "rework_count"),
                  relations={"unit": ("name",)}, order_by=("-dispatched_at",))
EXTENSIONS = KeyedRows(ExtensionRequest, "task", ("reason", "requested_due_at", "previous_due_at", "requested_by",
                                                  "requested_at", "status", "decided_by", "decided_at", "decision_note"),
                       where={"status": ExtensionRequest.Status.PENDING})


def finding_values(queryset):
    return queryset.prefetch_related(None).values(*FINDING_COLUMNS)


# The same rows by id (a search's page, its ids read first): one statement compiled once per process and
# number of ids, FINDING_COLUMNS' related names (``point__name``, …) as scalar subqueries, not joins to plan
# per request; ``FINDINGS_BY_ID.values`` gives finding_values' keys.
FINDINGS_BY_ID = KeyedRows(
    Finding, "id", tuple(c for c in FINDING_COLUMNS if "__" not in c),
    relations={c.partition("__")[0]: (c.partition("__")[2],) for c in FINDING_COLUMNS if "__" in c}, order_by=())


def finding_rows(rows: list[dict], request) -> list[dict]:
    ids = [row["id"] for row in rows]
    iso = datetime_formatter()
    photos, tasks = defaultdict(list), defaultdict(list)
    if ids:
        full, thumb = photo_urls(request, "finding")
        for p in PHOTOS.values(ids):
            pk = p["id"]
            photos[p["finding_id"]].append({"id": pk, "width": p["width"], "height": p["height"], "url": full(pk),
                                            "thumbnail_url": thumb(pk)})
        now = timezone.now()
        for t in TASKS.values(ids):
            tasks[t["finding_id"]].append({
                "id": t["id"], "unit": t["unit_id"], "unit_name": t["unit__name"], "status": t["status"],
                "supervision": t["supervision"], "due_at": iso(t["due_at"]),
                "light": RectificationTask.light_of(t["status"], t["due_at"], t["warn_at"], now),
                "rework_count": t["rework_count"],
            })
    status = labels(Finding.Status.choices)
    return [{
        "id": r["id"], "uid": str(r["uid"]), "campaign": r["campaign_id"], "source": r["source"],
        "external_id": r["external_id"], "client_id": None if r["client_id"] is None else str(r["client_id"]),
        "visit": r["visit_id"], "point": r["point_id"], "point_name": r["point__name"], "unit": r["unit_id"],
        "unit_name": r["unit__name"], "department": r["department_id"], "indicator": r["indicator_id"],
        "category": r["category_id"], "category_name": r["category__name"], "severity": r["severity"],
        "description": r["description"], "address": r["address"], "latitude": decimal_text(r["latitude"]),
        "longitude": decimal_text(r["longitude"]), "observed_at": iso(r["observed_at"]),
        "reporter": r["reporter_id"], "reporter_name": r["reporter_name"], "is_repeat": r["is_repeat"],
        "status": r["status"], "status_display": status.get(r["status"], r["status"]),
        "duplicate_of": r["duplicate_of_id"], "void_reason": r["void_reason"], "closed_at": iso(r["closed_at"]),
        "photos": photos[r["id"]], "tasks": tasks[r["id"]], "created_at": iso(r["created_at"]),
        "updated_at": iso(r["updated_at"]),
    } for r in rows]


# --- tasks (TaskSerializer) --------------------------------------------------------------------

TASK_COLUMNS = (
    "id", "finding_id", "unit_id", "unit__name", "status", "supervision", "finding__category__name",
    "finding__severity", "finding__description", "finding__point__name", "instructions", "dispatched_at",
    "dispatched_by_id", "original_due_at", "due_at", "warn_at", "accepted_at", "submitted_at", "closed_at",
    "closed_by_id", "voided_at", "void_reason", "rework_count", "extension_count", "escalated_at", "created_at",
    "updated_at",
)


def task_values(queryset):
    # A list filtered or sorted by light carries the SQL light (TaskSerializer prefers it too).
    extra = ("light",) if "light" in queryset.query.annotations else ()
    return queryset.prefetch_related(None).values(*TASK_COLUMNS, *extra)


def task_rows(rows: list[dict], request) -> list[dict]:
    ids = [row["id"] for row in rows]
    iso = datetime_formatter()
    pending = {}
    if ids:
        for e in EXTENSIONS.values(ids):
            pending.setdefault(e["task_id"], {  # the first in the model's order, as the serializer takes it
                "id": e["id"], "task": e["task_id"], "reason": e["reason"],
                "requested_due_at": iso(e["requested_due_at"]), "previous_due_at": iso(e["previous_due_at"]),
                "requested_by": e["requested_by_id"], "requested_at": iso(e["requested_at"]), "status": e["status"],
                "decided_by": e["decided_by_id"], "decided_at": iso(e["decided_at"]),
                "decision_note": e["decision_note"],
            })
    status = labels(RectificationTask.Status.choices)
    now = timezone.now()
    return [{
        "id": r["id"], "finding": r["finding_id"], "unit": r["unit_id"], "unit_name": r["unit__name"],
        "status": r["status"], "status_display": status.get(r["status"], r["status"]),
        "supervision": r["supervision"],
        "light": r.get("light") or RectificationTask.light_of(r["status"], r["due_at"], r["warn_at"], now),
        "category_name": r["finding__category__name"], "severity": r["finding__severity"],
        "description": r["finding__description"], "point_name": r["finding__point__name"],
        "instructions": r["instructions"], "dispatched_at": iso(r["dispatched_at"]),
        "dispatched_by": r["dispatched_by_id"], "original_due_at": iso(r["original_due_at"]),
        "due_at": iso(r["due_at"]), "warn_at": iso(r["warn_at"]), "accepted_at": iso(r["accepted_at"]),
        "submitted_at": iso(r["submitted_at"]), "closed_at": iso(r["closed_at"]), "closed_by": r["closed_by_id"],
        "voided_at": iso(r["voided_at"]), "void_reason": r["void_reason"], "rework_count": r["rework_count"],
        "extension_count": r["extension_count"], "escalated_at": iso(r["escalated_at"]),
        "pending_extension": pending.get(r["id"]), "created_at": iso(r["created_at"]),
        "updated_at": iso(r["updated_at"]),
    } for r in rows]


# --- visits (VisitSerializer) ------------------------------------------------------------------

VISIT_COLUMNS = ("id", "inspection_id", "point_id", "point__name", "unit_id", "unit__name", "visited_at",
                 "inspector_id", "latitude", "longitude", "is_clean", "notes")


def visit_values(queryset):
    """The lean queryset (``selectors.visits_for(lean=True)``): no per-visit count, no GROUP BY."""
    return queryset.prefetch_related(None).values(*VISIT_COLUMNS)


def visit_rows(rows: list[dict], request) -> list[dict]:
    iso = datetime_formatter()
    counts = visit_finding_counts(r["id"] for r in rows) if rows else {}
    return [{
        "id": r["id"], "inspection": r["inspection_id"], "point": r["point_id"], "point_name": r["point__name"],
        "unit": r["unit_id"], "unit_name": r["unit__name"], "visited_at": iso(r["visited_at"]),
        "inspector": r["inspector_id"], "latitude": decimal_text(r["latitude"]),
        "longitude": decimal_text(r["longitude"]), "is_clean": r["is_clean"], "notes": r["notes"],
        "finding_count": counts.get(r["id"], 0),
    } for r in rows]
