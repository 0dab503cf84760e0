"""The supervisor dashboard and the unit dashboard. Views pick the filters
and the links; the figures come from selectors.build (docs/dashboards.md)."""

from __future__ import annotations

import datetime as dt
from functools import cached_property

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns.models import Membership, Unit
from campaigns.scope import Scope, scope_of
from inspections.models import Finding, RectificationTask
from scores.lost import top_lost_criteria
from inspections.rechecks import panel as recurrence_panel
from scores.selectors import costly_findings, default_campaign

from . import selectors
from .search import LIMIT
from .search import search as run_search
from .forms import DashboardForm

Role = Membership.Role
UNIT_ROLES = (Role.HEAD, Role.LEADER)


def is_supervisor(user) -> bool:
    return scope_of(user).is_supervisor


def is_unit_reader(user) -> bool:
    scope = scope_of(user)
    return scope.superuser or bool(scope.roles & {Role.SUPERVISOR, Role.HEAD, Role.LEADER})


def _scope_units(scope: Scope) -> list[Unit]:
    """The roots of the user's scope and their children (the unit select). One query."""
    paths = scope.paths
    units = Unit.objects.exclude(kind=Unit.Kind.GRID).defer("boundary")  # the select needs no outlines
    if paths is None:
        units = units.filter(depth__lte=2)
    else:
        q = Q(pk__in=[])
        for path in paths:
            q |= Q(path=path) | Q(path__startswith=path, depth=len(path) // Unit.steplen + 1)
        units = units.filter(q)
    return list(units.order_by("path"))


def _own_units(scope: Scope) -> list[Unit]:
    """The units where the user is head or assigned leader. One query."""
    paths = scope.role_paths(UNIT_ROLES)
    return list(Unit.objects.filter(path__in=paths).defer("boundary").order_by("path")) if paths else []


class Links:
    """URLs of the lists behind the figures, filtered as the figure is."""

    def __init__(self, fig: selectors.Figures):
        self.fig = fig
        self.base = {"within": fig.root.pk}
        if fig.campaign is not None:
            self.base["campaign"] = fig.campaign.pk
        self.month = {"date_from": fig.month.isoformat(), "date_to": fig.last_day.isoformat()}
        self.closed = {"closed_from": fig.month.isoformat(), "closed_to": fig.last_day.isoformat()}
        self._paths: dict[str, str] = {}

    def _url(self, name: str, params: dict) -> str:
        path = self._paths.get(name) or self._paths.setdefault(name, reverse(name))
        return f"{path}?{urlencode({**self.base, **params}, doseq=True)}"

    def findings(self, **params) -> str:
        return self._url("inspections:finding_list", params)

    def tasks(self, **params) -> str:
        return self._url("inspections:task_list", params)

    @cached_property
    def open_findings(self):
        return self.findings(status=Finding.OPEN_STATUSES)

    @cached_property
    def open_findings_map(self):
        return self.findings(status=Finding.OPEN_STATUSES, view="map")

    @cached_property
    def untriaged(self):
        return self.findings(status=[Finding.Status.NEW])

    @cached_property
    def opened(self):
        return self.findings(status=selectors.COUNTING, **self.month)

    @cached_property
    def overdue(self):
        return self.tasks(overdue="true")

    @cached_property
    def tasks_yellow(self):
        return self.tasks(light="yellow")

    @cached_property
    def tasks_green(self):
        return self.tasks(light="green")

    @cached_property
    def closed_tasks(self):
        return self.tasks(status=RectificationTask.Status.CLOSED, **self.closed)

    @cached_property
    def on_time(self):
        return self.tasks(status=RectificationTask.Status.CLOSED, on_time="true", **self.closed)

    @cached_property
    def reworked(self):
        return self.tasks(status=RectificationTask.Status.CLOSED, reworked="true", **self.closed)

    def category(self, pk) -> str:
        return self.findings(status=selectors.COUNTING, category=pk, **self.month)

    def point_type(self, pk) -> str:
        return self.findings(status=selectors.COUNTING, point_type=pk if pk is not None else "null", **self.month)

    def month_findings(self, month: dt.date) -> str:
        last = selectors.next_month(month) - dt.timedelta(days=1)
        return self.findings(status=selectors.COUNTING, date_from=month.isoformat(), date_to=last.isoformat())

    def month_closed(self, month: dt.date) -> str:
        last = selectors.next_month(month) - dt.timedelta(days=1)
        return self.findings(status=[Finding.Status.CLOSED], closed_from=month.isoformat(),
                             closed_to=last.isoformat())

    def ranking(self, kind: str = "") -> str:
        params = {"month": f"{self.fig.score_month:%Y-%m}"}
        if self.fig.campaign is not None:
            params["campaign"] = self.fig.campaign.pk
        if kind:
            params["kind"] = kind
        return f"{reverse('scores:ranking')}?{urlencode(params)}"

    @cached_property
    def volunteers(self) -> str:
        return f"{reverse('volunteers:statistics')}?{urlencode({'unit': self.fig.root.pk, 'month': f'{self.fig.month:%Y-%m}'})}"


def drill_url(path: str, fig: selectors.Figures, unit: Unit) -> str:
    """The same dashboard for ``unit`` (its unit filter), same campaign and month."""
    params = {"unit": unit.code, "month": f"{fig.month:%Y-%m}"}
    if fig.campaign is not None:
        params["campaign"] = fig.campaign.pk
    return f"{path}?{urlencode(params)}"


def _area_data(fig: selectors.Figures, path: str) -> dict:
    """The boundaries the map draws and colours (static/js/dashboard.js)."""
    return {
        "features": [{
            "type": "Feature", "geometry": unit.boundary,
            "properties": {"code": unit.code, "name": unit.name, "url": drill_url(path, fig, unit),
                           "index": float(unit.index) if unit.index is not None else None,
                           "overdue": unit.overdue_tasks, "open": unit.open_findings},
        } for unit in fig.areas],
        "outline": fig.root.boundary,
        "month": f"{fig.score_month:%Y-%m}",
        "labels": {
            "index": _("Civility index"), "overdue": _("Overdue tasks"), "open": _("Open findings"),
            "noData": _("no score"), "legend": _("Legend"), "markers": _("Findings"),
            "drill": _("Click a unit to see its dashboard"),
            "lights": {key: str(label) for key, label in LIGHT_LABELS.items()},
        },
    }


def _chart_data(fig: selectors.Figures, links: Links) -> dict:
    """What static/js/dashboard.js draws (passed with json_script)."""
    untitled = _("No point")
    return {
        "trend": {
            "months": [f"{row['month']:%Y-%m}" for row in fig.trend],
            "opened": [row["opened"] for row in fig.trend],
            "closed": [row["closed"] for row in fig.trend],
            "index": [float(row["index"]) if row["index"] is not None else None for row in fig.trend],
            "openedUrls": [row["opened_url"] for row in fig.trend],  # set by _render
            "closedUrls": [row["closed_url"] for row in fig.trend],
            "labels": {"opened": _("Findings opened"), "closed": _("Findings closed"),
                       "index": _("Average index")},
        },
        "categories": [{"name": row["name"], "value": row["n"], "url": row["url"]} for row in fig.by_category],
        "pointTypes": [{"name": row["name"] or untitled, "value": row["n"], "url": row["url"]}
                       for row in fig.by_point_type],
        "map": [{"id": r["pk"], "lat": float(r["latitude"]), "lng": float(r["longitude"]), "light": r["light"],
                 "label": f"#{r['pk']} {r['category__name']}", "detail": r["unit__name"],
                 "url": r["url"]} for r in fig.map_rows],
    }


# The task's traffic-light labels, plus grey for findings without a task yet.
LIGHT_LABELS = {**dict(RectificationTask.Light.choices), "grey": gettext_lazy("awaiting triage")}


def _render(request, template: str, fig: selectors.Figures, form: DashboardForm, **extra):
    links = Links(fig)
    _show_values(form, fig)
    now = timezone.now()
    for task in fig.overdue_tasks:
        task.days_late = (now - task.due_at).days
    for row in fig.by_category:
        row["url"] = links.category(row["top"])
    for row in fig.by_point_type:
        row["url"] = links.point_type(row["type"])
        row["label"] = row["name"] or _("No point")
    for row in fig.trend:
        row["opened_url"] = links.month_findings(row["month"])
        row["closed_url"] = links.month_closed(row["month"])
    # One reverse per kind of row (the up to 500 markers and their list, the ranking, the overdue tasks):
    # a detail URL differs only by the id.
    finding_url = _detail_url("inspections:finding_detail")
    for row in fig.map_rows:
        row["light_label"] = str(LIGHT_LABELS.get(row["light"], ""))
        row["url"] = finding_url(row["pk"])
    task_url = _detail_url("inspections:task_detail")
    for task in fig.overdue_tasks:
        task.url = task_url(task.pk)
    score_url = _detail_url("scores:score_detail")
    for score in fig.ranking:
        score.url = score_url(score.pk)
    # "Top lost criteria": one grouped query over the month's checklists under the root (none without an edition).
    month_end = (fig.month.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    top_lost = top_lost_criteria(request.user, fig.campaign, fig.month.replace(day=1), month_end, limit=5,
                                 within=fig.root) if fig.campaign is not None else []
    lost_url = reverse("scores:lost_points") + "?" + urlencode(
        {"campaign": fig.campaign.pk, "period": f"{fig.month:%Y-%m}", "within": fig.root.code}) if fig.campaign else ""
    charts = _chart_data(fig, links)
    charts["areas"] = _area_data(fig, request.path)
    for unit in fig.areas:
        unit.drill_url = drill_url(request.path, fig, unit)
    context = {
        "top_lost": top_lost, "lost_url": lost_url,
        "fig": fig, "form": form, "links": links, "charts": charts,
        "tile_url": getattr(settings, "MAP_TILE_URL", ""),
        "tile_attribution": getattr(settings, "MAP_TILE_ATTRIBUTION", ""),
        "index_kind_label": Unit.Kind(fig.index_kind).label if fig.index_kind else "",
        "ranking_kind_label": Unit.Kind(fig.ranking_kind).label if fig.ranking_kind else "",
        "map_limit": selectors.MAP_LIMIT,
        **extra,
    }
    return render(request, template, context)


def _detail_url(name: str):
    """``pk -> reverse(name, args=[pk])`` with one reverse for any number of rows."""
    head, _sep, tail = reverse(name, args=[987654321]).partition("987654321")
    return lambda pk: f"{head}{pk}{tail}"


def _root(form: DashboardForm, default: Unit | None) -> Unit | None:
    root = form.value("unit") or default
    form.show_unit(root)
    return root


def _show_values(form: DashboardForm, fig: selectors.Figures) -> None:
    """An unbound form shows the defaults the dashboard used."""
    if not form.is_bound:
        form.initial = {"campaign": fig.campaign.pk if fig.campaign else None, "month": f"{fig.month:%Y-%m}",
                        "unit": fig.root.code}


@login_required
def supervisor(request):
    """The campaign office's dashboard over a unit subtree of its scope."""
    user, scope = request.user, request.scope
    if not scope.is_supervisor:
        raise PermissionDenied
    units = _scope_units(scope)
    form = DashboardForm(request.GET or None, user=user, units=units, default_campaign=default_campaign(user))
    sup_paths = scope.role_paths([Role.SUPERVISOR])
    default = next((u for u in units if u.path in sup_paths), units[0] if units else None)
    root = _root(form, default)
    if root is None:
        return render(request, "dashboards/empty.html", {"form": form}, status=200)
    fig = selectors.build(user, campaign=form.campaign_value(), root=root, month=form.month_value())
    return _render(request, "dashboards/supervisor.html", fig, form,
                   recurrence=recurrence_panel(user, fig.campaign, root, fig.last_day))


@login_required
def unit(request):
    """A unit's dashboard for its head and assigned leaders (supervisors: any unit in scope)."""
    user, scope = request.user, request.scope
    if not is_unit_reader(user):
        raise PermissionDenied
    own = _own_units(scope)
    units = own if own and not scope.is_supervisor else _scope_units(scope)
    form = DashboardForm(request.GET or None, user=user, units=units, default_campaign=default_campaign(user))
    root = _root(form, units[0] if units else None)
    if root is None:
        return render(request, "dashboards/empty.html", {"form": form}, status=200)
    fig = selectors.build(user, campaign=form.campaign_value(), root=root, month=form.month_value())
    score = selectors.own_score(user, fig.campaign, root, fig.month)
    costs = list(costly_findings(score, user)[:10]) if score is not None else []
    return _render(request, "dashboards/unit.html", fig, form, score=score, costs=costs,
                   recurrence=recurrence_panel(user, fig.campaign, root, fig.last_day))


@login_required
def search(request):
    """The header's search box: results grouped by kind, each linking to its page."""
    results = run_search(request.user, request.GET.get("q", ""))
    return render(request, "dashboards/search.html", {"results": results, "limit": LIMIT})
