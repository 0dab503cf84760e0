"""xlsx exports of findings and tasks, in the columns offices keep their ledgers in.
Rows stream from one query each (``values()``, chunked): no per-row queries."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _

from .models import Finding, RectificationTask, Severity


def _local(value):
    return timezone.localtime(value).replace(tzinfo=None) if value else None


def finding_headers() -> list[str]:
    return [_("number"), _("observed at"), _("source"), _("external id"), _("category"), _("severity"),
            _("description"), _("point"), _("responsible unit"), _("unit code"), _("location"), _("latitude"),
            _("longitude"), _("repeat problem"), _("status"), _("closed at")]


def finding_rows(queryset):
    sources, statuses, severities = dict(Finding.Source.choices), dict(Finding.Status.choices), dict(Severity.choices)
    rows = queryset.order_by("-observed_at", "-id").values_list(
        "pk", "observed_at", "source", "external_id", "category__name", "severity", "description", "point__name",
        "unit__name", "unit__code", "address", "latitude", "longitude", "is_repeat", "status", "closed_at",
    )
    for (pk, observed, source, external_id, category, severity, description, point, unit, code, address, lat, lng,
         repeat, status, closed) in rows.iterator(chunk_size=2000):
        yield [pk, _local(observed), str(sources.get(source, source)), external_id or "", category,
               str(severities.get(severity, severity)), description, point or "", unit, code, address,
               float(lat) if lat is not None else None, float(lng) if lng is not None else None,
               _("yes") if repeat else _("no"), str(statuses.get(status, status)), _local(closed)]


def task_headers() -> list[str]:
    return [_("task"), _("finding"), _("category"), _("severity"), _("assigned unit"), _("unit code"), _("status"),
            _("traffic light"), _("supervision level"), _("dispatched at"), _("deadline"), _("original deadline"),
            _("submitted at"), _("closed at"), _("on time"), _("rework count"), _("extensions granted")]


def task_rows(queryset):
    S = RectificationTask
    statuses, levels, lights = dict(S.Status.choices), dict(S.Supervision.choices), dict(S.Light.choices)
    severities = dict(Severity.choices)
    rows = queryset.with_light().order_by("due_at", "id").values_list(
        "pk", "finding_id", "finding__category__name", "finding__severity", "unit__name", "unit__code", "status",
        "light", "supervision", "dispatched_at", "due_at", "original_due_at", "submitted_at", "closed_at",
        "rework_count", "extension_count",
    )
    for (pk, finding, category, severity, unit, code, status, light, level, dispatched, due, original, submitted,
         closed, rework, extensions) in rows.iterator(chunk_size=2000):
        on_time = "" if status != S.Status.CLOSED else (_("yes") if closed <= due else _("no"))
        yield [pk, finding, category, str(severities.get(severity, severity)), unit, code,
               str(statuses.get(status, status)), str(lights.get(light, "")), str(levels.get(level, level)),
               _local(dispatched), _local(due), _local(original), _local(submitted), _local(closed), on_time, rework,
               extensions]
