"""The rows of the finding and task list pages, written in Python once per row.

A list page of 50 rows drawn straight from model instances cost 10–25 ms of
template work: a ``{% url %}`` (a reverse) and an ``{% include %}`` of the
traffic light per row, ``get_…_display`` (which rebuilds the choices' dict on
every call), date and truncation filters, and attribute lookups through three
relations, each first tried as a dictionary key. Then the cells were computed
here and a template loop wrote them (still ~8 ms of variable nodes), from 50
model instances built with their relations and prefetched tasks (~40 % of the
page's Python). Now the rows are ``.values()`` of the columns shown
(``finding_values``, ``task_values``), a finding's latest task comes in one
query for the page's ids, and each row's markup is one f-string with every
value escaped as ``{{ }}`` escapes it: URLs are the pattern's prefix and suffix
around the number (one reverse per list), choice labels one dict per request,
and the light's markup is ``light.html`` drawn once per light. The templates
(``finding_list.html``, ``includes/task_rows.html``) write the table around
them; ``tests/inspections/test_page_rows.py`` compares the rows with the markup
of the row templates drawn from model instances."""

from __future__ import annotations

import html
import unicodedata

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator
from django.utils.translation import gettext

from .models import Finding, RectificationTask

_MARK = 987654321987


def escape(value) -> str:
    """``django.utils.html.escape`` (the same text: ``html.escape`` of ``str(value)``) without its
    ``keep_lazy`` check and ``SafeString`` per call; a row's values are never lazy, and the page's rows
    are marked safe once, joined. About a thousand calls per page."""
    return html.escape(str(value))


def chars(value: str, length: int) -> str:
    """``Truncator(value).chars(length)``: the text normalised (NFC) as it does, truncated only when
    longer; a description that fits (most) skips the lazy object and the per-character scan."""
    text = unicodedata.normalize("NFC", value)
    return text if len(text) <= length else Truncator(text).chars(length)


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
            latest[finding_id] = (pk, RectificationTask.light_of(status, due_at, warn_at, now))
    return latest


def finding_rows(findings) -> SafeString:
    """The rows of ``inspections/finding_list.html``'s table, from ``finding_values`` dicts: the
    markup the row loop wrote (every value escaped as ``{{ }}`` escapes it), one f-string per row."""
    findings = list(findings)
    finding_url = url_maker("inspections:finding_detail")
    task_url = url_maker("inspections:task_detail")
    severity = labels(Finding._meta.get_field("severity"))
    source = labels(Finding._meta.get_field("source"))
    status = labels(Finding._meta.get_field("status"))
    repeat = f' <span class="badge overdue">{escape(gettext("repeat"))}</span>'
    lights = LightMarkup()
    tasks = latest_tasks([f["id"] for f in findings])
    out = []
    for f in findings:
        pk = f["id"]
        task = tasks.get(pk)
        cell = f'<a href="{escape(task_url(task[0]))}">#{task[0]}</a> {lights[task[1]]}' if task is not None else "—"
        st = f["status"]
        out.append(
            f'\n    <tr>\n      <td class="c-id"><a href="{escape(finding_url(pk))}">#{pk}</a></td>'
            f'\n      <td>{escape(minute(f["observed_at"]))}</td>'
            f'\n      <td class="c-title">{escape(f["category__name"])} · {escape(_label(severity, f["severity"]))}'
            f'{repeat if f["is_repeat"] else ""}<br><span class="muted">{escape(chars(f["description"], 60))}'
            f'</span></td>\n      <td>{escape(f["point__name"] or "—")}</td>'
            f'\n      <td class="c-unit">{escape(f["unit__name"])}</td>\n      <td>{escape(_label(source, f["source"]))}</td>'
            f'\n      <td class="c-status"><span class="badge status-{escape(st)}">{escape(_label(status, st))}</span></td>'
            f'\n      <td class="c-light">{cell}</td>\n    </tr>\n  ')
    return mark_safe("".join(out))


def task_rows(tasks) -> SafeString:
    """The rows of ``inspections/includes/task_rows.html``'s table, from ``task_values`` dicts
    whose ``light`` the urgency page set (the light that placed the row)."""
    task_url = url_maker("inspections:task_detail")
    severity = labels(Finding._meta.get_field("severity"))
    status = labels(RectificationTask._meta.get_field("status"))
    supervision = labels(RectificationTask._meta.get_field("supervision"))
    extension = f' <span class="badge">{escape(gettext("extension requested"))}</span>'
    lights = LightMarkup()
    out = []
    for t in tasks:
        pk = t["id"]
        point = t["finding__point__name"]
        point = f'<br><span class="muted">{escape(point)}</span>' if point is not None else ""
        st, sup = t["status"], t["supervision"]
        if sup != "none":
            badge = f'<span class="badge supervision-{escape(sup)}'
            sup_label = escape(_label(supervision, sup))
            small, wide = f" {badge} show-sm\">{sup_label}</span>", f'{badge}">{sup_label}</span>'
        else:
            small, wide = "", "—"
        out.append(
            f'\n    <tr>\n      <td class="c-id"><a href="{escape(task_url(pk))}">#{pk}</a></td>'
            f'\n      <td class="c-light">{lights[t["light"]]}</td>'
            f'\n      <td class="c-title">{escape(t["finding__category__name"])} · '
            f'{escape(_label(severity, t["finding__severity"]))}<br><span class="muted">'
            f'{escape(chars(t["finding__description"], 60))}</span>{point}</td>'
            f'\n      <td class="c-unit">{escape(t["unit__name"])}</td>'
            f'\n      <td class="c-status"><span class="badge status-{escape(st)}">{escape(_label(status, st))}</span>'
            f'{extension if t["has_pending_extension"] else ""}{small}</td>'
            f'\n      <td class="c-due">{escape(minute(t["due_at"]))}</td>'
            f'\n      <td class="hide-sm">{wide}</td>\n      <td class="num hide-sm">{t["rework_count"]}</td>\n    </tr>\n  ')
    return mark_safe("".join(out))
