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


def finding_rows(findings) -> list[dict]:
    """The cells of ``inspections/finding_list.html``'s rows."""
    finding_url = url_maker("inspections:finding_detail")
    task_url = url_maker("inspections:task_detail")
    severity = labels(Finding._meta.get_field("severity"))
    source = labels(Finding._meta.get_field("source"))
    status = labels(Finding._meta.get_field("status"))
    lights = LightMarkup()
    rows = []
    for f in findings:
        task = f.task_list[0] if f.task_list else None
        point = f.point.name if f.point_id is not None and f.point is not None else ""
        rows.append({
            "pk": f.pk, "url": finding_url(f.pk), "observed_at": minute(f.observed_at),
            "category": f.category.name, "severity": _label(severity, f.severity), "is_repeat": f.is_repeat,
            "description": Truncator(f.description).chars(60), "point": point or "—", "unit": f.unit.name,
            "source": _label(source, f.source), "status": f.status, "status_label": _label(status, f.status),
            "task": task.pk if task is not None else None, "task_url": task_url(task.pk) if task is not None else "",
            "light": lights[task.light] if task is not None else "",
        })
    return rows


def task_rows(tasks) -> list[dict]:
    """The cells of ``inspections/includes/task_rows.html``'s rows."""
    task_url = url_maker("inspections:task_detail")
    severity = labels(Finding._meta.get_field("severity"))
    status = labels(RectificationTask._meta.get_field("status"))
    supervision = labels(RectificationTask._meta.get_field("supervision"))
    lights = LightMarkup()
    rows = []
    for t in tasks:
        finding = t.finding
        point = finding.point if finding.point_id is not None else None
        rows.append({
            "pk": t.pk, "url": task_url(t.pk), "light": lights[t.light],
            "category": finding.category.name, "severity": _label(severity, finding.severity),
            "description": Truncator(finding.description).chars(60), "point": point.name if point else None,
            "unit": t.unit.name, "status": t.status, "status_label": _label(status, t.status),
            "has_pending_extension": t.has_pending_extension, "supervision": t.supervision,
            "supervision_label": _label(supervision, t.supervision), "due_at": minute(t.due_at),
            "rework_count": t.rework_count,
        })
    return rows
