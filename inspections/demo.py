"""Demo data for the loop: four inspection rounds with their visits and ~300
findings across the demo city, with tasks in every state and every
traffic-light colour, extension requests, reworks and escalations.

Every row tells one consistent story: a finding is observed, then dispatched,
accepted, submitted (returned and resubmitted) and closed, in that order and
never after now; the task events, submissions and history rows carry exactly
those times. Most of it happens in the last complete month, so its ranking and
bulletin have closed, late and reworked tasks; the rest is still open this
month. Findings carry generated "before" photos and submissions "after" photos
(inspections/demo_photos.py). Inserted in bulk; re-running creates nothing
twice."""

from __future__ import annotations

import copy
import datetime as dt
import random

from django.db import transaction
from django.db.models import F, OuterRef, Subquery
from django.utils import timezone

from campaigns.models import Campaign, Membership, Point, Unit, User

from . import demo_photos, rollups
from .models import (
    ExtensionRequest, Finding, FindingCategory, FindingPhoto, Inspection, RectificationTask, Submission,
    SubmissionPhoto, TaskEvent, Visit,
)
from .taxonomy import seed_default_categories

MARK = "（演示）"
CAMPAIGN = "2026年度全国文明城市创建（演示）"
DEPARTMENT_OF_GROUP = {"GGZX": "MZ-CGJ", "SRJS": "MZ-CGJ", "HJWS": "MZ-CGJ"}
DEPARTMENT_OF_CATEGORY = {"GGZX-04": "MZ-JJZD", "WMXW-02": "MZ-JJZD", "FWSS-03": "MZ-SCJG"}
DESCRIPTIONS = {
    "HJWS": ["路边垃圾堆积未及时清运", "楼道口堆放生活垃圾", "绿化带内有白色垃圾"],
    "GGZX": ["非机动车占用盲道停放", "商户出店经营占用人行道", "早市流动摊贩占道"],
    "SRJS": ["电线杆上张贴小广告", "屋顶违章搭建彩钢棚", "沿街晾晒衣物"],
    "JCSS": ["人行道地砖松动破损", "雨水井盖缺失", "路灯夜间不亮"],
    "GYXC": ["公益广告牌破损褪色", "围挡未设置公益宣传", "宣传栏内容陈旧"],
    "XFAQ": ["消防通道被车辆堵塞", "灭火器过期未更换", "楼道内电动车充电"],
    "FWSS": ["无障碍坡道被占用", "便民座椅损坏", "窗口工作人员未佩戴工牌"],
    "WMXW": ["行人闯红灯", "公共场所吸烟", "遛狗未牵绳"],
}
H = dt.timedelta(hours=1)
S = RectificationTask.Status
A = TaskEvent.Action


