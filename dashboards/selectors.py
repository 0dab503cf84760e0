"""The dashboards' figures: each one grouped SQL aggregate (or a short
ordered slice), so a dashboard costs the same number of queries whatever the
number of findings, tasks, scores or volunteers. Definitions: docs/dashboards.md.

Every figure is limited to the campaign, to the unit subtree ``root`` (by the
responsible unit of a finding, the assigned unit of a task, the unit of a
score) and, for the month's figures, to the month in Asia/Shanghai. The
callers pass a ``root`` inside the user's scope, so the subtree is already
within what the user may see."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Avg, Case, CharField, Count, F, Func, IntegerField, OuterRef, Q, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce, Substr
from django.utils import timezone

from campaigns.models import Campaign, PointType, Unit
from inspections.models import ClosureTally, Finding, FindingTally, RectificationTask
from inspections.rollups import ALL_CATEGORIES, ALL_UNITS, NONE, TOTAL_TYPE
from inspections.rollups import month_of as _month
from scores.compute import month_bounds
from scores.models import RANKABLE_KINDS, MonthlyScore, next_month
from volunteers.hours import month_bounds as volunteer_month_bounds
from volunteers.models import Activity, HourEntry, VolunteerTally
from volunteers.selectors import UnitStats

MAP_LIMIT = 500
TOP_OVERDUE = 10
RANKING_TOP = 10
COUNTING = [Finding.Status.NEW, Finding.Status.DISPATCHED, Finding.Status.CLOSED]
OPEN_TASK = RectificationTask.OPEN_STATUSES


def month_start(value: dt.date) -> dt.date:
    return value.replace(day=1)


def months_back(month: dt.date, n: int) -> list[dt.date]:
    """The ``n`` months ending with ``month``, oldest first."""
    months = [month]
    for _ in range(n - 1):
        months.append((months[-1] - dt.timedelta(days=1)).replace(day=1))
    return months[::-1]


def percent(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * 100 / whole).quantize(Decimal("0.1"))


@dataclass
class Figures:
    """Everything one dashboard shows (what the template and the JSON for the charts read)."""

    root: Unit
    campaign: Campaign | None
    month: dt.date
    start: dt.datetime = None
    end: dt.datetime = None
    last_day: dt.date = None
    findings: dict = field(default_factory=dict)
    tasks: dict = field(default_factory=dict)
    lights: dict = field(default_factory=dict)
    by_category: list = field(default_factory=list)
    by_point_type: list = field(default_factory=list)
    overdue_tasks: list = field(default_factory=list)
    map_rows: list = field(default_factory=list)
    trend: list = field(default_factory=list)
    index_kind: str = ""
    score_month: dt.date = None
    average_index: Decimal | None = None
    ranking_kind: str = ""
    ranking: list = field(default_factory=list)
    volunteers: object = None
    areas: list = field(default_factory=list)

    @property
    def on_time_rate(self) -> Decimal | None:
        return percent(self.tasks.get("on_time", 0), self.tasks.get("closed", 0))

    @property
    def rework_rate(self) -> Decimal | None:
        return percent(self.tasks.get("reworked", 0), self.tasks.get("closed", 0))

    @property
    def average_days(self) -> Decimal | None:
        avg = self.tasks.get("avg_duration")
        if avg is None:
            return None
        return (Decimal(avg.total_seconds()) / 86400).quantize(Decimal("0.1"))


def covers_everything(root: Unit) -> bool:
    """Whether ``root``'s subtree is every unit (the only root): then no path filter is needed,
    which spares every figure its join to the units table. One query, for a root unit only."""
    return root.depth == 1 and not Unit.objects.filter(depth=1).exclude(pk=root.pk).exists()


def _within(root, path_field: str) -> dict:
    return {} if getattr(root, "dash_everything", False) else {f"{path_field}__startswith": root.path}


def _findings(campaign, root):
    qs = Finding.objects.filter(**_within(root, "unit__path")).order_by()
    return qs.filter(campaign=campaign) if campaign is not None else qs


def _tasks(campaign, root):
    qs = RectificationTask.objects.filter(**_within(root, "unit__path")).order_by()
    # The task's own campaign column (copied from its finding at dispatch): no join to findings.
    return qs.filter(campaign=campaign) if campaign is not None else qs


def _campaign_key(campaign) -> dict:
    return {"campaign_key": campaign.pk} if campaign is not None else {}


def _tally(campaign, root, *, totals: bool = False):
    """The rollup of findings (docs/dashboards.md, Rollups), limited to the campaign and subtree: for
    the only root, the campaign-wide rows (``totals``: per month and status only); else the root's own
    rows and its rows "below" (its descendants'), whatever the number of units under it."""
    qs = FindingTally.objects.filter(**_campaign_key(campaign)).order_by()
    if getattr(root, "dash_everything", False):
        shape = {"category_id": ALL_CATEGORIES, "point_type_key": TOTAL_TYPE} if totals else {"point_type_key__gte": 0}
        return qs.filter(unit_id=ALL_UNITS, **shape)
    return qs.filter(unit_id=root.pk)


def _closures(campaign, root):
    qs = ClosureTally.objects.filter(**_campaign_key(campaign)).order_by()
    if getattr(root, "dash_everything", False):
        return qs.filter(unit_id=ALL_UNITS)
    return qs.filter(unit_id=root.pk)


def _total(field: str = "n", **filter_) -> Coalesce:
    return Coalesce(Sum(field, filter=Q(**filter_) if filter_ else None), 0)


def _scores(user, campaign, root):
    return MonthlyScore.objects.visible_to(user).filter(campaign=campaign, total__isnull=False,
                                                      **_within(root, "unit__path")).order_by()


def finding_counts(campaign, root) -> dict:
    """Open (awaiting triage or being rectified) and untriaged findings, now. One query."""
    return _tally(campaign, root, totals=True).filter(status__in=Finding.OPEN_STATUSES).aggregate(
        open=_total(), untriaged=_total(status=Finding.Status.NEW))


def month_finding_counts(campaign, root, start, end) -> dict:
    """Findings observed in the month (not void or duplicate). One query."""
    return _tally(campaign, root, totals=True).filter(status__in=COUNTING, month=_month(start)).aggregate(
        opened=_total())


def month_task_counts(campaign, root, start, end) -> dict:
    """Tasks closed (verified) in the month: how many, how many by their deadline,
    how many returned at least once, the mean time from dispatch to closure. One query."""
    row = _closures(campaign, root).filter(month=_month(start)).aggregate(
        closed=_total("tasks_closed"), on_time=_total("tasks_on_time"), reworked=_total("tasks_reworked"),
        micros=_total("task_micros"))
    micros = row.pop("micros")
    row["avg_duration"] = dt.timedelta(microseconds=micros / row["closed"]) if row["closed"] else None
    return row


def finding_months(campaign, root) -> list[dict]:
    """Per month of the findings rollup: ``opened`` (observed in the month, not void or duplicate) and,
    summed over every month, ``open`` and ``untriaged`` now (finding_counts, month_finding_counts and the
    trend's opened, from the same rows). One query, one row per month of the campaign."""
    return list(
        _tally(campaign, root, totals=True).filter(status__in=sorted({*Finding.OPEN_STATUSES, *COUNTING}))
        .values("month").annotate(opened=_total(status__in=COUNTING), open=_total(status__in=Finding.OPEN_STATUSES),
                                  untriaged=_total(status=Finding.Status.NEW))
        .order_by("month"))


def closure_months(campaign, root, months: list[dt.date]) -> list[dict]:
    """Per month of ``months``, the closures rollup: findings closed, and tasks closed, on time, reworked
    and their total duration (month_task_counts and the trend's closed, from the same rows). One query."""
    return list(
        _closures(campaign, root).filter(month__gte=months[0], month__lte=months[-1]).values("month")
        .annotate(findings_closed=_total("findings_closed"), closed=_total("tasks_closed"),
                  on_time=_total("tasks_on_time"), reworked=_total("tasks_reworked"), micros=_total("task_micros"))
        .order_by("month"))


def _task_figures(row: dict | None) -> dict:
    """month_task_counts' figures from a closure_months row (None: no closure that month)."""
    row = row or {}
    closed, micros = row.get("closed", 0), row.get("micros", 0)
    return {"closed": closed, "on_time": row.get("on_time", 0), "reworked": row.get("reworked", 0),
            "avg_duration": dt.timedelta(microseconds=micros / closed) if closed else None}


def task_lights(campaign, root, now) -> dict:
    """Open tasks by traffic light, now (red = overdue). One query, on the task's own path column (no
    join to the units: the join read every open task of the campaign and hashed the subtree's units)
    counting ``due_at`` (not the id: every filter compares ``due_at``, so the same rows), so that a
    district reads only its open tasks from the partial index ``task_campaign_open_path_idx`` (campaign, path; INCLUDE due_at, warn_at), index-only: bench-1M,
    a district's 5,564 open tasks, 24.5 → 1.4 ms. The city reads ``task_campaign_open_due_idx``."""
    qs = RectificationTask.objects.filter(**_within(root, "unit_path")).order_by()
    if campaign is not None:
        qs = qs.filter(campaign=campaign)
    return qs.filter(status__in=OPEN_TASK).aggregate(
        red=Count("due_at", filter=Q(due_at__lt=now)),
        yellow=Count("due_at", filter=Q(due_at__gte=now, warn_at__lte=now)),
        green=Count("due_at", filter=Q(due_at__gte=now, warn_at__gt=now)),
    )


def by_category(campaign, root, start, end) -> list[dict]:
    """The month's findings per top-level category (a sub-category counts in its group). One query."""
    rows = (
        _tally(campaign, root).filter(status__in=COUNTING, month=_month(start))
        .values(top=Coalesce("category__group_id", "category_id"),
                name=Coalesce("category__group__name", "category__name"))
        .annotate(n=Sum("n")).filter(n__gt=0).order_by("-n", "top")
    )
    return list(rows)


def by_point_type(campaign, root, start, end) -> list[dict]:
    """The month's findings per point type (findings without a point in one bucket, ``type`` None). One query."""
    rows = list(
        _tally(campaign, root).filter(status__in=COUNTING, month=_month(start))
        .values(type=F("point_type_key")).annotate(n=Sum("n")).filter(n__gt=0)
        # The name after the aggregate: grouped by the key only, one lookup per type, not per rollup row.
        .annotate(name=Subquery(PointType.objects.filter(pk=OuterRef("point_type_key")).order_by().values("name")))
        .order_by("-n", "type")
    )
    for row in rows:
        row["type"] = None if row["type"] == NONE else row["type"]
    return sorted(rows, key=lambda r: (-r["n"], r["type"] is None, r["type"] or 0))


def most_overdue(campaign, root, now, limit: int = TOP_OVERDUE) -> list[RectificationTask]:
    """The open tasks furthest past their deadline. One query."""
    return list(
        _tasks(campaign, root).filter(status__in=OPEN_TASK, due_at__lt=now)
        .select_related("unit", "finding", "finding__category").defer("unit__boundary")
        .order_by("due_at", "id")[:limit]
    )


def map_rows(campaign, root, now, limit: int = MAP_LIMIT) -> list[dict]:
    """Open findings with coordinates, newest first, with their traffic light:
    the light of their open task; ``grey`` while untriaged (no task yet). One query."""
    open_task = RectificationTask.objects.filter(finding_id=OuterRef("pk"), status__in=OPEN_TASK).order_by()
    light = Case(
        When(task_due__isnull=True, then=Value("grey")),
        When(task_due__lt=now, then=Value("red")),
        When(task_warn__lte=now, then=Value("yellow")),
        default=Value("green"), output_field=CharField(),
    )
    return list(
        _findings(campaign, root).filter(status__in=Finding.OPEN_STATUSES, latitude__isnull=False,
                                         longitude__isnull=False)
        .annotate(task_due=Subquery(open_task.values("due_at")[:1]),
                  task_warn=Subquery(open_task.values("warn_at")[:1]))
        .annotate(light=light)
        .values("pk", "latitude", "longitude", "light", "status", "observed_at", "category__name", "unit__name",
                "address")
        .order_by("-observed_at", "-id")[:limit]
    )


def map_areas(user, campaign, root, score_month, now) -> list[Unit]:
    """The units one level below ``root`` that have a boundary, each with the figures the map colours
    them by: ``index`` (its civility index of ``score_month``, from the scores), ``open_findings``
    (from the findings rollup) and ``overdue_tasks`` (open tasks past their deadline, by the tasks'
    path column). One query without such units, else four, whatever the number of rows."""
    children = list(
        Unit.objects.filter(path__startswith=root.path, depth=root.depth + 1, boundary__isnull=False)
        .exclude(kind=Unit.Kind.DEPARTMENT).only("pk", "code", "name", "kind", "path", "depth", "boundary")
        .order_by("path"))
    if not children:
        return []
    # Each child's own rows and its rows "below": its subtree.
    tally = FindingTally.objects.filter(**_campaign_key(campaign), unit_id__in=[u.pk for u in children],
                                        status__in=Finding.OPEN_STATUSES).order_by()
    open_findings = dict(tally.values("unit_id").annotate(n=Sum("n")).values_list("unit_id", "n"))
    tasks = RectificationTask.objects.filter(unit_path__startswith=root.path, status__in=OPEN_TASK, due_at__lt=now)
    if campaign is not None:
        tasks = tasks.filter(campaign=campaign)
    overdue = {p: n for p, n in tasks.order_by().annotate(p=Substr("unit_path", 1, len(children[0].path)))
               .values("p").annotate(n=Count("pk")).values_list("p", "n")}
    index = {}
    if campaign is not None:
        index = dict(_scores(user, campaign, root).filter(month=score_month, unit__in=[u.pk for u in children])
                     .values_list("unit_id", "total"))
    for unit in children:
        unit.index = _q2(index.get(unit.pk))
        unit.open_findings = open_findings.get(unit.pk, 0) or 0
        unit.overdue_tasks = overdue.get(unit.path, 0)
    return children


def monthly_flow(campaign, root, months: list[dt.date]) -> tuple[dict, dict]:
    """Findings opened (observed) and closed per month over ``months``. Two queries."""
    span = {"month__gte": months[0], "month__lte": months[-1]}
    opened = (_tally(campaign, root, totals=True).filter(status__in=COUNTING, **span)
              .values("month").annotate(n=Sum("n")).values_list("month", "n"))
    closed = (_closures(campaign, root).filter(**span)
              .values("month").annotate(n=Sum("findings_closed")).values_list("month", "n"))
    return ({m: n for m, n in opened if n}, {m: n for m, n in closed if n})


def score_cells(user, campaign, root, months: list[dt.date]) -> list[dict]:
    """Mean total per (month, peer group, depth) of the scores the user may see in the subtree. One query."""
    if campaign is None:
        return []
    return list(
        _scores(user, campaign, root).filter(month__gte=months[0], month__lte=months[-1])
        .values("month", "kind", "unit__depth").annotate(avg=Avg("total"), n=Count("pk"))
    )


def _kind_order(cell) -> tuple:
    kind = cell["kind"]
    return cell["unit__depth"], RANKABLE_KINDS.index(kind) if kind in RANKABLE_KINDS else 99


def ranking_rows(user, campaign, root, month, kind, limit: int = RANKING_TOP) -> list[MonthlyScore]:
    """The peer group's scores in the subtree for the month: the first ``limit`` by rank and every
    red- or black-listed one. One query."""
    if campaign is None or not kind:
        return []
    return list(
        _scores(user, campaign, root).filter(month=month, kind=kind)
        .filter(Q(rank__lte=limit) | ~Q(list_flag="") | Q(unit=root))
        .select_related("unit").defer("unit__boundary")
        .order_by(F("rank").asc(nulls_last=True), "unit__path")[: limit * 3]
    )


def own_score(user, campaign, root, month) -> MonthlyScore | None:
    """The root's score for ``month`` or, when that month has none the user may see yet (a new month, a
    draft not opened to the unit), its latest earlier one. One query."""
    if campaign is None:
        return None
    return (MonthlyScore.objects.visible_to(user).filter(campaign=campaign, unit=root, month__lte=month)
            .select_related("unit", "campaign", "scheme", "score_month").order_by("-month").first())


def build(user, *, campaign: Campaign | None, root: Unit, month: dt.date, now: dt.datetime | None = None) -> Figures:
    """All the figures of a dashboard: a fixed number of queries."""
    now = now or timezone.now()
    month = month_start(month)
    root.dash_everything = covers_everything(root)
    start, end = month_bounds(month)
    fig = Figures(root=root, campaign=campaign, month=month, start=start, end=end,
                  last_day=next_month(month) - dt.timedelta(days=1))
    months = months_back(month, 12)
    # The same rollup rows read once each: findings per month (open now, untriaged now, observed per
    # month) and closures per month (the trend's and the month's task figures).
    per_month = finding_months(campaign, root)
    fig.findings = {"open": sum(r["open"] for r in per_month), "untriaged": sum(r["untriaged"] for r in per_month),
                    "opened": next((r["opened"] for r in per_month if r["month"] == month), 0)}
    closures = closure_months(campaign, root, months)
    fig.tasks = _task_figures(next((r for r in closures if r["month"] == month), None))
    fig.lights = task_lights(campaign, root, now)
    fig.by_category = by_category(campaign, root, start, end)
    fig.by_point_type = by_point_type(campaign, root, start, end)
    fig.overdue_tasks = most_overdue(campaign, root, now)
    fig.map_rows = map_rows(campaign, root, now)

    opened = {r["month"]: r["opened"] for r in per_month if r["opened"] and months[0] <= r["month"] <= month}
    closed = {r["month"]: r["findings_closed"] for r in closures if r["findings_closed"]}
    cells = score_cells(user, campaign, root, months)
    if cells:
        fig.index_kind = min(cells, key=_kind_order)["kind"]
        below = [c for c in cells if c["unit__depth"] > root.depth]
        fig.ranking_kind = min(below, key=_kind_order)["kind"] if below else fig.index_kind
    averages = {c["month"]: c["avg"] for c in cells if c["kind"] == fig.index_kind}
    # Scores come after a month ends: show the latest scored month up to the chosen one.
    fig.score_month = max(averages) if averages else month
    fig.average_index = _q2(averages.get(fig.score_month))
    fig.trend = [{"month": m, "opened": opened.get(m, 0), "closed": closed.get(m, 0),
                  "index": _q2(averages.get(m))} for m in months]
    fig.ranking = ranking_rows(user, campaign, root, fig.score_month, fig.ranking_kind)
    fig.areas = map_areas(user, campaign, root, fig.score_month, now)

    # Volunteers: the month's figures as of its end (or now, in the current month).
    as_of = min(now, end - dt.timedelta(microseconds=1))
    fig.volunteers = volunteer_totals(root, now=as_of)
    return fig


def _scalar(queryset, function: str, field: str, distinct: bool = False) -> Subquery:
    """``SELECT function(field) FROM …``: one row whatever the rows (no GROUP BY), as a scalar subquery."""
    template = "%(function)s(DISTINCT %(expressions)s)" if distinct else None
    value = Func(F(field), function=function, output_field=IntegerField(), **({"template": template} if template else {}))
    return Subquery(queryset.order_by().annotate(v=value).values("v"))


def volunteer_totals(root: Unit, *, now: dt.datetime) -> UnitStats:
    """The volunteer statistics of ``root``'s subtree for the month containing ``now`` (the total row of
    ``volunteers.selectors.unit_statistics``, the same definitions) in one query, not one per figure."""
    start, end = volunteer_month_bounds(now)
    entries = HourEntry.objects.filter(served_at__gte=start, served_at__lt=end, unit_path__startswith=root.path)
    held = Activity.objects.exclude(status=Activity.Status.CANCELLED).filter(
        starts_at__gte=start, starts_at__lt=end, starts_at__lte=now, unit__path__startswith=root.path)
    row = Unit.objects.filter(pk=root.pk).order_by().values(
        # The tally, not 200k volunteers; when the root is every unit, no join to the units either.
        registered=_scalar(VolunteerTally.objects.filter(**_within(root, "unit__path")), "SUM", "active"),
        people=_scalar(entries, "COUNT", "volunteer", distinct=True),
        minutes=_scalar(entries, "SUM", "minutes"),
        held=_scalar(held, "COUNT", "pk"),
    ).get()
    return UnitStats(unit=root, registered=row["registered"] or 0, active_this_month=row["people"] or 0,
                     minutes_this_month=row["minutes"] or 0, activities_held=row["held"] or 0)


def _q2(value) -> Decimal | None:
    if value is None:
        return None
    return Decimal(value).quantize(Decimal("0.01"))


def leader_home(user, units: list[Unit], *, now: dt.datetime | None = None) -> list[dict]:
    """How the units an assigned leader answers for stand: each unit's latest
    score the leader may see (total, rank, red/black list, month, draft or
    published) and its subtree's open, overdue and 挂牌督办 tasks. Three queries
    for any number of units."""
    if not units:
        return []
    now = now or timezone.now()
    latest = (MonthlyScore.objects.visible_to(user).filter(unit_id=OuterRef("pk"), total__isnull=False)
              .order_by("-month").values("pk")[:1])
    score_ids = dict(Unit.objects.filter(pk__in=[u.pk for u in units]).annotate(s=Subquery(latest))
                     .values_list("pk", "s"))
    scores = MonthlyScore.objects.select_related("campaign").in_bulk([s for s in score_ids.values() if s])
    open_ = Q(status__in=RectificationTask.OPEN_STATUSES)
    within = Q(pk__in=[])
    figures = {}
    for i, unit in enumerate(units):
        mine = Q(unit__path__startswith=unit.path)
        within |= mine
        figures[f"open_{i}"] = Count("pk", filter=mine & open_)
        figures[f"overdue_{i}"] = Count("pk", filter=mine & open_ & Q(due_at__lt=now))
        figures[f"listed_{i}"] = Count("pk", filter=mine & open_ & Q(
            supervision=RectificationTask.Supervision.LISTED))
    counts = RectificationTask.objects.filter(within).order_by().aggregate(**figures)
    return [{"unit": unit, "score": scores.get(score_ids.get(unit.pk)), "open": counts[f"open_{i}"],
             "overdue": counts[f"overdue_{i}"], "listed": counts[f"listed_{i}"]} for i, unit in enumerate(units)]
