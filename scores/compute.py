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
import math
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import (
    Case, Count, DecimalField, Exists, F, IntegerField, OuterRef, Q, Subquery, Sum, Value, When,
)
from django.db.models.functions import Greatest

from campaigns.models import Campaign, PointType, Unit
from inspections.models import (
    ExtensionRequest, Finding, FindingCategory, RectificationTask, TaskEvent, Visit, VisitCheck,
)

from .models import HUNDRED, ListFlag, MaterialsScore, ScoreAdjustment, ScoringScheme, SurveyScore, next_month, q2
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
    earlier = Finding.objects.counting().filter(
        point_id=OuterRef(f"{p}point_id"), category_id=OuterRef(f"{p}category_id"),
        observed_at__lt=OuterRef(f"{p}observed_at"),
        observed_at__gte=OuterRef(f"{p}observed_at") - dt.timedelta(days=scheme.repeat_window_days),
    )
    is_repeat = Exists(earlier)
    severity = Case(
        *[When(**{f"{p}severity": s}, then=Value(scheme.severity_factor(s))) for s in ("minor", "moderate", "severe")],
        default=Value(Decimal(1)), output_field=DEC,
    )
    repeat = Case(When(is_repeat, then=Value(scheme.repeat_factor)), default=Value(Decimal(1)), output_field=DEC)
    return is_repeat, F(f"{p}category__deduction") * severity * repeat


def month_visits(campaign: Campaign, start: dt.datetime, end: dt.datetime):
    return Visit.objects.filter(inspection__campaign=campaign, visited_at__gte=start, visited_at__lt=end)


def month_visit_findings(campaign: Campaign, start: dt.datetime, end: dt.datetime):
    """Findings that cost field points in the month: on the month's visits, not
    voided or duplicate. They count with their visit, in the visit's month,
    whenever they were uploaded (DESIGN §6: a night inspection on the 31st
    uploaded on the 1st deducts in the visit's month)."""
    return Finding.objects.counting().filter(
        visit__inspection__campaign=campaign, visit__visited_at__gte=start, visit__visited_at__lt=end,
    )


def criteria_mode(scheme: ScoringScheme) -> bool:
    return getattr(scheme, "field_mode", "") == ScoringScheme.FieldMode.CRITERIA


def scored_by_criteria(prefix: str = ""):
    """Exists: the visit (``prefix`` + ``visit_id`` on the outer row) has a judged criterion with points, so in
    ``criteria`` mode it scores by its checklist, not by deductions."""
    return Exists(VisitCheck.objects.filter(visit_id=OuterRef(f"{prefix}visit_id"), result__in=VisitCheck.SCORED,
                                            indicator__points__gt=0))


def criteria_visit_cells(campaign, scheme, start, end):
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
        VisitCheck.objects.filter(visit__inspection__campaign=campaign, visit__visited_at__gte=start,
                                  visit__visited_at__lt=end, result__in=VisitCheck.SCORED)
        .order_by().values("visit_id", "visit__unit__path", "visit__point__department_id",
                           "visit__point__point_type_id")
        .annotate(stake=Sum("indicator__points", output_field=DEC), lost=Sum(lost, output_field=DEC))
        .filter(stake__gt=0)
    )


def month_severe_cells(campaign: Campaign, start: dt.datetime, end: dt.datetime):
    """The tie-break's severe findings: every counting severe finding of the
    month in a unit's scope, from any source. A finding on a visit belongs to
    its visit's month; any other to the month it was observed in. Per
    (responsible unit path, supervising department)."""
    in_month = (
        Q(visit__isnull=False, visit__inspection__campaign=campaign, visit__visited_at__gte=start,
          visit__visited_at__lt=end)
        | Q(visit__isnull=True, campaign=campaign, observed_at__gte=start, observed_at__lt=end)
    )
    return (
        Finding.objects.counting().filter(in_month, severity="severe").order_by()
        .values("unit__path", "department_id").annotate(n=Count("id"))
    )


def visit_cells(campaign, scheme, start, end):
    """Per (unit path, department, point type): visits, and visits that lost points."""
    return (
        month_visits(campaign, start, end).order_by()
        .values("unit__path", "point__department_id", "point__point_type_id")
        .annotate(visits=Count("id"))
    )