def month_bounds(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """Start of the last complete month and of the current one (Asia/Shanghai)."""
    local = timezone.localtime(now, rollups.SHANGHAI)
    this = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    last = (this - dt.timedelta(days=1)).replace(day=1)
    return last, this


@transaction.atomic
def load(*, admin, stdout=None, now: dt.datetime | None = None) -> None:
    campaign = Campaign.objects.filter(name=CAMPAIGN).first()
    points = list(Point.objects.filter(code__startswith="MZP", active=True).select_related("unit", "department")
                  .order_by("code"))
    if campaign is None or not points:
        return
    _category_departments()
    if Inspection.objects.filter(campaign=campaign, title__endswith=MARK).exists():
        if stdout is not None:
            stdout.write("Loop demo: already loaded.")
        return
    rng = random.Random(2026)
    now = now or timezone.now()
    last_month, this_month = month_bounds(now)
    inspector = User.objects.filter(username="inspector").first() or admin
    supervisor = User.objects.filter(username="supervisor").first() or admin
    handlers = _handlers()
    city = Unit.objects.filter(kind=Unit.Kind.CITY, code="MZ").first() or points[0].unit
    # The taxonomy comes with a data migration; put it back if the table was emptied since
    # (a flushed test database, an office that started from scratch).
    seed_default_categories(FindingCategory)
    categories = list(FindingCategory.objects.filter(group__isnull=False, active=True).select_related("group"))

    # Three rounds in the last complete month, the fourth under way this week.
    rounds = [(Inspection.Kind.UNANNOUNCED, "第一轮暗访", last_month + dt.timedelta(days=2)),
              (Inspection.Kind.FIELD_EVALUATION, "季度实地测评", last_month + dt.timedelta(days=9)),
              (Inspection.Kind.SUPERVISION, "专项督查", last_month + dt.timedelta(days=16)),
              (Inspection.Kind.UNANNOUNCED, "第二轮暗访", timezone.localtime(now - dt.timedelta(days=4),
                                                                        rollups.SHANGHAI))]
    inspections = []
    for n, (kind, title, start) in enumerate(rounds):
        inspection = Inspection(
            campaign=campaign, title=f"{title}{MARK}", kind=kind, unit=city, starts_on=start.date(),
            ends_on=start.date() + dt.timedelta(days=3),
            status=Inspection.Status.COMPLETED if n < 3 else Inspection.Status.IN_PROGRESS,
            created_by=supervisor, notes="演示数据")
        inspection._history_date = start.replace(hour=8, minute=30) - dt.timedelta(days=3)  # planned beforehand
        inspection._history_user = supervisor
        inspections.append(inspection)
    _create(Inspection, inspections, created="_history_date")
    for inspection in inspections:
        inspection.inspectors.add(inspector)

    visits = []
    for i in range(160):
        inspection = inspections[i % len(inspections)]
        point = points[(i * 7) % len(points)]
        start = dt.datetime.combine(inspection.starts_on, dt.time(9), tzinfo=rollups.SHANGHAI)
        visited = min(start + dt.timedelta(hours=rng.randint(0, 72), minutes=rng.randint(0, 59)),
                      now - dt.timedelta(hours=2, minutes=rng.randint(0, 600)))
        visit = Visit(inspection=inspection, point=point, unit=point.unit, visited_at=visited, inspector=inspector,
                      latitude=point.latitude, longitude=point.longitude, is_clean=i % 4 == 0)
        visit._history_date, visit._history_user = visited, inspector
        visits.append(visit)
    visits = _create(Visit, visits, created="visited_at")
    dirty = [v for v in visits if not v.is_clean]

    findings = []
    for i in range(300):
        category = categories[rng.randrange(len(categories))]
        severity = category.default_severity if rng.random() < 0.7 else rng.choice(["minor", "moderate", "severe"])
        if i < 220:
            visit = dirty[i % len(dirty)]
            point, source, external = visit.point, Finding.Source.INSPECTION, None
            observed = visit.visited_at + dt.timedelta(minutes=rng.randint(2, 25))
        else:
            visit, point = None, points[rng.randrange(len(points))]
            source = rng.choice([Finding.Source.HOTLINE, Finding.Source.CITIZEN, Finding.Source.VOLUNTEER])
            observed = now - dt.timedelta(hours=rng.randint(3, 24 * 32), minutes=rng.randint(0, 59))
            external = f"12345-DEMO-{i:04d}" if source == Finding.Source.HOTLINE else None
        findings.append(Finding(
            campaign=campaign, source=source, external_id=external, visit=visit, point=point, unit=point.unit,
            department=_department(category, point), category=category, severity=severity,
            description=rng.choice(DESCRIPTIONS.get(category.group.code, ["现场发现问题"])),
            address=point.address, latitude=point.latitude, longitude=point.longitude, observed_at=observed,
            reporter=inspector if visit else None, reporter_name="" if visit else "市民",
        ))
    # Repeats: an earlier finding of the same category at the same point within 30 days.
    seen: dict[tuple, list] = {}
    for f in sorted(findings, key=lambda f: f.observed_at):
        key = (f.point.pk, f.category.pk)
        f.is_repeat = any(f.observed_at - dt.timedelta(days=30) <= t < f.observed_at for t in seen.get(key, []))
        seen.setdefault(key, []).append(f.observed_at)

    plans = [_plan(i, rng) for i in range(len(findings))]
    stories = [_story(f, plan, rng, now, this_month) for f, plan in zip(findings, plans)]
    finding_steps = []
    for f, plan, story in zip(findings, plans, stories):
        # Duplicates need their original's id: stored as new, marked below.
        final = plan["finding_status"]
        f.status = Finding.Status.NEW if final == Finding.Status.DUPLICATE else final
        if f.status == Finding.Status.CLOSED:
            f.closed_at = story["closed"]
        if f.status == Finding.Status.VOID:
            f.void_reason = "经核实不属实"
        f._history_user = inspector if f.visit else supervisor
        finding_steps.append(_finding_steps(f, final, story, supervisor))
    findings = _create(Finding, findings, created="observed_at", history=False)
    duplicates = [f for f, plan in zip(findings, plans) if plan["finding_status"] == Finding.Status.DUPLICATE]
    originals = [f for f, plan in zip(findings, plans) if plan["finding_status"] == Finding.Status.DISPATCHED]
    for n, f in enumerate(duplicates):
        f.status, f.duplicate_of, f.void_reason = Finding.Status.DUPLICATE, originals[n % len(originals)], "与已有问题重复"
    Finding.objects.bulk_update(duplicates, ["status", "duplicate_of", "void_reason"])
    _history(Finding, findings, finding_steps)

    photos = demo_photos.stored(DESCRIPTIONS)
    FindingPhoto.objects.bulk_create([
        _photo(FindingPhoto, photos, f.category.group.code, after=False, finding=f,
               uploaded_by=f.reporter or supervisor, uploaded_at=f.observed_at)
        for f in findings])

    tasks, task_stories = [], []
    for f, plan, story in zip(findings, plans, stories):
        if plan["task_status"] is None:
            continue
        task = RectificationTask(
            finding=f, unit=f.unit, campaign_id=f.campaign_id, category_id=f.category_id, status=plan["task_status"], supervision=plan["supervision"],
            dispatched_at=story["dispatched"], dispatched_by=supervisor, original_due_at=story["due"],
            due_at=story["due"], warn_at=story["dispatched"] + (story["due"] - story["dispatched"]) * RectificationTask.WARN_SHARE,
            rework_count=plan["rework"], instructions="请按时整改并上传整改后照片。",
            accepted_at=story.get("accepted"), submitted_at=story.get("submitted"), closed_at=story.get("closed"),
            closed_by=supervisor if story.get("closed") else None, voided_at=story.get("voided"),
            void_reason="派错责任单位" if story.get("voided") else "", escalated_at=story.get("escalated"),
        )
        tasks.append(task)
        task_stories.append((plan, story))
    tasks = _create(RectificationTask, tasks, created="dispatched_at", history=False)

    events, submissions, extensions, task_steps = [], [], [], []
    for task, (plan, story) in zip(tasks, task_stories):
        handler = handlers.get(task.unit.path[:8]) or admin
        task_events = _events(task, plan, story, supervisor, handler)
        events += task_events
        task_steps.append(_task_steps(task, task_events))
        for n, (submitted, reviewed, outcome) in enumerate(story["rounds"]):
            submissions.append(Submission(
                task=task, round=n + 1, note="已按要求整改完毕" if n == len(story["rounds"]) - 1 else "已整改",
                submitted_by=handler, submitted_at=submitted, outcome=outcome,
                reviewed_by=supervisor if reviewed else None, reviewed_at=reviewed,
                review_note="整改不到位，退回" if outcome == Submission.Outcome.FAILED else ""))
        if plan["extension"] and task.is_open:
            request = ExtensionRequest(task=task, reason="需协调施工队，申请延期", requested_by=handler,
                                       requested_due_at=task.due_at + dt.timedelta(days=5),
                                       previous_due_at=task.due_at, requested_at=story["extension"])
            request._history_date, request._history_user = story["extension"], handler
            extensions.append(request)
    TaskEvent.objects.bulk_create(events)
    _history(RectificationTask, tasks, task_steps)
    submissions = Submission.objects.bulk_create(submissions)
    groups = {t.pk: t.finding.category.group.code for t in tasks}
    SubmissionPhoto.objects.bulk_create([
        _photo(SubmissionPhoto, photos, groups[s.task_id], after=True, submission=s, uploaded_by=s.submitted_by,
               uploaded_at=s.submitted_at)
        for s in submissions])
    _create(ExtensionRequest, extensions)
    rollups.rebuild()  # the rows above bypass the services that keep the dashboards' rollups
    if stdout is not None:
        stdout.write(f"Loop demo: {len(inspections)} inspections, {len(visits)} visits, {len(findings)} findings, "
                     f"{len(tasks)} tasks, {len(submissions)} submissions with photos.")


def _create(model, rows: list, *, created: str | None = None, history: bool = True) -> list:
    """Bulk insert ``rows`` with ``created_at`` (when the model has one) set to the row's ``created``
    attribute, and a creation history row at that time (``_history_date``)."""
    if not rows:
        return rows
    rows = model.objects.bulk_create(rows, batch_size=500)
    fields = {f.name for f in model._meta.fields}
    if created and "created_at" in fields:
        stamps = {"created_at": F(created)} if created in fields else None
        if stamps is not None:  # one UPDATE: the creation time is a column of the row
            stamps.update({"updated_at": F(created)} if "updated_at" in fields else {})
            model.objects.filter(pk__in=[r.pk for r in rows]).update(**stamps)
        for row in rows:
            row.created_at = getattr(row, created)
            if "updated_at" in fields:
                row.updated_at = row.created_at
        if stamps is None:
            model.objects.bulk_update(rows, ["created_at", "updated_at"] if "updated_at" in fields else ["created_at"],
                                      batch_size=500)
    if history:
        model.history.bulk_history_create(rows, batch_size=500)
    return rows


def _photo(model, photos: dict, group: str, *, after: bool, **fields):
    image, thumbnail, size = photos.get((group, after)) or photos[("other", after)]
    return model(image=image, thumbnail=thumbnail, width=demo_photos.SIZE[0], height=demo_photos.SIZE[1], size=size,
                 content_type="image/jpeg", **fields)


def _plan(i: int, rng: random.Random) -> dict:
    """What happened to finding ``i``: a spread over every state and light."""
    bucket = i % 20
    plan = {"task_status": None, "finding_status": Finding.Status.DISPATCHED, "supervision": "none", "rework": 0,
            "age_days": rng.randint(1, 12), "elapsed_share": 0.5, "extension": False, "late": False}
    if bucket in (0, 1):                      # waiting for triage
        plan["finding_status"] = Finding.Status.NEW
    elif bucket == 2:
        plan["finding_status"] = Finding.Status.DUPLICATE if i % 40 == 2 else Finding.Status.VOID
    elif bucket in (3, 4, 5):                 # assigned: green, yellow, red
        plan.update(task_status=S.ASSIGNED, elapsed_share=(0.3, 0.9, 1.6)[bucket - 3])
    elif bucket in (6, 7, 8):                 # in progress
        plan.update(task_status=S.IN_PROGRESS, elapsed_share=(0.5, 0.85, 2.5)[bucket - 6], extension=bucket == 7)
        if bucket == 8:
            plan["supervision"] = "supervised" if i % 3 else "listed"
    elif bucket in (9, 10):                   # submitted, waiting for verification
        plan.update(task_status=S.SUBMITTED, elapsed_share=(0.6, 1.2)[bucket - 9])
    elif bucket == 11:                        # returned for rework
        plan.update(task_status=S.RETURNED, elapsed_share=rng.choice([0.7, 0.95, 1.4]), rework=1 + i % 2)
    elif bucket == 12:
        plan.update(task_status=S.VOID, finding_status=Finding.Status.NEW)
    else:                                     # closed: on time or late, some after rework
        plan.update(task_status=S.CLOSED, finding_status=Finding.Status.CLOSED, late=bucket in (14, 17),
                    rework=1 if bucket in (16, 19) else 0)
    return plan


def _story(f: Finding, plan: dict, rng: random.Random, now: dt.datetime, this_month: dt.datetime) -> dict:
    """The times of everything that happened to finding ``f`` (and its task), in order, none after ``now``."""
    observed = f.observed_at
    story = {"observed": observed, "rounds": []}
    status = plan["task_status"]
    if status is None:
        if plan["finding_status"] in (Finding.Status.VOID, Finding.Status.DUPLICATE):
            story["triaged"] = observed + (now - observed) * rng.uniform(0.05, 0.3)
        return story
    if status == S.CLOSED:
        # Closed within the month it was observed in when there is room (the last complete month's
        # closures), else by now; the deadline is before the closure for late tasks.
        room = (this_month - H - observed) if observed < this_month - dt.timedelta(days=3) else (now - observed)
        span = min(dt.timedelta(days=rng.uniform(2.5, 9)), room * 0.95)
        dispatched = observed + span * rng.uniform(0.04, 0.1)
        accepted = dispatched + span * rng.uniform(0.02, 0.06)
        closed = observed + span
        final_submit = closed - span * rng.uniform(0.04, 0.1)
        work = dispatched + (closed - dispatched) * (rng.uniform(0.55, 0.8) if plan["late"] else rng.uniform(1.15, 1.6))
        story.update(dispatched=dispatched, accepted=accepted, closed=closed, due=work)
        _rounds(story, accepted, reworks=plan["rework"], final=final_submit, reviewed=closed,
                outcome=Submission.Outcome.PASSED)
        return story
    # Open (or voided) tasks: dispatched a few days ago; the deadline puts them at their traffic light.
    dispatched = max(observed + H * rng.uniform(1.5, 20), now - dt.timedelta(days=plan["age_days"]))
    if dispatched >= now - H:
        dispatched = observed + (now - observed) * 0.3
    elapsed = now - dispatched
    story.update(dispatched=dispatched, due=dispatched + elapsed / plan["elapsed_share"])
    if status == S.VOID:
        story["voided"] = dispatched + elapsed * 0.3
        return story
    if status != S.ASSIGNED:
        story["accepted"] = dispatched + elapsed * rng.uniform(0.05, 0.15)
    if plan["extension"]:
        story["extension"] = story["accepted"] + elapsed * 0.05
    if status == S.SUBMITTED:
        _rounds(story, story["accepted"], reworks=0, final=dispatched + elapsed * 0.7,
                outcome=Submission.Outcome.PENDING)
    elif status == S.RETURNED:
        _rounds(story, story["accepted"], reworks=plan["rework"], until=dispatched + elapsed * 0.9)
    if plan["supervision"] != RectificationTask.Supervision.NONE:
        story["escalated"] = min(now - H * 0.5, story["due"] + dt.timedelta(days=1))
    return story


def _rounds(story: dict, start, *, reworks: int, final=None, reviewed=None, outcome=None, until=None) -> None:
    """Submissions after ``start``: ``reworks`` failed rounds, then the ``final`` one (``outcome``, reviewed
    at ``reviewed``) if any, else the failures spread up to ``until`` (a returned task)."""
    stop = final if final is not None else until
    step = (stop - start) / (2 * reworks + 1)
    rounds = [(start + step * (2 * k + 1), start + step * (2 * k + 2), Submission.Outcome.FAILED)
              for k in range(reworks)]
    if final is not None:
        rounds.append((final, reviewed, outcome))
    story["rounds"] = rounds
    story["submitted"] = rounds[-1][0] if rounds else None


def _events(task: RectificationTask, plan: dict, story: dict, supervisor, handler) -> list[TaskEvent]:
    """The task's timeline, at the story's times."""
    events = [TaskEvent(task=task, actor=supervisor, action=A.DISPATCH, to_status=S.ASSIGNED,
                        created_at=task.dispatched_at, note=task.instructions,
                        data={"due_at": task.due_at.isoformat()})]
    if task.accepted_at:
        events.append(TaskEvent(task=task, actor=handler, action=A.ACCEPT, from_status=S.ASSIGNED,
                                to_status=S.IN_PROGRESS, created_at=task.accepted_at))
    status = S.IN_PROGRESS
    for n, (submitted, reviewed, outcome) in enumerate(story["rounds"]):
        events.append(TaskEvent(task=task, actor=handler, action=A.SUBMIT, from_status=status, to_status=S.SUBMITTED,
                                created_at=submitted, note="已按要求整改完毕" if outcome != "failed" else "已整改"))
        if outcome == Submission.Outcome.FAILED:
            events.append(TaskEvent(task=task, actor=supervisor, action=A.VERIFY_FAIL, from_status=S.SUBMITTED,
                                    to_status=S.RETURNED, created_at=reviewed, note="整改不到位，退回",
                                    data={"rework": n + 1}))
            status = S.RETURNED
        elif outcome == Submission.Outcome.PASSED:
            events.append(TaskEvent(task=task, actor=supervisor, action=A.VERIFY_PASS, from_status=S.SUBMITTED,
                                    to_status=S.CLOSED, created_at=reviewed,
                                    data={"on_time": task.closed_at <= task.due_at}))
    if task.status == S.VOID:
        events.append(TaskEvent(task=task, actor=supervisor, action=A.VOID, from_status=S.ASSIGNED, to_status=S.VOID,
                                created_at=task.voided_at, note=task.void_reason))
    if task.supervision != RectificationTask.Supervision.NONE:
        at = task.escalated_at
        current = _status_at(events, at)
        events.append(TaskEvent(task=task, actor=None, action=A.ESCALATE, from_status=current, to_status=current,
                                created_at=at, data={"from_level": "none", "to_level": task.supervision,
                                                     "automatic": True}))
    if plan["extension"] and story.get("extension"):
        at = story["extension"]
        current = _status_at(events, at)
        events.append(TaskEvent(task=task, actor=handler, action=A.EXTENSION_REQUEST, from_status=current,
                                to_status=current, created_at=at, note="需协调施工队，申请延期"))
    events.sort(key=lambda e: e.created_at)
    return events


def _status_at(events: list[TaskEvent], at) -> str:
    status = S.ASSIGNED
    for event in sorted(events, key=lambda e: e.created_at):
        if event.created_at <= at:
            status = event.to_status
    return status


def _task_steps(task: RectificationTask, events: list[TaskEvent]) -> list:
    """The task as it stood after each event that changed it: (time, user, fields)."""
    state = {"status": S.ASSIGNED, "accepted_at": None, "submitted_at": None, "closed_at": None, "closed_by_id": None,
             "rework_count": 0, "supervision": RectificationTask.Supervision.NONE, "escalated_at": None,
             "voided_at": None, "void_reason": ""}
    steps = []
    for event in events:
        if event.action == A.DISPATCH:
            pass
        elif event.action == A.ACCEPT:
            state.update(status=S.IN_PROGRESS, accepted_at=event.created_at)
        elif event.action == A.SUBMIT:
            state.update(status=S.SUBMITTED, submitted_at=event.created_at)
        elif event.action == A.VERIFY_FAIL:
            state.update(status=S.RETURNED, rework_count=state["rework_count"] + 1)
        elif event.action == A.VERIFY_PASS:
            state.update(status=S.CLOSED, closed_at=event.created_at, closed_by_id=task.closed_by_id)
        elif event.action == A.VOID:
            state.update(status=S.VOID, voided_at=event.created_at, void_reason=task.void_reason)
        elif event.action == A.ESCALATE:
            state.update(supervision=task.supervision, escalated_at=event.created_at)
        else:
            continue
        steps.append((event.created_at, event.actor, dict(state)))
    return steps


def _finding_steps(f: Finding, final: str, story: dict, supervisor) -> list:
    """The finding as it stood after each change: recorded, dispatched, closed / voided / duplicate."""
    steps = [(story["observed"], f._history_user, {"status": Finding.Status.NEW, "closed_at": None,
                                                  "void_reason": "", "duplicate_of_id": None})]
    if "dispatched" in story:
        steps.append((story["dispatched"], supervisor, {"status": Finding.Status.DISPATCHED}))
    if "closed" in story:
        steps.append((story["closed"], supervisor, {"status": Finding.Status.CLOSED, "closed_at": story["closed"]}))
    if "voided" in story:  # the task was voided: the finding waits for triage again
        steps.append((story["voided"], supervisor, {"status": Finding.Status.NEW}))
    if "triaged" in story:
        steps.append((story["triaged"], supervisor, {"status": final, "void_reason": "__final__",
                                                     "duplicate_of_id": "__final__"}))
    return steps


def _history(model, rows: list, steps: list) -> None:
    """History rows of ``rows`` at their story's times: "+" for the first step, "~" for the others. The
    last step leaves the row as it is stored now; the fields not named in a step keep their value."""
    created, changed = [], []
    for row, row_steps in zip(rows, steps):
        state = {}
        for n, (at, user, fields) in enumerate(row_steps):
            state.update(fields)
            snapshot = copy.copy(row)
            for name, value in state.items():
                setattr(snapshot, name, getattr(row, name) if value == "__final__" else value)
            snapshot._history_date, snapshot._history_user = at, user
            snapshot.updated_at = at
            (changed if n else created).append(snapshot)
    model.history.bulk_history_create(created, batch_size=500)
    model.history.bulk_history_create(changed, batch_size=500, update=True)
    # The rows' last change is their last history row: one UPDATE.
    for row, row_steps in zip(rows, steps):
        if row_steps:
            row.updated_at = row_steps[-1][0]
    latest = model.history.filter(id=OuterRef("pk")).order_by("-history_date").values("history_date")[:1]
    model.objects.filter(pk__in=[r.pk for r in rows]).update(updated_at=Subquery(latest))


def _handlers() -> dict[str, User]:
    """A handling clerk per district path prefix (the demo accounts)."""
    out = {}
    for m in Membership.objects.filter(role=Membership.Role.HANDLER, active=True).select_related("unit", "user"):
        out.setdefault(m.unit.path[:8], m.user)
    return out


def _category_departments() -> None:
    departments = {u.code: u for u in Unit.objects.filter(kind=Unit.Kind.DEPARTMENT, code__startswith="MZ-")}
    rows = []
    for category in FindingCategory.objects.filter(supervising_department__isnull=True).select_related("group"):
        code = DEPARTMENT_OF_CATEGORY.get(category.code) or DEPARTMENT_OF_GROUP.get(
            category.group.code if category.group else category.code)
        if code in departments:
            category.supervising_department = departments[code]
            rows.append(category)
    FindingCategory.objects.bulk_update(rows, ["supervising_department"])


def _department(category: FindingCategory, point: Point):
    return point.department or category.supervising_department


