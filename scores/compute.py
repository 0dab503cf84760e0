"""The monthly computation (DESIGN §6), set-based.

The database aggregates the month's facts to small cells: visit scores per
(territorial unit, supervising department, point type), finding deductions
per (unit, department, category), task credits per assigned unit, and the
entered survey/materials scores. Each cell is then added to every ranked
unit whose path is a prefix of the cell's unit path (a territorial unit's
data is its subtree), or to the supervising department. The sums and counts
are additive, so this roll-up equals grouping by path prefix in SQL; it costs
a constant number of queries whatever the number of units.

Everything is as of the month's end: findings observed later, closures,
reworks and extension decisions after the end are ignored, so a later
recomputation gives the same result. Voiding a finding or a task is a
correction of the record and applies to drafts computed afterwards."""

from __future__ import annotations

import datetime as dt
import gc
import json
import math
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import (
    BooleanField, Case, Count, DecimalField, Exists, ExpressionWrapper, F, IntegerField, Lookup, OuterRef, Q, Sum,
    Value, When,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Substr

from campaigns.models import Campaign, PointType, Unit
from inspections.models import (
    ExtensionRequest, Finding, FindingCategory, Inspection, RectificationTask, TaskEvent, Visit, VisitCheck,
)
from inspections.services import REPEAT_WINDOW

from .models import HUNDRED, TWO, ListFlag, MaterialsScore, ScoreAdjustment, ScoringScheme, SurveyScore, next_month, q2
from materials.selectors import materials_scores  # noqa: E402  (M from materials reviews, docs/materials.md)
from surveys.selectors import survey_scores  # noqa: E402  (S from survey waves, docs/surveys.md)

# S and M computed per unit path for a month; entered scores override them.
DERIVED = {"survey": survey_scores, "materials": materials_scores}

SHANGHAI = ZoneInfo("Asia/Shanghai")
ZERO = Decimal(0)
DEC = DecimalField(max_digits=14, decimal_places=4)


def month_bounds(month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[first day 00:00, next month's first day 00:00) in Asia/Shanghai."""
    start = dt.datetime.combine(month.replace(day=1), dt.time(), tzinfo=SHANGHAI)
    return start, dt.datetime.combine(next_month(month), dt.time(), tzinfo=SHANGHAI)


def _dec(value) -> Decimal:
    if value is None:
        return ZERO
    return value if isinstance(value, Decimal) else Decimal(str(value))


# --- the SQL: facts of the month --------------------------------------------------------------


def finding_deduction(scheme: ScoringScheme, *, prefix: str = "") -> tuple:
    """(is_repeat, deduction) expressions for a Finding queryset (``prefix``
    when reached through a relation): category deduction × severity factor
    × the repeat factor when an earlier counting finding of the same category
    was seen at the same point within the repeat window."""
    p = prefix
    severity = Case(
        *[When(**{f"{p}severity": s}, then=Value(scheme.severity_factor(s))) for s in ("minor", "moderate", "severe")],
        default=Value(Decimal(1)), output_field=DEC,
    )
    if stored_repeats(scheme):
        # The flag the services store on every write (and refresh when an earlier finding is voided or
        # marked duplicate): the same rule with the same window, without a probe per finding.
        is_repeat = ExpressionWrapper(Q(**{f"{p}is_repeat": True}), output_field=BooleanField())
        repeat = Case(When(**{f"{p}is_repeat": True}, then=Value(scheme.repeat_factor)), default=Value(Decimal(1)),
                      output_field=DEC)
        return is_repeat, F(f"{p}category__deduction") * severity * repeat
    earlier = Finding.objects.counting().filter(
        point_id=OuterRef(f"{p}point_id"), category_id=OuterRef(f"{p}category_id"),
        observed_at__lt=OuterRef(f"{p}observed_at"),
        observed_at__gte=OuterRef(f"{p}observed_at") - dt.timedelta(days=scheme.repeat_window_days),
    )
    # A recurrence found by a re-check (回头看) is a repeat while its original counts.
    original = Finding.objects.counting().filter(pk=OuterRef(f"{p}recurrence_of_id"))
    is_repeat = ExpressionWrapper(
        Q(Exists(earlier)) | Q(Exists(original), **{f"{p}recurrence_of__isnull": False}), output_field=BooleanField())
    repeat = Case(When(is_repeat, then=Value(scheme.repeat_factor)), default=Value(Decimal(1)), output_field=DEC)
    return is_repeat, F(f"{p}category__deduction") * severity * repeat


def stored_repeats(scheme: ScoringScheme) -> bool:
    """The stored ``Finding.is_repeat`` answers the repeat rule when the scheme's window is the one the
    services store it with (30 days); another window is probed per finding."""
    return dt.timedelta(days=scheme.repeat_window_days) == REPEAT_WINDOW


def month_visits(campaign: Campaign, start: dt.datetime, end: dt.datetime):
    return Visit.objects.filter(inspection__campaign=campaign, visited_at__gte=start, visited_at__lt=end)


class InArray(Lookup):
    """``lhs = ANY(ARRAY(subquery))`` on PostgreSQL: the subquery runs once (an InitPlan) and its ids
    are then looked up in ``lhs``'s index. ``lhs IN (subquery)`` would let the planner turn it into a
    join that reads the whole table. Plain ``IN`` elsewhere."""

    lookup_name = "in_array"
    prepare_rhs = False

    def get_db_prep_lookup(self, value, connection):
        return ("%s", [value])

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(ARRAY{rhs})", [*lhs_params, *rhs_params]
        return f"{lhs} IN {rhs}", [*lhs_params, *rhs_params]


def month_visit_ids(campaign: Campaign, start: dt.datetime, end: dt.datetime, *, field: str = "visit_id") -> InArray:
    """``field`` is one of the month's visits, as a filter: the month's visits are an index range on
    ``visited_at``, and the rows on them are then reached through ``field``'s index, so the month
    costs its own rows, not the table's."""
    visit, inspection = Visit._meta.db_table, Inspection._meta.db_table
    ids = RawSQL(
        f"SELECT v.id FROM {visit} v JOIN {inspection} i ON i.id = v.inspection_id "
        f"WHERE i.campaign_id = %s AND v.visited_at >= %s AND v.visited_at < %s",
        (campaign.pk, start, end), output_field=IntegerField(),
    )
    return InArray(F(field), ids)


def month_visit_findings(campaign: Campaign, start: dt.datetime, end: dt.datetime):
    """Findings that cost field points in the month: on the month's visits, not
    voided or duplicate. They count with their visit, in the visit's month,
    whenever they were uploaded (DESIGN §6: a night inspection on the 31st
    uploaded on the 1st deducts in the visit's month). Reached through the
    month's visits (``month_visit_ids``)."""
    return Finding.objects.counting().filter(
        month_visit_ids(campaign, start, end))


def upto(field: str, length: int | None):
    """The unit path ``field`` cut at ``length`` (the longest ranked path): facts are grouped at the
    ranked depth, since a deeper unit's facts only ever count for its ranked ancestors."""
    return F(field) if length is None else Substr(field, 1, length)


def fetch(qs) -> list[dict]:
    """The rows of a ``values()`` queryset as dicts, straight from the cursor: the month's cells
    need none of the ORM's per-value converters (numbers come back as int or Decimal)."""
    sql, params = qs.query.get_compiler(connection=connection).as_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]


def criteria_mode(scheme: ScoringScheme) -> bool:
    return getattr(scheme, "field_mode", "") == ScoringScheme.FieldMode.CRITERIA


def scored_by_criteria(prefix: str = ""):
    """Exists: the visit (``prefix`` + ``visit_id`` on the outer row) has a judged criterion with points, so in
    ``criteria`` mode it scores by its checklist, not by deductions."""
    return Exists(VisitCheck.objects.filter(visit_id=OuterRef(f"{prefix}visit_id"), result__in=VisitCheck.SCORED,
                                            indicator__points__gt=0))


def criteria_visit_cells(campaign, scheme, start, end, length=None):
    """``criteria`` mode: per visit of the month with a judged criterion, its unit path, department and point
    type, the points at stake (criteria met or not met) and the points lost (not met; × the repeat factor when
    the same criterion was not met at the same point within the repeat window before). One grouped query."""
    earlier = VisitCheck.objects.filter(
        indicator_id=OuterRef("indicator_id"), result=VisitCheck.Result.FAILED,
        visit__point_id=OuterRef("visit__point_id"), visit__visited_at__lt=OuterRef("visit__visited_at"),
        visit__visited_at__gte=OuterRef("visit__visited_at") - dt.timedelta(days=scheme.repeat_window_days),
    )
    failed = Q(result=VisitCheck.Result.FAILED)
    lost = Case(
        When(failed & Exists(earlier), then=F("indicator__points") * Value(scheme.repeat_factor)),
        When(failed, then=F("indicator__points")), default=Value(ZERO), output_field=DEC,
    )
    return (
        VisitCheck.objects.filter(month_visit_ids(campaign, start, end),
                                  result__in=VisitCheck.SCORED)
        .order_by().annotate(upath=upto("visit__unit__path", length))
        .values("visit_id", "upath", "visit__point__department_id", "visit__point__point_type_id")
        .annotate(stake=Sum("indicator__points", output_field=DEC), lost=Sum(lost, output_field=DEC))
        .filter(stake__gt=0)
    )


def month_severe_cells(campaign: Campaign, start: dt.datetime, end: dt.datetime, length=None):
    """The tie-break's severe findings: every counting severe finding of the
    month in a unit's scope, from any source. A finding on a visit belongs to
    its visit's month; any other to the month it was observed in. Per
    (responsible unit path, supervising department). Both branches are index
    ranges (the month's visits; the campaign's findings observed in the month)."""
    in_month = (
        Q(month_visit_ids(campaign, start, end))
        | Q(visit__isnull=True, campaign=campaign, observed_at__gte=start, observed_at__lt=end)
    )
    return (
        Finding.objects.counting().filter(in_month, severity="severe").order_by()
        .annotate(upath=upto("unit__path", length))
        .values("upath", "department_id").annotate(n=Count("id"))
    )


def visit_cells(campaign, scheme, start, end, length=None) -> list[dict]:
    """Per (unit path, department, point type): the month's visits, the visits that lost points and
    Σ visit scores, a visit scoring ``max(0, 100 − Σ its deductions)`` (in ``criteria`` mode a visit
    scored by its checklist loses nothing here: criteria_visit_cells). One statement: the month's
    counting findings summed per visit (reached through the month's visits), joined to the visits."""
    _rep, deduction = finding_deduction(scheme)
    positive = [sev for sev in ("minor", "moderate", "severe") if scheme.severity_factor(sev) > 0]
    findings = month_visit_findings(campaign, start, end).order_by()
    if criteria_mode(scheme):
        findings = findings.exclude(scored_by_criteria())
    per_visit, per_visit_params = (
        findings.values("visit_id").annotate(
            lost=Sum(deduction, output_field=DEC),
            # A visit that lost points: one of its findings deducts (a category deduction and a severity factor > 0).
            lossy=Count("id", filter=Q(category__deduction__gt=0, severity__in=positive)))
        .query.get_compiler(connection=connection).as_sql())
    visits, visit_params = (
        month_visits(campaign, start, end).order_by()
        .annotate(upath=upto("unit__path", length))
        .values("id", "upath", "point__department_id", "point__point_type_id")
        .query.get_compiler(connection=connection).as_sql())
    sql = (
        f"SELECT mv.upath, mv.point__department_id, mv.point__point_type_id, COUNT(*) AS visits, "
        f"SUM(CASE WHEN pv.lossy > 0 THEN 1 ELSE 0 END) AS lossy, "
        f"SUM(CASE WHEN pv.lost > 100 THEN 0 ELSE 100 - COALESCE(pv.lost, 0) END) AS score "
        f"FROM ({visits}) mv LEFT JOIN ({per_visit}) pv ON pv.visit_id = mv.id "
        f"GROUP BY 1, 2, 3")
    with connection.cursor() as cursor:
        cursor.execute(sql, (*visit_params, *per_visit_params))
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]


def finding_cells(campaign, scheme, start, end, length=None):
    """Per (unit path, department, category, repeat?, checked?): findings and Σ deductions before the repeat
    factor, for the category breakdown and the finding counts (the visit scores come from visit_cells).
    Grouping by the repeat flag evaluates each finding's repeat rule once."""
    return (
        month_finding_rows(campaign, scheme).filter(month_visit_ids(campaign, start, end))
        .annotate(upath=upto("visit__unit__path", length))
        .values("upath", "visit__point__department_id", "category_id", "rep", "checked")
        .annotate(n=Count("id"), base=Sum("weighted", output_field=DEC))
    )


def month_finding_rows(campaign, scheme):
    """Counting findings (filter them to the month) with their repeat flag, checked flag (criteria
    mode), deduction before the repeat factor (``weighted``) and whether they cost points (``lossy``:
    a category deduction and a severity factor > 0)."""
    is_repeat, _deduction = finding_deduction(scheme)
    severity = Case(
        *[When(severity=s, then=Value(scheme.severity_factor(s))) for s in ("minor", "moderate", "severe")],
        default=Value(Decimal(1)), output_field=DEC,
    )
    positive = [sev for sev in ("minor", "moderate", "severe") if scheme.severity_factor(sev) > 0]
    lossy = (ExpressionWrapper(Q(category__deduction__gt=0, severity__in=positive), output_field=BooleanField())
             if positive else Value(False))
    by_criteria = scored_by_criteria() if criteria_mode(scheme) else Value(False)
    return (
        Finding.objects.counting().order_by()
        .annotate(rep=is_repeat, checked=by_criteria, lossy=lossy,
                  weighted=ExpressionWrapper(F("category__deduction") * severity, output_field=DEC))
    )


TASK_SQL = """
WITH t AS (
    SELECT {path} AS path, t.closed_at, COALESCE(x.previous_due_at, t.due_at) AS due_end, COALESCE(e.n, 0) AS rw
    FROM {task} t
    JOIN {unit} u ON u.id = t.unit_id
    LEFT JOIN (SELECT x.task_id, x.previous_due_at FROM {extension} x
               WHERE x.status = %(approved)s AND x.decided_at >= %(end)s
                 AND NOT EXISTS (SELECT 1 FROM {extension} y
                                 WHERE y.task_id = x.task_id AND y.status = %(approved)s AND y.decided_at >= %(end)s
                                   AND (y.decided_at < x.decided_at OR y.decided_at = x.decided_at AND y.id < x.id))
              ) x ON x.task_id = t.id
    LEFT JOIN (SELECT task_id, COUNT(*) AS n FROM {event} WHERE action = %(verify_fail)s AND created_at < %(end)s
               GROUP BY task_id) e ON e.task_id = t.id
    WHERE t.campaign_id = %(campaign)s AND t.dispatched_at < %(end)s AND t.status <> %(void)s
      AND (t.due_at >= %(start)s OR t.closed_at IS NULL OR t.closed_at >= %(start)s)
), c AS (
    SELECT path, rw, closed_at < %(end)s AS closed, closed_at < %(end)s AND closed_at <= due_end AS on_time,
           closed_at < %(end)s AND closed_at > due_end AS late
    FROM t
    WHERE (due_end >= %(start)s AND due_end < %(end)s)
       OR (due_end < %(start)s AND (closed_at IS NULL OR closed_at >= %(start)s))
)
SELECT path AS unit__path, COUNT(*) AS n, SUM(CASE WHEN on_time THEN 1 ELSE 0 END) AS on_time,
       SUM(CASE WHEN late THEN 1 ELSE 0 END) AS late, SUM(CASE WHEN closed THEN 0 ELSE 1 END) AS open,
       CAST(SUM(rw) AS BIGINT) AS reworks,
       SUM(CASE WHEN on_time AND rw < 4 THEN 1 - 0.25 * rw WHEN closed AND rw < 2 THEN 0.5 - 0.25 * rw ELSE 0 END)
           AS credit
FROM c GROUP BY path
"""


def task_facts(campaign, start, end, length=None):
    """The month's task facts per assigned unit path (cut at ``length``), as a
    list of dicts (tasks, on time, late, open, reworks, Σ credits). One pass.

    A task counts if its deadline as of the month's end falls in the month,
    or fell before it and the task was still open at the month's start.
    The deadline as of the end is ``due_at`` unless an extension approved
    after the end moved it (then it is the deadline that extension
    replaced: the earliest such decision's), and reworks are the verify-fail
    events before the end. Those few extensions and events are aggregated
    once and joined to the tasks by hash, with no lookup per task."""
    sql = TASK_SQL.format(
        task=RectificationTask._meta.db_table, unit=Unit._meta.db_table, extension=ExtensionRequest._meta.db_table,
        event=TaskEvent._meta.db_table, path="u.path" if length is None else f"substr(u.path, 1, {int(length)})")
    params = {"approved": ExtensionRequest.Status.APPROVED, "verify_fail": TaskEvent.Action.VERIFY_FAIL,
              "void": RectificationTask.Status.VOID, "campaign": campaign.pk,
              # As the ORM passes them (UTC text on SQLite).
              "start": connection.ops.adapt_datetimefield_value(start),
              "end": connection.ops.adapt_datetimefield_value(end)}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]


