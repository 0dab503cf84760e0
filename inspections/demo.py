"""Demo data for the loop: a few inspection rounds with their visits and
~300 findings across the demo city, with tasks in every state and every
traffic-light colour, extension requests, reworks and escalations. Inserted
in bulk (with history rows); re-running creates nothing twice."""

from __future__ import annotations

import datetime as dt
import io
import random

from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import Image, ImageDraw
from django.db import transaction
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from campaigns.models import Campaign, Membership, Point, Unit, User

from .models import (
    ExtensionRequest, Finding, FindingCategory, FindingPhoto, Inspection, RectificationTask, Submission,
    SubmissionPhoto, TaskEvent, Visit,
)
from . import rollups
from civportal.storage import photo_storage
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
COLOURS = [(178, 80, 60), (90, 120, 160), (120, 150, 90), (170, 140, 70)]


@transaction.atomic
def load(*, admin, stdout=None) -> None:
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
    now = timezone.now()
    inspector = User.objects.filter(username="inspector").first() or admin
    supervisor = User.objects.filter(username="supervisor").first() or admin
    handlers = _handlers()
    city = Unit.objects.filter(kind=Unit.Kind.CITY, code="MZ").first() or points[0].unit
    # The taxonomy comes with a data migration; put it back if the table was emptied since
    # (a flushed test database, an office that started from scratch).
    seed_default_categories(FindingCategory)
    categories = list(FindingCategory.objects.filter(group__isnull=False, active=True).select_related("group"))

    inspections = []
    for n, (kind, title) in enumerate([(Inspection.Kind.UNANNOUNCED, "第一轮暗访"), (Inspection.Kind.FIELD_EVALUATION, "季度实地测评"),
                                       (Inspection.Kind.SUPERVISION, "专项督查"), (Inspection.Kind.UNANNOUNCED, "第二轮暗访")]):
        start = (now - dt.timedelta(days=40 - n * 10)).date()
        inspection = Inspection.objects.create(
            campaign=campaign, title=f"{title}{MARK}", kind=kind, unit=city, starts_on=start,
            ends_on=start + dt.timedelta(days=3), status=Inspection.Status.COMPLETED if n < 3 else Inspection.Status.IN_PROGRESS,
            created_by=supervisor, notes="演示数据")
        inspection.inspectors.add(inspector)
        inspections.append(inspection)

    visits = []
    for i in range(160):
        inspection = inspections[i % len(inspections)]
        point = points[(i * 7) % len(points)]
        visited = timezone.make_aware(dt.datetime.combine(inspection.starts_on, dt.time(9))) + dt.timedelta(
            hours=rng.randint(0, 72))
        visits.append(Visit(inspection=inspection, point=point, unit=point.unit, visited_at=visited, inspector=inspector,
                            latitude=point.latitude, longitude=point.longitude, is_clean=i % 4 == 0))
    visits = bulk_create_with_history(visits, Visit, default_user=inspector)
    dirty = [v for v in visits if not v.is_clean]

    findings = []
    for i in range(300):
        category = categories[rng.randrange(len(categories))]
        severity = category.default_severity if rng.random() < 0.7 else rng.choice(["minor", "moderate", "severe"])
        if i < 220:
            visit = dirty[i % len(dirty)]
            point, source, observed, external = visit.point, Finding.Source.INSPECTION, visit.visited_at, None
        else:
            visit, point = None, points[rng.randrange(len(points))]
            source = rng.choice([Finding.Source.HOTLINE, Finding.Source.CITIZEN, Finding.Source.VOLUNTEER])
            observed = now - dt.timedelta(hours=rng.randint(1, 24 * 20))
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
    for f, plan in zip(findings, plans):
        # Duplicates need their original's id first: stored as new, marked below.
        f.status = Finding.Status.NEW if plan["finding_status"] == Finding.Status.DUPLICATE else plan["finding_status"]
        if f.status == Finding.Status.CLOSED:
            f.closed_at = now - dt.timedelta(days=plan["closed_days_ago"])
        if f.status == Finding.Status.VOID:
            f.void_reason = "经核实不属实"
    findings = bulk_create_with_history(findings, Finding, default_user=supervisor)
    duplicates = [f for f, plan in zip(findings, plans) if plan["finding_status"] == Finding.Status.DUPLICATE]
    originals = [f for f, plan in zip(findings, plans) if plan["finding_status"] == Finding.Status.DISPATCHED]
    for n, f in enumerate(duplicates):
        f.status, f.duplicate_of, f.void_reason = Finding.Status.DUPLICATE, originals[n % len(originals)], "与已有问题重复"
    bulk_update_with_history(duplicates, Finding, ["status", "duplicate_of", "void_reason"], default_user=supervisor)

    before, after = _photos(admin)
    FindingPhoto.objects.bulk_create([
        FindingPhoto(finding=f, image=before[f.pk % len(before)][0], thumbnail=before[f.pk % len(before)][1],
                     width=640, height=480, size=before[f.pk % len(before)][2], content_type="image/jpeg",
                     uploaded_by=inspector, uploaded_at=f.observed_at)
        for f in findings if f.source == Finding.Source.INSPECTION])

    tasks, task_plans = [], []
    for f, plan in zip(findings, plans):
        if plan["task_status"] is None:
            continue
        dispatched = max(f.observed_at + dt.timedelta(hours=2), now - dt.timedelta(days=plan["age_days"]))
        due = dispatched + (now - dispatched) * 1.0 / plan["elapsed_share"]
        task = RectificationTask(
            finding=f, unit=f.unit, campaign_id=f.campaign_id, status=plan["task_status"], supervision=plan["supervision"],
            dispatched_at=dispatched, dispatched_by=supervisor, original_due_at=due, due_at=due,
            warn_at=dispatched + (due - dispatched) * RectificationTask.WARN_SHARE,
            rework_count=plan["rework"], instructions="请按时整改并上传整改后照片。",
        )
        if task.status != RectificationTask.Status.ASSIGNED:
            task.accepted_at = dispatched + dt.timedelta(hours=3)
        if task.status in (RectificationTask.Status.SUBMITTED, RectificationTask.Status.CLOSED):
            task.submitted_at = min(now, dispatched + dt.timedelta(hours=20))
        if task.status == RectificationTask.Status.CLOSED:
            task.closed_at, task.closed_by = f.closed_at, supervisor
            if task.closed_at < task.dispatched_at:
                task.closed_at = f.closed_at = task.dispatched_at + dt.timedelta(hours=30)
            if task.due_at < task.dispatched_at + dt.timedelta(hours=1):
                task.due_at = task.original_due_at = task.dispatched_at + dt.timedelta(hours=1)
            task.warn_at = task.dispatched_at + (task.due_at - task.dispatched_at) * RectificationTask.WARN_SHARE
        if task.status == RectificationTask.Status.VOID:
            task.voided_at, task.void_reason = dispatched + dt.timedelta(hours=5), "派错责任单位"
        if task.supervision != RectificationTask.Supervision.NONE:
            task.escalated_at = min(now, due + dt.timedelta(days=1))
        tasks.append(task)
        task_plans.append(plan)
    Finding.objects.bulk_update([f for f in findings if f.status == Finding.Status.CLOSED], ["closed_at"])
    tasks = bulk_create_with_history(tasks, RectificationTask, default_user=supervisor)

    events, submissions, extensions = [], [], []
    for task, plan in zip(tasks, task_plans):
        handler = handlers.get(task.unit.path[:8]) or admin
        events += _events(task, plan, supervisor, handler)
        if task.submitted_at:
            for r in range(task.rework_count + 1):
                last = r == task.rework_count
                outcome = (Submission.Outcome.PASSED if task.status == RectificationTask.Status.CLOSED
                           else Submission.Outcome.PENDING) if last else Submission.Outcome.FAILED
                submissions.append(Submission(task=task, round=r + 1, note="已按要求整改完毕", submitted_by=handler,
                                              submitted_at=task.submitted_at, outcome=outcome,
                                              reviewed_by=supervisor if outcome != Submission.Outcome.PENDING else None,
                                              reviewed_at=task.closed_at if outcome == Submission.Outcome.PASSED else (
                                                  task.submitted_at if outcome == Submission.Outcome.FAILED else None)))
        if plan["extension"] and task.is_open:
            extensions.append(ExtensionRequest(task=task, reason="需协调施工队，申请延期", requested_by=handler,
                                               requested_due_at=task.due_at + dt.timedelta(days=5),
                                               previous_due_at=task.due_at))
    TaskEvent.objects.bulk_create(events)
    submissions = Submission.objects.bulk_create(submissions)
    SubmissionPhoto.objects.bulk_create([
        SubmissionPhoto(submission=s, image=after[s.pk % len(after)][0], thumbnail=after[s.pk % len(after)][1],
                        width=640, height=480, size=after[s.pk % len(after)][2], content_type="image/jpeg",
                        uploaded_by=s.submitted_by, uploaded_at=s.submitted_at)
        for s in submissions])
    bulk_create_with_history(extensions, ExtensionRequest, default_user=admin)
    rollups.rebuild()  # the rows above bypass the services that keep the dashboards' rollups
    if stdout is not None:
        stdout.write(f"Loop demo: {len(inspections)} inspections, {len(visits)} visits, {len(findings)} findings, "
                     f"{len(tasks)} tasks.")


