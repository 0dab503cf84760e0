"""The cells of the finding and task list pages, computed in Python once per row.

A list page of 50 rows drawn straight from model instances cost 10–25 ms of
template work: a ``{% url %}`` (a reverse) and an ``{% include %}`` of the
traffic light per row, ``get_…_display`` (which rebuilds the choices' dict on
every call), date and truncation filters, and attribute lookups through three
relations, each first tried as a dictionary key. Here every cell is a plain
value in a dict (a template's first lookup), URLs are the pattern's prefix and
suffix around the number (one reverse per list), choice labels one dict per
request, and the light's markup is ``light.html`` drawn once per light. The
templates (``finding_list.html``, ``includes/task_rows.html``) still write the
markup and escape every value; ``tests/inspections/test_page_rows.py`` compares
the pages with the markup of the row templates they replaced."""

from __future__ import annotations

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.text import Truncator

from .models import Finding, RectificationTask

_MARK = 987654321987


def url_maker(name: str):
    """``pk -> reverse(name, args=[pk])`` with one reverse: the pattern's text around the number."""
    prefix, found, suffix = reverse(name, args=[_MARK]).partition(str(_MARK))
    if not found or str(_MARK) in suffix:
        return lambda pk: reverse(name, args=[pk])
    return lambda pk: f"{prefix}{pk}{suffix}"


def labels(field) -> dict:
    """A choice field's labels in the active language, once per list (``get_…_display`` per row rebuilds them)."""
    return {value: str(label) for value, label in field.flatchoices}


def minute(value) -> str:
    """``{{ value|date:"Y-m-d H:i" }}``: in the active time zone."""
    if not value:
        return ""
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    return f"{local.year:04d}-{local.month:02d}-{local.day:02d} {local.hour:02d}:{local.minute:02d}"


class LightMarkup(dict):
    """``inspections/includes/light.html`` of each light (and of none), drawn once per list when first needed."""

    def __missing__(self, light):
        markup = self[light] = render_to_string("inspections/includes/light.html", {"task": {"light": light}})
        return markup


def _label(choices: dict, value) -> str:
    return choices.get(value, value)


# What the rows show, read with ``.values()`` (no model instances: building 50 findings with
# their category, unit and point and their prefetched tasks was about half the page's Python).
FINDING_COLUMNS = ("id", "observed_at", "category__name", "severity", "is_repeat", "description", "point__name",
                   "unit__name", "source", "status")
TASK_COLUMNS = ("id", "status", "due_at", "warn_at", "supervision", "rework_count", "unit__name",
                "finding__category__name", "finding__severity", "finding__description", "finding__point__name",
                "has_pending_extension")


def finding_values(queryset):
    """The list's filtered findings as the dicts ``finding_rows`` reads (pagination slices them)."""
    return queryset.prefetch_related(None).values(*FINDING_COLUMNS)


def task_values(queryset):
    """The list's filtered tasks (``selectors.tasks_for(…, pending_rows=False)``: with the
    ``has_pending_extension`` flag) as the dicts ``task_rows`` reads; ``urgency`` pages them."""
    return queryset.prefetch_related(None).values(*TASK_COLUMNS)


def _light(status, due_at, warn_at, now) -> str:
    """``RectificationTask.light_at``."""
    if status not in RectificationTask.OPEN_STATUSES:
        return ""
    if now > due_at:
        return RectificationTask.Light.RED
    if now >= warn_at:
        return RectificationTask.Light.YELLOW
    return RectificationTask.Light.GREEN


def latest_tasks(finding_ids) -> dict:
    """Each finding's latest task (by dispatch) as ``(pk, light)``: one query for the page's ids."""
    latest: dict = {}
    if not finding_ids:
        return latest
    now = timezone.now()
    for finding_id, pk, status, due_at, warn_at in (
            RectificationTask.objects.filter(finding_id__in=finding_ids).order_by("-dispatched_at")
            .values_list("finding_id", "id", "status", "due_at", "warn_at")):
        if finding_id not in latest:
            latest[finding_id] = (pk, _light(status, due_at, warn_at, now))
    return latest


def finding_rows(findings) -> list[dict]:
    """The cells of ``inspections/finding_list.html``'s rows, from ``finding_values`` dicts."""
    findings = list(findings)
    finding_url = url_maker("inspections:finding_detail")
    task_url = url_maker("inspections:task_detail")
    severity = labels(Finding._meta.get_field("severity"))
    source = labels(Finding._meta.get_field("source"))
    status = labels(Finding._meta.get_field("status"))
    lights = LightMarkup()
    tasks = latest_tasks([f["id"] for f in findings])
    rows = []
    for f in findings:
        pk = f["id"]
        task = tasks.get(pk)
        rows.append({
            "pk": pk, "url": finding_url(pk), "observed_at": minute(f["observed_at"]),
            "category": f["category__name"], "severity": _label(severity, f["severity"]), "is_repeat": f["is_repeat"],
            "description": Truncator(f["description"]).chars(60), "point": f["point__name"] or "—",
            "unit": f["unit__name"], "source": _label(source, f["source"]), "status": f["status"],
            "status_label": _label(status, f["status"]),
            "task": task[0] if task is not None else None, "task_url": task_url(task[0]) if task is not None else "",
            "light": lights[task[1]] if task is not None else "",
        })
    return rows


def task_rows(tasks) -> list[dict]:
    """The cells of ``inspections/includes/task_rows.html``'s rows, from ``task_values`` dicts
    whose ``light`` the urgency page set (the light that placed the row)."""
    task_url = url_maker("inspections:task_detail")
    severity = labels(Finding._meta.get_field("severity"))
    status = labels(RectificationTask._meta.get_field("status"))
    supervision = labels(RectificationTask._meta.get_field("supervision"))
    lights = LightMarkup()
    rows = []
    for t in tasks:
        pk = t["id"]
        rows.append({
            "pk": pk, "url": task_url(pk), "light": lights[t["light"]],
            "category": t["finding__category__name"], "severity": _label(severity, t["finding__severity"]),
            "description": Truncator(t["finding__description"]).chars(60), "point": t["finding__point__name"],
            "unit": t["unit__name"], "status": t["status"], "status_label": _label(status, t["status"]),
            "has_pending_extension": t["has_pending_extension"], "supervision": t["supervision"],
            "supervision_label": _label(supervision, t["supervision"]), "due_at": minute(t["due_at"]),
            "rework_count": t["rework_count"],
        })
    return rows