# --- the roll-up in SQL (PostgreSQL) -----------------------------------------------------------
#
# Each cell is added to every ranked unit it counts for. On PostgreSQL the database does it: each
# cell row is repeated once per owner key (its path cut at each ranked territorial depth, and
# 'd' || its supervising department), and the copies are grouped by key. Python then reads one
# row per (ranked unit, category or point type) instead of adding every cell to every owner, and
# the category breakdown arrives rounded and in its order. Sums stay exact (numeric), so the
# result equals the Python roll-up (_rollup_in_python, used elsewhere; a test compares both).


# False: the Python roll-up on PostgreSQL too (tests/scores/test_rollup_paths.py compares both).
ROLLUP_IN_SQL = True


def _owner_keys(levels: list[int], path: str, department: str) -> str:
    """An SQL ``unnest(ARRAY[…])`` of the owner keys of a cell whose path is ``path`` and
    department ``department``: the path cut at each of ``levels`` it reaches, and 'd' || the
    department (NULL keys are dropped by the caller)."""
    keys = [f"CASE WHEN length({path}) >= {int(n)} THEN substr({path}, 1, {int(n)}) END" for n in levels]
    keys.append(f"'d' || {department}")
    return f"unnest(ARRAY[{', '.join(keys)}]::text[])"