def lossy_visit_cells(campaign, scheme, start, end):
    """Per (unit path, department, point type): visits with a finding that deducts points."""
    positive = [sev for sev in ("minor", "moderate", "severe") if scheme.severity_factor(sev) > 0]
    findings = month_visit_findings(campaign, start, end)
    if criteria_mode(scheme):  # visits scored by their checklist lose points there (criteria_visit_cells)
        findings = findings.exclude(scored_by_criteria())
    return (
        findings.filter(category__deduction__gt=0, severity__in=positive)
        .order_by().values("visit__unit__path", "visit__point__department_id", "visit__point__point_type_id")
        .annotate(lossy=Count("visit_id", distinct=True))
    )


def finding_cells(campaign, scheme, start, end):
    """Per (unit path, department, point type, category, repeat?): findings, severe, Σ deductions before the
    repeat factor. Grouping by the repeat flag evaluates each finding's repeat lookup once."""
    is_repeat, _deduction = finding_deduction(scheme)
    severity = Case(
        *[When(severity=s, then=Value(scheme.severity_factor(s))) for s in ("minor", "moderate", "severe")],
        default=Value(Decimal(1)), output_field=DEC,
    )
    by_criteria = scored_by_criteria() if criteria_mode(scheme) else Value(False)
    return (
        month_visit_findings(campaign, start, end).order_by()
        .annotate(rep=is_repeat, checked=by_criteria)
        .values("visit__unit__path", "visit__point__department_id", "visit__point__point_type_id", "category_id",
                "rep", "checked")
        .annotate(
            n=Count("id"),
            severe=Count("id", filter=Q(severity="severe")),
            base=Sum(F("category__deduction") * severity, output_field=DEC),
        )
    )


def overflow_cells(campaign, scheme, start, end):
    """Visits whose deductions pass 100 (they score 0, not below): per visit,
    Σ deductions − 100. Only visits that could pass 100 even without the
    repeat check are looked at closely, so the repeat lookups run for few findings."""
    _rep, deduction = finding_deduction(scheme)
    most = max(scheme.severity_factor(s) for s in ("minor", "moderate", "severe")) * scheme.repeat_factor
    findings = month_visit_findings(campaign, start, end).order_by()
    if criteria_mode(scheme):
        findings = findings.exclude(scored_by_criteria())
    candidates = (
        findings.values("visit_id").annotate(bound=Sum(F("category__deduction") * Value(most), output_field=DEC))
        .filter(bound__gt=HUNDRED).values("visit_id")
    )
    return (
        findings.filter(visit_id__in=candidates)
        .values("visit_id", "visit__unit__path", "visit__point__department_id", "visit__point__point_type_id")
        .annotate(d=Sum(deduction, output_field=DEC)).filter(d__gt=HUNDRED)
    )


def task_facts(campaign, start, end):
    """The month's task facts per assigned unit path, as a list of dicts
    (tasks, on time, late, open, reworks, Σ credits).

    A task counts if its deadline as of the month's end falls in the month,
    or fell before it and the task was still open at the month's start.
    The deadline as of the end is ``due_at`` unless an extension approved
    after the end moved it (then it is the deadline that extension
    replaced), and reworks are the verify-fail events before the end. Few
    tasks have either, so the tasks are aggregated in four groups — with or
    without a later extension × with or without reworks — and the
    per-task lookups run only for the tasks that need them."""
    later_ext = ExtensionRequest.objects.filter(
        task_id=OuterRef("pk"), status=ExtensionRequest.Status.APPROVED, decided_at__gte=end)
    events = TaskEvent.objects.filter(task_id=OuterRef("pk"), action=TaskEvent.Action.VERIFY_FAIL, created_at__lt=end)
    due_before_ext = later_ext.order_by("decided_at", "id").values("previous_due_at")[:1]
    rework_count = events.order_by().values("task_id").annotate(c=Count("id")).values("c")
    base = (
        # The task's own campaign column (a copy of its finding's): no join to the findings table.
        RectificationTask.objects.filter(campaign=campaign, dispatched_at__lt=end)
        .exclude(status=RectificationTask.Status.VOID)
        # Necessary for either case below (due_at is never before the deadline as of the end): keeps the
        # per-task lookups to the tasks that can count.
        .filter(Q(due_at__gte=start) | Q(closed_at__isnull=True) | Q(closed_at__gte=start))
        .order_by()
    )
    cells = []
    for extended in (False, True):
        for reworked in (False, True):
            qs = base.filter(Exists(later_ext) if extended else ~Exists(later_ext))
            qs = qs.filter(Exists(events) if reworked else ~Exists(events))
            due = Subquery(due_before_ext) if extended else F("due_at")
            reworks = Subquery(rework_count, output_field=IntegerField()) if reworked else Value(0)
            cells.extend(_task_cells(qs.annotate(due_end=due, rw=reworks), start, end))
    return cells