def _plan(i: int, rng: random.Random) -> dict:
    """What happened to finding ``i``: a spread over every state and light."""
    S = RectificationTask.Status
    bucket = i % 20
    plan = {"task_status": None, "finding_status": Finding.Status.DISPATCHED, "supervision": "none", "rework": 0,
            "age_days": rng.randint(1, 12), "elapsed_share": 0.5, "extension": False, "closed_days_ago": 1}
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
    else:                                     # closed: on time, late, with rework
        plan.update(task_status=S.CLOSED, finding_status=Finding.Status.CLOSED, elapsed_share=rng.choice([1.2, 2.0, 3.0]),
                    closed_days_ago=rng.randint(0, 5), rework=1 if bucket == 19 else 0, age_days=rng.randint(5, 30))
    return plan


def _events(task: RectificationTask, plan: dict, supervisor, handler) -> list[TaskEvent]:
    S, A = RectificationTask.Status, TaskEvent.Action
    events = [TaskEvent(task=task, actor=supervisor, action=A.DISPATCH, to_status=S.ASSIGNED,
                        created_at=task.dispatched_at, note=task.instructions)]
    if task.accepted_at:
        events.append(TaskEvent(task=task, actor=handler, action=A.ACCEPT, from_status=S.ASSIGNED,
                                to_status=S.IN_PROGRESS, created_at=task.accepted_at))
    for _r in range(task.rework_count):
        at = task.accepted_at or task.dispatched_at
        events.append(TaskEvent(task=task, actor=handler, action=A.SUBMIT, from_status=S.IN_PROGRESS,
                                to_status=S.SUBMITTED, created_at=at, note="已整改"))
        events.append(TaskEvent(task=task, actor=supervisor, action=A.VERIFY_FAIL, from_status=S.SUBMITTED,
                                to_status=S.RETURNED, created_at=at, note="整改不到位，退回"))
    if task.submitted_at:
        events.append(TaskEvent(task=task, actor=handler, action=A.SUBMIT,
                                from_status=S.RETURNED if task.rework_count else S.IN_PROGRESS,
                                to_status=S.SUBMITTED, created_at=task.submitted_at, note="已按要求整改完毕"))
    if task.status == S.CLOSED:
        events.append(TaskEvent(task=task, actor=supervisor, action=A.VERIFY_PASS, from_status=S.SUBMITTED,
                                to_status=S.CLOSED, created_at=task.closed_at))
    if task.status == S.VOID:
        events.append(TaskEvent(task=task, actor=supervisor, action=A.VOID, from_status=S.ASSIGNED, to_status=S.VOID,
                                created_at=task.voided_at, note=task.void_reason))
    if task.supervision != RectificationTask.Supervision.NONE:
        events.append(TaskEvent(task=task, actor=None, action=A.ESCALATE, from_status=task.status,
                                to_status=task.status, created_at=task.escalated_at,
                                data={"from_level": "none", "to_level": task.supervision, "automatic": True}))
    if plan["extension"]:
        events.append(TaskEvent(task=task, actor=handler, action=A.EXTENSION_REQUEST, from_status=task.status,
                                to_status=task.status, created_at=task.accepted_at or task.dispatched_at,
                                note="需协调施工队，申请延期"))
    return events


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