ROLLUP_SQL = """
WITH mv AS MATERIALIZED ({visits}),
f AS MATERIALIZED (
    SELECT r.visit_id, r.category_id, r.rep, r.checked, r.lossy,
           CASE WHEN r.rep THEN r.weighted * %s ELSE r.weighted END AS ded
    FROM ({findings}) r
),
pv AS (
    SELECT f.visit_id, SUM(f.ded) AS lost, COUNT(*) FILTER (WHERE f.lossy) AS lossy
    FROM f WHERE NOT f.checked GROUP BY f.visit_id
), vo AS (
    SELECT k.key, mv.point__point_type_id AS id, COUNT(*) AS n, COUNT(*) FILTER (WHERE pv.lossy > 0) AS lossy,
           SUM(CASE WHEN pv.lost > 100 THEN 0 ELSE 100 - COALESCE(pv.lost, 0) END) AS score
    FROM mv LEFT JOIN pv ON pv.visit_id = mv.id CROSS JOIN LATERAL {keys} AS k(key)
    WHERE k.key IS NOT NULL
    GROUP BY 1, 2
), fo AS (
    SELECT k.key, f.category_id, GROUPING(f.category_id) AS whole, COUNT(*) AS n,
           COUNT(*) FILTER (WHERE f.rep) AS repeats,
           SUM(CASE WHEN f.checked THEN 0 ELSE f.ded END) AS ded
    FROM f JOIN mv ON mv.id = f.visit_id CROSS JOIN LATERAL {keys} AS k(key)
    WHERE k.key IS NOT NULL
    GROUP BY GROUPING SETS ((k.key, f.category_id), (k.key))
)
SELECT u.part, u.key, u.id, u.n, u.b, u.s, CAST(u.rounded AS text), u.name FROM (
    SELECT 0 AS part, key, id, n, n - lossy AS b, score AS s, NULL::numeric AS rounded, NULL::text AS name FROM vo
    UNION ALL
    SELECT 1 + fo.whole, fo.key, fo.category_id, fo.n, fo.repeats, CASE WHEN fo.whole = 1 THEN fo.ded END,
           CASE WHEN fo.whole = 0 THEN ROUND(fo.ded, 2) END, CAST(COALESCE(fc.name, '') AS text)
    FROM fo LEFT JOIN {category} fc ON fc.id = fo.category_id
) u
ORDER BY u.part, u.rounded DESC, u.name COLLATE "C", u.id
"""


