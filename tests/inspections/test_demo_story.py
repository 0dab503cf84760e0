"""The demo city is credible (issue 20, acceptance 7): every task's dates are in
order and its history and timeline say the same times; findings and
submissions carry photos that open; the last complete month has closed, late
and reworked tasks; loading it twice changes nothing."""

from __future__ import annotations

import io
from collections import defaultdict

import pytest
from django.core.management import call_command
from django.db.models import F
from django.utils import timezone
from PIL import Image

from campaigns.models import Unit, User
from inspections.demo import month_bounds
from inspections.models import (
    Finding, FindingPhoto, RectificationTask, Submission, SubmissionPhoto, TaskEvent,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    call_command("load_demo", "--quiet", stdout=open("/dev/null", "w"))
    counts = (Finding.objects.count(), RectificationTask.objects.count(), RectificationTask.history.count(),
              Submission.objects.count(), FindingPhoto.objects.count(), TaskEvent.objects.count())
    call_command("load_demo", "--quiet", stdout=open("/dev/null", "w"))
    assert counts == (Finding.objects.count(), RectificationTask.objects.count(), RectificationTask.history.count(),
                      Submission.objects.count(), FindingPhoto.objects.count(), TaskEvent.objects.count())
    return counts


def test_every_task_tells_one_story_in_order_with_history_at_the_shown_times(demo):
    now = timezone.now()
    history, events = defaultdict(list), defaultdict(list)
    for row in RectificationTask.history.order_by("history_date", "history_id"):
        history[row.id].append(row)
    for event in TaskEvent.objects.order_by("created_at", "id"):
        events[event.task_id].append(event)
    tasks = list(RectificationTask.objects.select_related("finding"))
    assert len(tasks) > 250
    for task in tasks:
        chain = [t for t in (task.finding.observed_at, task.dispatched_at, task.accepted_at, task.submitted_at,
                             task.closed_at) if t is not None]
        assert chain == sorted(chain) and chain[-1] <= now, (task.pk, task.status, chain)
        assert task.created_at == task.dispatched_at and task.finding.created_at <= task.dispatched_at
        rows = history[task.pk]
        assert rows[0].history_type == "+" and rows[0].history_date == task.dispatched_at, task.pk
        assert (rows[-1].status, rows[-1].rework_count, rows[-1].supervision, rows[-1].closed_at) == (
            task.status, task.rework_count, task.supervision, task.closed_at), task.pk
        assert task.updated_at == rows[-1].history_date
        times = {e.created_at for e in events[task.pk]}
        assert {r.history_date for r in rows} <= times, task.pk
        shown = {e.action: e.created_at for e in events[task.pk]}  # the last of each action
        assert shown["dispatch"] == task.dispatched_at
        assert shown.get("accept") == task.accepted_at or task.accepted_at is None
        assert shown.get("submit") == task.submitted_at
        assert shown.get("verify_pass") == task.closed_at
        assert all(task.dispatched_at <= t <= now for t in times)
        if task.closed_at:
            assert task.finding.closed_at == task.closed_at
    for finding in Finding.objects.all():
        rows = list(finding.history.order_by("history_date", "history_id"))
        assert rows[0].history_type == "+" and rows[0].history_date == finding.observed_at == finding.created_at
        assert rows[-1].status == finding.status and rows[-1].history_date <= now
    # Submissions and reviews happen at the timeline's times.
    for s in Submission.objects.select_related("task"):
        assert s.task.accepted_at <= s.submitted_at <= now
        assert s.reviewed_at is None or s.submitted_at <= s.reviewed_at <= now


def test_the_last_complete_month_has_closed_late_and_returned_tasks(demo):
    start, end = month_bounds(timezone.now())
    closed = RectificationTask.objects.filter(status="closed", closed_at__gte=start, closed_at__lt=end)
    assert closed.count() >= 30
    assert closed.filter(closed_at__gt=F("due_at")).count() >= 5  # late
    assert closed.filter(closed_at__lte=F("due_at")).count() >= 5  # on time
    assert closed.filter(rework_count__gt=0).count() >= 5
    assert TaskEvent.objects.filter(action="verify_fail", created_at__gte=start, created_at__lt=end).count() >= 5
    assert Finding.objects.filter(observed_at__gte=start, observed_at__lt=end).count() >= 150
    # The draft of that month has ranked scores for the districts.
    from scores.models import MonthlyScore

    assert MonthlyScore.objects.filter(month=start.date(), kind="district", total__isnull=False).count() == 4


def test_findings_and_submissions_have_photos_that_open(demo, client):
    assert not Finding.objects.filter(photos__isnull=True).exists()
    done = RectificationTask.objects.filter(status__in=["submitted", "closed"])
    assert not Submission.objects.filter(task__in=done, photos__isnull=True).exists()
    assert done.count() > 100
    from civportal.storage import photo_storage

    storage = photo_storage()
    names = set()
    for model in (FindingPhoto, SubmissionPhoto):
        for image, thumbnail in model.objects.values_list("image", "thumbnail").distinct():
            names |= {image, thumbnail}
    assert 8 <= len(names) <= 40  # a handful of files shared by hundreds of rows
    sizes = set()
    for name in names:
        with storage.open(name) as handle:
            picture = Image.open(handle)
            picture.verify()
            assert picture.format == "JPEG"
        sizes.add(storage.size(name))
    assert max(sizes) < 80_000 and len(sizes) > 8  # small, and different per category
    # Through the pages: the supervisor opens a closed task's before and after photos.
    client.force_login(User.objects.get(username="supervisor"))
    task = RectificationTask.objects.filter(status="closed").select_related("finding").first()
    page = client.get(f"/tasks/{task.pk}/").content.decode()
    before = FindingPhoto.objects.filter(finding=task.finding).first()
    after = SubmissionPhoto.objects.filter(submission__task=task).first()
    for kind, photo in (("finding", before), ("submission", after)):
        assert f"/photos/{kind}/{photo.pk}/thumb/" in page
        response = client.get(f"/photos/{kind}/{photo.pk}/full/")
        assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert body[:2] == b"\xff\xd8" and Image.open(io.BytesIO(body)).size == (640, 480)


def test_demo_points_lie_inside_their_community_outline(demo):
    from campaigns.geojson import bounds
    from campaigns.models import Point

    units = {u.pk: u for u in Unit.objects.filter(kind=Unit.Kind.COMMUNITY, code__startswith="MZ")}
    assert all(u.boundary for u in units.values())
    for point in Point.objects.filter(code__startswith="MZP"):
        west, south, east, north = bounds(units[point.unit_id].boundary)
        assert west < float(point.longitude) < east and south < float(point.latitude) < north, point.code
    districts = Unit.objects.filter(kind=Unit.Kind.DISTRICT, code__startswith="MZ")
    assert districts.count() == 4 and not districts.filter(boundary__isnull=True).exists()