def _photos(admin) -> tuple[list, list]:
    """A handful of generated photos shared by the demo rows (before: clutter; after: tidy)."""
    storage = photo_storage()
    out = {"before": [], "after": []}
    for kind in ("before", "after"):
        for n, colour in enumerate(COLOURS):
            image = Image.new("RGB", (640, 480), (235, 235, 230))
            draw = ImageDraw.Draw(image)
            draw.rectangle([0, 360, 640, 480], fill=(150, 150, 150))
            if kind == "before":
                for k in range(12):
                    x, y = 60 + (k * 47 + n * 13) % 520, 300 + (k * 29) % 120
                    draw.ellipse([x, y, x + 40 + k % 3 * 10, y + 30], fill=colour)
            else:
                draw.rectangle([260, 250, 380, 370], outline=colour, width=6)
            names, full_size = [], 0
            for size, label in ((None, "full"), ((360, 360), "thumb")):
                copy = image.copy()
                if size:
                    copy.thumbnail(size)
                buffer = io.BytesIO()
                copy.save(buffer, format="JPEG", quality=80)
                names.append(storage.save(f"photos/demo/{kind}-{n}-{label}.jpg", ContentFile(buffer.getvalue())))
                full_size = full_size or buffer.tell()
            out[kind].append((names[0], names[1], full_size))
    return out["before"], out["after"]