def _rollup_in_sql(campaign, scheme, start, end, length, levels, owner_of: dict) -> None:
    """Adds the month's visits and findings to the ranked units' accumulators (``owner_of``: owner
    key → Acc) in one statement: the month's visits (with their unit path cut at ``length``,
    department and point type) and their counting findings are read once; the findings are
    summed per visit (the visit scores) and per category; both are grouped by owner key."""
    visits, visit_params = (
        month_visits(campaign, start, end).order_by()
        .annotate(upath=upto("unit__path", length))
        .values("id", "upath", "point__department_id", "point__point_type_id")
        .query.get_compiler(connection=connection).as_sql())
    findings, finding_params = (
        month_finding_rows(campaign, scheme).filter(month_visit_ids(campaign, start, end))
        .values("visit_id", "category_id", "rep", "checked", "lossy", "weighted")
        .query.get_compiler(connection=connection).as_sql())
    sql = ROLLUP_SQL.format(visits=visits, findings=findings, category=FindingCategory._meta.db_table,
                            keys=_owner_keys(levels, "mv.upath", "mv.point__department_id"))
    for a in owner_of.values():
        a.categories_json = []
    heads: dict[int, str] = {}  # category → the start of its breakdown entry as JSON
    with connection.cursor() as cursor:
        cursor.execute(sql, (*visit_params, scheme.repeat_factor, *finding_params))
        for part, key, pk, n, b, total, rounded, name in cursor.fetchall():
            a = owner_of.get(key)
            if a is None:
                continue
            if part == 0:  # visits per point type: visits, clean visits, Σ visit scores
                a.types[pk] = [n, b, total]
            elif part == 1:  # in the breakdown's order (the rows' order): deduction (rounded) descending, then name
                deduction = rounded  # ROUND(…, 2) as text: str(q2(Σ deductions))
                a.categories.append({"id": pk, "name": name, "findings": n, "deduction": deduction})
                head = heads.get(pk)
                if head is None:
                    head = heads[pk] = f'{{"id":{int(pk)},"name":{_json(name)},"findings":'
                a.categories_json.append(f'{head}{int(n)},"deduction":"{deduction}"}}')
            else:  # the unit's finding totals (the grouping set without the category)
                a.findings, a.repeats, a.deduction = n, b, total


