"""The dashboards' figures computed from the raw rows (findings and tasks grouped per request): the
reference that tests/dashboards/test_rollups.py compares the rollup-based ``dashboards.selectors``
with. This is the dashboards' selectors module as it was before the rollups (issue 13), kept verbatim
so the two computations share nothing but the definitions in docs/dashboards.md."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Avg, Case, CharField, Count, F, Min, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from campaigns.models import Campaign, Unit
from inspections.models import Finding, RectificationTask
from scores.compute import SHANGHAI, month_bounds
from scores.models import RANKABLE_KINDS, MonthlyScore, next_month
from volunteers.models import Volunteer
from volunteers.selectors import unit_statistics

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
    if campaign is None:
        return qs
    # A semi-join on the campaign's finding ids (an index-only scan of dash_finding_camp_obs_idx).
    return qs.filter(finding_id__in=Finding.objects.filter(campaign=campaign).order_by().values("id"))


def _scores(user, campaign, root):
    return MonthlyScore.objects.visible_to(user).filter(campaign=campaign, total__isnull=False,
                                                      **_within(root, "unit__path")).order_by()


def finding_counts(campaign, root) -> dict:
    """Open (awaiting triage or being rectified) and untriaged findings, now. One query."""
    return _findings(campaign, root).filter(status__in=Finding.OPEN_STATUSES).aggregate(
        open=Count("pk"), untriaged=Count("pk", filter=Q(status=Finding.Status.NEW)))


def month_finding_counts(campaign, root, start, end) -> dict:
    """Findings observed in the month (not void or duplicate). One query."""
    return _findings(campaign, root).filter(status__in=COUNTING, observed_at__gte=start, observed_at__lt=end).aggregate(
        opened=Count("pk"))


def month_task_counts(campaign, root, start, end) -> dict:
    """Tasks closed (verified) in the month: how many, how many by their deadline,
    how many returned at least once, the mean time from dispatch to closure. One query."""
    return _tasks(campaign, root).filter(
        status=RectificationTask.Status.CLOSED, closed_at__gte=start, closed_at__lt=end
    ).aggregate(
        closed=Count("pk"),
        on_time=Count("pk", filter=Q(closed_at__lte=F("due_at"))),
        reworked=Count("pk", filter=Q(rework_count__gt=0)),
        avg_duration=Avg(F("closed_at") - F("dispatched_at")),
    )


def task_lights(campaign, root, now) -> dict:
    """Open tasks by traffic light, now (red = overdue). One query."""
    return _tasks(campaign, root).filter(status__in=OPEN_TASK).aggregate(
        red=Count("pk", filter=Q(due_at__lt=now)),
        yellow=Count("pk", filter=Q(due_at__gte=now, warn_at__lte=now)),
        green=Count("pk", filter=Q(due_at__gte=now, warn_at__gt=now)),
    )


def by_category(campaign, root, start, end) -> list[dict]:
    """The month's findings per top-level category (a sub-category counts in its group). One query."""
    rows = (
        _findings(campaign, root).filter(status__in=COUNTING, observed_at__gte=start, observed_at__lt=end)
        .values(top=Coalesce("category__group_id", "category_id"),
                name=Coalesce("category__group__name", "category__name"))
        .annotate(n=Count("pk")).order_by("-n", "top")
    )
    return list(rows)


def by_point_type(campaign, root, start, end) -> list[dict]:
    """The month's findings per point type (findings without a point in one bucket, ``type`` None). One query."""
    rows = (
        _findings(campaign, root).filter(status__in=COUNTING, observed_at__gte=start, observed_at__lt=end)
        .values(type=F("point__point_type_id"), name=F("point__point_type__name"))
        .annotate(n=Count("pk")).order_by("-n", "type")
    )
    return list(rows)


def most_overdue(campaign, root, now, limit: int = TOP_OVERDUE) -> list[RectificationTask]:
    """The open tasks furthest past their deadline. One query."""
    return list(
        _tasks(campaign, root).filter(status__in=OPEN_TASK, due_at__lt=now)
        .select_related("unit", "finding", "finding__category").order_by("due_at", "id")[:limit]
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


def monthly_flow(campaign, root, months: list[dt.date]) -> tuple[dict, dict]:
    """Findings opened (observed) and closed per month over ``months``. Two queries."""
    start, end = month_bounds(months[0])[0], month_bounds(months[-1])[1]
    base = _findings(campaign, root)
    opened = (
        base.filter(status__in=COUNTING, observed_at__gte=start, observed_at__lt=end)
        .annotate(m=TruncMonth("observed_at", tzinfo=SHANGHAI)).values("m").annotate(n=Count("pk"))
    )
    closed = (
        base.filter(status=Finding.Status.CLOSED, closed_at__gte=start, closed_at__lt=end)
        .annotate(m=TruncMonth("closed_at", tzinfo=SHANGHAI)).values("m").annotate(n=Count("pk"))
    )

    def by_month(rows):
        out = {}
        for row in rows:
            m = row["m"]
            key = (timezone.localtime(m, SHANGHAI).date() if isinstance(m, dt.datetime) else m).replace(day=1)
            out[key] = out.get(key, 0) + row["n"]
        return out

    return by_month(opened), by_month(closed)


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
        .select_related("unit").order_by(F("rank").asc(nulls_last=True), "unit__path")[: limit * 3]
    )


def own_score(user, campaign, root, month) -> MonthlyScore | None:
    if campaign is None:
        return None
    return (MonthlyScore.objects.visible_to(user).filter(campaign=campaign, unit=root, month=month)
            .select_related("unit", "campaign", "scheme").first())


def build(user, *, campaign: Campaign | None, root: Unit, month: dt.date, now: dt.datetime | None = None) -> Figures:
    """All the figures of a dashboard: a fixed number of queries."""
    now = now or timezone.now()
    month = month_start(month)
    root.dash_everything = covers_everything(root)
    start, end = month_bounds(month)
    fig = Figures(root=root, campaign=campaign, month=month, start=start, end=end,
                  last_day=next_month(month) - dt.timedelta(days=1))
    fig.findings = {**finding_counts(campaign, root), **month_finding_counts(campaign, root, start, end)}
    fig.tasks = month_task_counts(campaign, root, start, end)
    fig.lights = task_lights(campaign, root, now)
    fig.by_category = by_category(campaign, root, start, end)
    fig.by_point_type = by_point_type(campaign, root, start, end)
    fig.overdue_tasks = most_overdue(campaign, root, now)
    fig.map_rows = map_rows(campaign, root, now)

    months = months_back(month, 12)
    opened, closed = monthly_flow(campaign, root, months)
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

    # Volunteers: the month's figures as of its end (or now, in the current month).
    as_of = min(now, end - dt.timedelta(microseconds=1))
    fig.volunteers = unit_statistics(root, now=as_of)[0]
    fig.volunteers.registered = registered_volunteers(root)
    return fig


def registered_volunteers(root: Unit) -> int:
    """Registered volunteers from the volunteers themselves (the statistics read the volunteer tally)."""
    return Volunteer.objects.counted().filter(unit__path__startswith=root.path).count()


def _q2(value) -> Decimal | None:
    if value is None:
        return None
    return Decimal(value).quantize(Decimal("0.01"))