def _task_cells(qs, start, end):
    closed = Q(closed_at__lt=end)
    on_time = closed & Q(closed_at__lte=F("due_end"))
    credit = Case(When(on_time, then=Value(Decimal(1))), When(closed, then=Value(Decimal("0.5"))),
                  default=Value(ZERO), output_field=DEC)
    return (
        qs.filter(Q(due_end__gte=start, due_end__lt=end)
                  | Q(due_end__lt=start) & (Q(closed_at__isnull=True) | Q(closed_at__gte=start)))
        .values("unit__path")
        .annotate(
            n=Count("id"),
            on_time=Count("id", filter=on_time),
            late=Count("id", filter=closed & Q(closed_at__gt=F("due_end"))),
            open=Count("id", filter=~closed),
            reworks=Sum("rw"),
            credit=Sum(Greatest(credit - Value(Decimal("0.25")) * F("rw"), Value(ZERO), output_field=DEC),
                       output_field=DEC),
        )
    )


# --- the roll-up and the scores ---------------------------------------------------------------


@dataclass
class Acc:
    """What one ranked unit collects from the cells."""

    types: dict = field(default_factory=lambda: defaultdict(lambda: [0, 0, ZERO]))  # type → [visits, clean, Σscore]
    cats: dict = field(default_factory=lambda: defaultdict(lambda: [0, ZERO]))  # category → [findings, Σdeduction]
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


def _prefixes(path: str, steplen: int = Unit.steplen):
    for end in range(steplen, len(path) + 1, steplen):
        yield path[:end]