_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


# --- the roll-up and the scores ---------------------------------------------------------------


@dataclass
class Acc:
    """What one ranked unit collects from the cells."""

    types: dict = field(default_factory=lambda: defaultdict(lambda: [0, 0, ZERO]))  # type → [visits, clean, Σscore]
    cats: dict = field(default_factory=lambda: defaultdict(lambda: [0, ZERO]))  # category → [findings, Σdeduction]
    categories: list = field(default_factory=list)  # the breakdown's categories, in order (from cats)
    categories_json: list | None = None  # the same as JSON texts, when the roll-up wrote them (in SQL)
    breakdown_json: str | None = None  # then the whole breakdown as JSON (_score)
    deduction: Decimal = ZERO  # Σ deductions over the categories
    findings: int = 0
    severe: int = 0
    repeats: int = 0
    tasks: int = 0
    on_time: int = 0
    late: int = 0
    open: int = 0
    reworks: int = 0
    credit: Decimal = ZERO
    survey: list = field(default_factory=lambda: [None, 0, ZERO])  # [own, subtree count, subtree Σ]
    materials: list = field(default_factory=lambda: [None, 0, ZERO])
    bonus: Decimal = ZERO
    penalty: Decimal = ZERO


@dataclass
class Result:
    unit_id: int
    kind: str
    values: dict
    # ``values["breakdown"]`` as compact JSON, when the computation wrote it as it went (PostgreSQL):
    # the upsert stores it as it is instead of encoding the breakdown again.
    breakdown_json: str | None = None


def _prefixes(path: str, steplen: int = Unit.steplen):
    for end in range(steplen, len(path) + 1, steplen):
        yield path[:end]


