"""Demo tasks in every traffic-light state (and past both escalation points),
so a fresh ``bin/run`` shows reminders and 督办 arriving at the first scan.
Re-runnable: the findings carry fixed external ids."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from campaigns.models import Campaign, Unit, User

from . import demo_photos, rollups, services
from .models import Finding, FindingCategory, FindingPhoto, RectificationTask, Severity, TaskEvent

# (external id, description, hours since dispatch, hours until the deadline; negative = past)
DEMO_TASKS = [
    ("DEMO-REMIND-GREEN", "人行道共享单车乱停放（演示：按时）", 2, 96),
    ("DEMO-REMIND-YELLOW", "小区垃圾桶满溢未清运（演示：即将到期）", 40, 6),
    ("DEMO-REMIND-RED", "背街小巷墙面小广告（演示：已逾期）", 30, -3),
    ("DEMO-REMIND-SUPERVISED", "农贸市场占道经营（演示：逾期两个工作日，督办）", 24 * 7, -24 * 3),
    ("DEMO-REMIND-LISTED", "公厕设施损坏未修复（演示：逾期十个工作日，挂牌督办）", 24 * 30, -24 * 16),
]


def load(*, admin, stdout) -> None:
    unit = Unit.objects.filter(code="MZ01").first()
    supervisor = User.objects.filter(username="supervisor").first()
    if unit is None or supervisor is None:
        return
    category, _ = FindingCategory.objects.get_or_create(
        code="DEMO-HJ", defaults={"name": "环境卫生（演示）", "default_severity": Severity.MODERATE})
    campaign = Campaign.objects.order_by("pk").first()
    made = 0
    for external_id, description, since, until in DEMO_TASKS:
        with transaction.atomic():
            finding, created = services.finding_create(
                actor=supervisor, source=Finding.Source.HOTLINE, category=category, description=description,
                campaign=campaign, unit=unit, external_id=external_id, reporter_name="12345热线")
            if not created:
                continue
            task = services.task_dispatch(actor=supervisor, finding=finding)
            now = timezone.now()
            dispatched, due = now - dt.timedelta(hours=since), now + dt.timedelta(hours=until)
            _backdate(finding, task, observed=dispatched - dt.timedelta(hours=2), dispatched=dispatched, due=due)
            image, thumbnail, size = demo_photos.stored(["HJWS"])[("HJWS", False)]
            FindingPhoto.objects.create(finding=finding, image=image, thumbnail=thumbnail, width=demo_photos.SIZE[0],
                                        height=demo_photos.SIZE[1], size=size, content_type="image/jpeg",
                                        uploaded_by=supervisor, uploaded_at=dispatched - dt.timedelta(hours=2))
            made += 1
    if made:
        rollups.rebuild()  # the findings' observed month moved
        stdout.write(f"reminder demo: {made} tasks (green, yellow, red, 督办, 挂牌督办 due); "
                     "run `manage.py run_reminder_scan` or wait for beat")


def _backdate(finding, task, *, observed, dispatched, due) -> None:
    """Move the story back in time as a whole: the call came in (``observed``), the task went out
    (``dispatched``); the rows, the task's dispatch event and the history rows all say so."""
    Finding.objects.filter(pk=finding.pk).update(observed_at=observed, created_at=observed, updated_at=dispatched)
    Finding.history.filter(id=finding.pk).update(observed_at=observed, created_at=observed)
    Finding.history.filter(id=finding.pk, history_type="+").update(history_date=observed, updated_at=observed)
    Finding.history.filter(id=finding.pk, history_type="~").update(history_date=dispatched, updated_at=dispatched)
    RectificationTask.objects.filter(pk=task.pk).update(
        dispatched_at=dispatched, original_due_at=due, due_at=due, created_at=dispatched, updated_at=dispatched,
        warn_at=dispatched + (due - dispatched) * RectificationTask.WARN_SHARE)
    RectificationTask.history.filter(id=task.pk).update(
        history_date=dispatched, created_at=dispatched, updated_at=dispatched, dispatched_at=dispatched, original_due_at=due, due_at=due,
        warn_at=dispatched + (due - dispatched) * RectificationTask.WARN_SHARE)
    TaskEvent.objects.filter(task=task).update(created_at=dispatched, data={"due_at": due.isoformat()})