def compute(campaign: Campaign, month: dt.date, scheme: ScoringScheme) -> list[Result]:
    """Scores, ranks and list flags of every active unit of a ranked kind."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # The aggregates are estimated as costly enough for PostgreSQL's JIT, whose compilation
            # then takes longer than the queries themselves (seconds at bench-1M); this is batch work.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")
        return _compute(campaign, month, scheme)


def _compute(campaign: Campaign, month: dt.date, scheme: ScoringScheme) -> list[Result]:
    start, end = month_bounds(month)
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

    # Σ visit scores = 100 × visits − Σ deductions + Σ (deductions beyond 100 on a visit).
    for cell in visit_cells(campaign, scheme, start, end):
        for a in owners(cell["unit__path"], cell["point__department_id"]):
            t = a.types[cell["point__point_type_id"]]
            t[0] += cell["visits"]
            t[1] += cell["visits"]
            t[2] += HUNDRED * cell["visits"]
    for cell in lossy_visit_cells(campaign, scheme, start, end):
        for a in owners(cell["visit__unit__path"], cell["visit__point__department_id"]):
            a.types[cell["visit__point__point_type_id"]][1] -= cell["lossy"]
    for cell in finding_cells(campaign, scheme, start, end):
        # A visit scored by its checklist (criteria mode) counts its findings but loses no deductions.
        ded = ZERO if cell["checked"] else _dec(cell["base"]) * (scheme.repeat_factor if cell["rep"] else 1)
        for a in owners(cell["visit__unit__path"], cell["visit__point__department_id"]):
            a.types[cell["visit__point__point_type_id"]][2] -= ded
            c = a.cats[cell["category_id"]]
            c[0] += cell["n"]
            c[1] += ded
            a.findings += cell["n"]
            a.repeats += cell["n"] if cell["rep"] else 0
    if criteria_mode(scheme):
        # A checked visit scores 100 × (stake − lost) / stake, never below 0 (docs/scores.md).
        for cell in criteria_visit_cells(campaign, scheme, start, end):
            loss = min(HUNDRED, HUNDRED * _dec(cell["lost"]) / _dec(cell["stake"]))
            for a in owners(cell["visit__unit__path"], cell["visit__point__department_id"]):
                t = a.types[cell["visit__point__point_type_id"]]
                t[2] -= loss
                t[1] -= 1 if loss > 0 else 0
    _collect_severe(campaign, start, end, acc, by_path, departments)
    for cell in overflow_cells(campaign, scheme, start, end):
        for a in owners(cell["visit__unit__path"], cell["visit__point__department_id"]):
            a.types[cell["visit__point__point_type_id"]][2] += _dec(cell["d"]) - HUNDRED
    for cell in task_facts(campaign, start, end):
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
    for model, attr in ((SurveyScore, "survey"), (MaterialsScore, "materials")):
        # Computed from survey answers / materials reviews; an entered score overrides it (with a reason).
        scores_by_path = DERIVED[attr](campaign, month)
        scores_by_path.update(model.objects.filter(campaign=campaign, month=month).values_list("unit__path", "score"))
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
        ScoreAdjustment.objects.filter(campaign=campaign, month=month, withdrawn_at__isnull=True, unit_id__in=acc)
        .order_by().values("unit_id", "kind").annotate(points=Sum("points"))
    )
    for row in adjustments:
        a = acc[row["unit_id"]]
        if row["kind"] == ScoreAdjustment.Kind.BONUS:
            a.bonus += _dec(row["points"])
        else:
            a.penalty += _dec(row["points"])

    weights_t = dict(PointType.objects.values_list("id", "weight"))
    names_t = dict(PointType.objects.values_list("id", "name"))
    cat_ids = {c for a in acc.values() for c in a.cats}
    names_c = dict(FindingCategory.objects.filter(pk__in=cat_ids).values_list("id", "name"))
    results = [
        Result(pk, kind_of[pk], _score(a, scheme.weights_for(kind_of[pk]), weights_t, names_t, names_c))
        for pk, a in acc.items()
    ]
    _rank(results, scheme)
    return results


def _collect_severe(campaign, start, end, acc: dict, by_path: dict, departments: set) -> None:
    """Adds each unit's severe findings of the month (any source) to ``severe``:
    a territorial unit's from its subtree, a department's from the places it
    supervises and what is assigned to it."""
    for cell in month_severe_cells(campaign, start, end):
        owners = {by_path[p] for p in _prefixes(cell["unit__path"] or "") if p in by_path}
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


def _score(a: Acc, weights: dict, weights_t: dict, names_t: dict, names_c: dict) -> dict:
    # F: weighted mean over the point types visited of the mean visit score per type.
    num = den = ZERO
    visits = clean = 0
    types = []
    for type_id, (n, c, total) in sorted(a.types.items()):
        mean = total / n
        w = _dec(weights_t.get(type_id))
        num += w * mean
        den += w
        visits += n
        clean += c
        types.append({"id": type_id, "name": names_t.get(type_id, ""), "weight": str(w), "visits": n,
                      "mean": str(q2(mean))})
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
    cats = sorted(
        ({"id": cid, "name": names_c.get(cid, ""), "findings": n, "deduction": str(q2(d))}
         for cid, (n, d) in a.cats.items()),
        key=lambda c: (-Decimal(c["deduction"]), c["name"]),
    )
    return {
        "field_score": q2(field_score), "rectification_score": q2(rect), "survey_score": q2(survey),
        "materials_score": q2(materials), "survey_from_subtree": survey_sub, "materials_from_subtree": materials_sub,
        "base_score": q2(base), "bonus": q2(a.bonus), "penalty": q2(a.penalty), "total": total,
        "visit_count": visits, "clean_visit_count": clean, "finding_count": a.findings,
        "severe_finding_count": a.severe, "repeat_finding_count": a.repeats,
        "deduction_total": q2(sum((d for _n, d in a.cats.values()), ZERO)),
        "task_count": a.tasks, "task_on_time_count": a.on_time, "task_late_count": a.late,
        "task_open_count": a.open, "rework_count": a.reworks,
        "breakdown": {"point_types": types, "categories": cats},
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
    for r in results:
        r.values.update(rank=None, ranked_count=0, list_flag=ListFlag.NONE, grade=scheme.grade_for(r.values["total"]))
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