def compute(campaign: Campaign, month: dt.date, scheme: ScoringScheme, *,
            last_month: dt.date | None = None) -> list[Result]:
    """Scores, ranks and list flags of every active unit of a ranked kind, for ``month`` or —
    with ``last_month`` — for the months from ``month`` to ``last_month`` as one period
    (a quarter, half-year or year: docs/scores.md, "Periods")."""
    # No savepoint when called inside a transaction (the recompute): only SET LOCAL needs one.
    with transaction.atomic(savepoint=False), no_gc():
        if connection.vendor == "postgresql":
            # The aggregates are estimated as costly enough for PostgreSQL's JIT, whose compilation
            # then takes longer than the queries themselves (seconds at bench-1M); this is batch work.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")
        return _compute(campaign, month, scheme, last_month or month)


@contextmanager
def no_gc():
    """The cyclic garbage collector paused: the computation allocates tens of thousands of small
    dicts, lists and Decimals (none in cycles), and each few hundred allocations made the collector
    walk the young objects again — about a third of the computation's Python time at a tenth of
    bench-1M. Everything is freed by reference counting as usual; the collector resumes after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _months(first: dt.date, last: dt.date) -> list[dt.date]:
    months = [first]
    while months[-1] < last:
        months.append(next_month(months[-1]))
    return months


def _entered_for(attr: str, campaign: Campaign, months: list[dt.date]) -> dict:
    """A unit's own S or M for the months: per month the entered value, else the computed one;
    over several months the mean of the months the unit has a value for."""
    model = SurveyScore if attr == "survey" else MaterialsScore
    sums: dict[str, list] = {}
    for month in months:
        values = DERIVED[attr](campaign, month)
        values.update(model.objects.filter(campaign=campaign, month=month).values_list("unit__path", "score"))
        if len(months) == 1:
            return values
        for path, score in values.items():
            slot = sums.setdefault(path, [0, ZERO])
            slot[0] += 1
            slot[1] += _dec(score)
    return {path: total / n for path, (n, total) in sums.items()}


def _compute(campaign: Campaign, month: dt.date, scheme: ScoringScheme, last_month: dt.date) -> list[Result]:
    start, end = month_bounds(month)[0], month_bounds(last_month)[1]
    months = _months(month, last_month)
    units = list(
        Unit.objects.filter(kind__in=scheme.ranked_kinds, active=True).order_by()
        .values_list("id", "path", "kind")
    )
    by_path: dict[str, int] = {}
    acc: dict[int, Acc] = {}
    kind_of: dict[int, str] = {}
    departments: set[int] = set()
    for pk, path, kind in units:
        acc[pk], kind_of[pk] = Acc(), kind
        by_path[path] = pk
        if kind == Unit.Kind.DEPARTMENT:
            departments.add(pk)

    def territorial(path):
        """Ranked territorial units whose subtree holds ``path``."""
        for prefix in _prefixes(path):
            pk = by_path.get(prefix)
            if pk is not None and pk not in departments:
                yield acc[pk]

    # Facts are grouped at the ranked depth: the longest path of a ranked unit.
    length = max((len(path) for _pk, path, _kind in units), default=None)
    owner_cache: dict = {}

    def owners(path, department_id):
        """Ranked units a fact at ``path`` supervised by ``department_id`` counts for (cached: cells repeat)."""
        key = (path, department_id)
        found = owner_cache.get(key)
        if found is None:
            found = list(territorial(path))
            if department_id in departments:
                found.append(acc[department_id])
            owner_cache[key] = found
        return found

    # Visits, clean visits and Σ visit scores (each visit max(0, 100 − Σ its deductions)); findings,
    # repeats and deductions per category.
    if connection.vendor == "postgresql" and ROLLUP_IN_SQL:
        owner_of = {path: acc[pk] for path, pk in by_path.items() if pk not in departments}
        owner_of.update((f"d{pk}", acc[pk]) for pk in departments)
        levels = sorted({len(path) for path, pk in by_path.items() if pk not in departments})
        _rollup_in_sql(campaign, scheme, start, end, length, levels, owner_of)
    else:
        _rollup_in_python(campaign, scheme, start, end, length, owners)
    if criteria_mode(scheme):
        # A checked visit scores 100 × (stake − lost) / stake, never below 0 (docs/scores.md).
        for cell in fetch(criteria_visit_cells(campaign, scheme, start, end, length)):
            loss = min(HUNDRED, HUNDRED * _dec(cell["lost"]) / _dec(cell["stake"]))
            for a in owners(cell["upath"], cell["visit__point__department_id"]):
                t = a.types[cell["visit__point__point_type_id"]]
                t[2] -= loss
                t[1] -= 1 if loss > 0 else 0
    _collect_severe(campaign, start, end, acc, by_path, departments, length)
    for cell in task_facts(campaign, start, end, length):
        for prefix in _prefixes(cell["unit__path"]):
            pk = by_path.get(prefix)
            if pk is None:
                continue
            a = acc[pk]
            a.tasks += cell["n"]
            a.on_time += cell["on_time"]
            a.late += cell["late"]
            a.open += cell["open"]
            a.reworks += cell["reworks"] or 0
            a.credit += _dec(cell["credit"])
    for attr in ("survey", "materials"):
        # Computed from survey answers / materials reviews; an entered score overrides it (with a reason).
        scores_by_path = _entered_for(attr, campaign, months)
        for path, score in scores_by_path.items():
            for prefix in _prefixes(path):
                pk = by_path.get(prefix)
                if pk is None:
                    continue
                slot = getattr(acc[pk], attr)
                if prefix == path:
                    slot[0] = _dec(score)
                else:
                    slot[1] += 1
                    slot[2] += _dec(score)
    adjustments = (
        ScoreAdjustment.objects.filter(campaign=campaign, month__in=months, withdrawn_at__isnull=True, unit_id__in=acc)
        .order_by().values("unit_id", "kind").annotate(points=Sum("points"))
    )
    for row in adjustments:
        a = acc[row["unit_id"]]
        if row["kind"] == ScoreAdjustment.Kind.BONUS:
            a.bonus += _dec(row["points"])
        else:
            a.penalty += _dec(row["points"])

    # Per point type (id, name, weight as Decimal and as text) and per kind the component weights: once.
    point_types = {pk: (name, _dec(weight), str(_dec(weight)),
                        f'{{"id":{int(pk)},"name":{_json(name)},"weight":"{_dec(weight)}","visits":')
                   for pk, name, weight in PointType.objects.values_list("id", "name", "weight")}
    weights = {kind: scheme.weights_for(kind) for kind in set(kind_of.values())}
    results = [Result(pk, kind_of[pk], _score(a, weights[kind_of[pk]], point_types), a.breakdown_json)
               for pk, a in acc.items()]
    _rank(results, scheme)
    return results


def _rollup_in_python(campaign, scheme, start, end, length, owners) -> None:
    """What _rollup_in_sql does, in Python (databases without GROUPING SETS): each cell added to
    each of its ``owners(path, department_id)``."""
    for cell in visit_cells(campaign, scheme, start, end, length):
        score = _dec(cell["score"])
        for a in owners(cell["upath"], cell["point__department_id"]):
            t = a.types[cell["point__point_type_id"]]
            t[0] += cell["visits"]
            t[1] += cell["visits"] - cell["lossy"]
            t[2] += score
    touched = {}
    for cell in fetch(finding_cells(campaign, scheme, start, end, length)):
        # A visit scored by its checklist (criteria mode) counts its findings but loses no deductions.
        ded = ZERO if cell["checked"] else _dec(cell["base"]) * (scheme.repeat_factor if cell["rep"] else 1)
        for a in owners(cell["upath"], cell["visit__point__department_id"]):
            c = a.cats[cell["category_id"]]
            c[0] += cell["n"]
            c[1] += ded
            a.findings += cell["n"]
            a.repeats += cell["n"] if cell["rep"] else 0
            touched[id(a)] = a
    names = dict(FindingCategory.objects.filter(pk__in={c for a in touched.values() for c in a.cats})
                 .values_list("id", "name"))
    for a in touched.values():
        cats = sorted(((q2(d), names.get(cid, ""), cid, n) for cid, (n, d) in a.cats.items()),
                      key=lambda c: (-c[0], c[1], c[2]))
        a.categories = [{"id": cid, "name": name, "findings": n, "deduction": str(d)} for d, name, cid, n in cats]
        a.deduction = sum((d for _n, d in a.cats.values()), ZERO)


def _collect_severe(campaign, start, end, acc: dict, by_path: dict, departments: set, length=None) -> None:
    """Adds each unit's severe findings of the month (any source) to ``severe``:
    a territorial unit's from its subtree, a department's from the places it
    supervises and what is assigned to it."""
    for cell in fetch(month_severe_cells(campaign, start, end, length)):
        owners = {by_path[p] for p in _prefixes(cell["upath"] or "") if p in by_path}
        if cell["department_id"] in departments:
            owners.add(cell["department_id"])
        for pk in owners:
            acc[pk].severe += cell["n"]


def _entered(slot) -> tuple[Decimal | None, bool]:
    own, count, total = slot
    if own is not None:
        return own, False
    if count:
        return total / count, True
    return None, False


def _score(a: Acc, weights: dict, point_types: dict) -> dict:
    """A unit's values from what it collected (``point_types``: id → (name, weight, weight as text, the start
    of its breakdown entry as JSON))."""
    # F: weighted mean over the point types visited of the mean visit score per type.
    num = den = ZERO
    visits = clean = 0
    types = []
    types_json = []
    for type_id, (n, c, total) in sorted(a.types.items()):
        mean = total / n
        name, w, w_text, head = point_types.get(type_id) or (
            "", ZERO, str(ZERO), f'{{"id":{int(type_id)},"name":"","weight":"{ZERO}","visits":')
        num += w * mean
        den += w
        visits += n
        clean += c
        mean_text = str(mean.quantize(TWO, rounding=ROUND_HALF_UP))  # q2
        types.append({"id": type_id, "name": name, "weight": w_text, "visits": n, "mean": mean_text})
        if a.categories_json is not None:
            types_json.append(f'{head}{int(n)},"mean":"{mean_text}"}}')
    if a.categories_json is not None:
        a.breakdown_json = (f'{{"point_types":[{",".join(types_json)}],'
                            f'"categories":[{",".join(a.categories_json)}]}}')
    field_score = num / den if den > 0 else None
    rect = HUNDRED * a.credit / a.tasks if a.tasks else None
    survey, survey_sub = _entered(a.survey)
    materials, materials_sub = _entered(a.materials)
    present = {"F": field_score, "R": rect, "S": survey, "M": materials}
    base = total = None
    if field_score is not None:
        wsum = sum((weights[c] for c, v in present.items() if v is not None), ZERO)
        base = sum((weights[c] * v for c, v in present.items() if v is not None), ZERO) / wsum
        total = q2(min(HUNDRED, max(ZERO, base + a.bonus - a.penalty)))
    return {
        "field_score": q2(field_score), "rectification_score": q2(rect), "survey_score": q2(survey),
        "materials_score": q2(materials), "survey_from_subtree": survey_sub, "materials_from_subtree": materials_sub,
        "base_score": q2(base), "bonus": q2(a.bonus), "penalty": q2(a.penalty), "total": total,
        "visit_count": visits, "clean_visit_count": clean, "finding_count": a.findings,
        "severe_finding_count": a.severe, "repeat_finding_count": a.repeats,
        "deduction_total": q2(a.deduction),
        "task_count": a.tasks, "task_on_time_count": a.on_time, "task_late_count": a.late,
        "task_open_count": a.open, "rework_count": a.reworks,
        "breakdown": {"point_types": types, "categories": a.categories},
    }


def _key(v: dict) -> tuple:
    """The order of the keys that compare in every pair: total, then F (higher first)."""
    return (v["total"], v["field_score"])


def _compare(a: dict, b: dict) -> int:
    """1 if ``a`` ranks above ``b``, -1 if below, 0 if they tie (DESIGN §6): higher
    total, then higher F, then higher R — compared only when both have an R —
    then fewer severe findings of the month."""
    for x, y in ((a["total"], b["total"]), (a["field_score"], b["field_score"])):
        if x != y:
            return 1 if x > y else -1
    ra, rb = a["rectification_score"], b["rectification_score"]
    if ra is not None and rb is not None and ra != rb:
        return 1 if ra > rb else -1
    sa, sb = a["severe_finding_count"], b["severe_finding_count"]
    if sa != sb:
        return 1 if sa < sb else -1
    return 0


def _positions(members: list[Result]) -> list[tuple[int, int]]:
    """(rank, bottom) per member, already sorted by ``_key`` (highest first): rank =
    1 + units strictly above, bottom = 1 + units strictly below (ties share
    both). Units equal on total and F are compared pairwise, since "R only
    when both have one" is not a sort key."""
    n = len(members)
    out: list[tuple[int, int]] = []
    i = 0
    while i < n:
        j = i
        while j + 1 < n and _key(members[j + 1].values) == _key(members[i].values):
            j += 1
        block = members[i:j + 1]
        for r in block:
            above = sum(1 for o in block if o is not r and _compare(o.values, r.values) > 0)
            below = sum(1 for o in block if o is not r and _compare(o.values, r.values) < 0)
            out.append((i + above + 1, (n - j - 1) + below + 1))
        i = j + 1
    return out


def black_listed(scheme: ScoringScheme, *, total: Decimal, bottom: int, n: int, k: int, best: Decimal) -> bool:
    """Black list: a total below the floor (70), or — in a group of at least
    three — the bottom k among the units below the bottom-list ceiling (90),
    ties at the boundary included, but never a unit tied with the group's
    best total (a group where everyone ties has no bottom)."""
    if total < scheme.black_below_total:
        return True
    return (n >= scheme.black_bottom_min_group and bottom <= k and total < scheme.bottom_list_ceiling
            and total != best)


def _rank(results: list[Result], scheme: ScoringScheme) -> None:
    """Competition ranking (1, 2, 2, 4) per peer group, then the lists."""
    groups: dict[str, list[Result]] = defaultdict(list)
    bands = scheme.bands()  # ScoringScheme.grade_for, with the bands read once

    def grade_for(total):
        return "" if total is None else next((grade for grade, minimum in bands if total >= minimum), "")

    for r in results:
        r.values.update(rank=None, ranked_count=0, list_flag=ListFlag.NONE, grade=grade_for(r.values["total"]))
        if r.values["total"] is not None:
            groups[r.kind].append(r)
    for members in groups.values():
        n = len(members)
        k = max(1, math.ceil(n * scheme.list_share))
        members.sort(key=lambda r: _key(r.values), reverse=True)
        best = members[0].values["total"]
        for r, (rank, bottom) in zip(members, _positions(members)):
            total = r.values["total"]
            black = black_listed(scheme, total=total, bottom=bottom, n=n, k=k, best=best)
            red = not black and rank <= k and total >= scheme.red_min_total
            r.values.update(rank=rank, ranked_count=n,
                            list_flag=ListFlag.BLACK if black else ListFlag.RED if red else ListFlag.NONE)
