"""The finding and task pages read only what they show (issue 13, P2): fewer columns, no SQL
traffic light, people by their names. The markup must not change: each page is compared with
the page rendered from the full rows as the views read them before (the reference below), in
the states that show different parts (new with triage, dispatched, submitted with photos,
extension pending, closed, voided) and as each role that sees different buttons."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns.models import Membership
from campaigns.scope import has_role
from inspections import deadlines, selectors, services, views
from inspections.forms import (
    DecideExtensionForm, DispatchForm, DuplicateForm, EscalateForm, ExtensionForm, NoteForm, ReasonForm, SubmitForm,
)
from inspections.models import Finding, FindingPhoto, RectificationTask, Submission, TaskEvent

from .helpers import dispatched, finding, submitted, world

pytestmark = pytest.mark.django_db
Role = Membership.Role


# --- the reference: the pages' context as the views built it before (full rows, SQL light) -------------------

def reference_finding_page(request, pk):
    finding = get_object_or_404(selectors.findings_for(request.user, task_list=False), pk=pk)
    tasks = list(RectificationTask.objects.visible_to(request.user).filter(finding=finding)
                 .select_related("unit").with_light().order_by("dispatched_at", "id")
                 .prefetch_related(Prefetch("events", queryset=TaskEvent.objects.select_related("actor")),
                                   Prefetch("submissions", queryset=Submission.objects.select_related("submitted_by")
                                            .prefetch_related("photos"))))
    for task in tasks:
        task.finding = finding
    can_triage = finding.status == Finding.Status.NEW and has_role(request.user, finding.unit, [Role.SUPERVISOR])
    can_void = finding.is_open and has_role(request.user, finding.unit, [Role.SUPERVISOR])
    return render(request, "inspections/finding_detail.html", {
        "finding": finding, "tasks": tasks, "can_triage": can_triage, "can_void": can_void,
        "candidates": services.duplicate_candidates(finding) if can_triage else [],
        "dispatch_form": DispatchForm(user=request.user) if can_triage else None,
        "duplicate_form": DuplicateForm() if can_triage else None,
        "rule_deadline": views._rule_deadline(finding) if can_triage else None,
        "void_form": ReasonForm() if can_void else None,
        "history": finding.history.select_related("history_user").order_by("-history_date")[:20],
    })


def reference_task_page(request, pk):
    task = views.get_task(request.user, pk)
    user = request.user
    is_unit = has_role(user, task.unit, [Role.HANDLER, Role.HEAD])
    is_office = has_role(user, task.unit, [Role.SUPERVISOR])
    pending = task.pending_extensions[0] if task.pending_extensions else None
    S = RectificationTask.Status
    can = {
        "can_accept": is_unit and task.status in (S.ASSIGNED, S.RETURNED),
        "can_submit": is_unit and task.status in (S.IN_PROGRESS, S.RETURNED),
        "can_extend": is_unit and task.status in (S.ASSIGNED, S.IN_PROGRESS, S.RETURNED) and pending is None,
        "can_verify": is_office and task.status == S.SUBMITTED,
        "can_decide": is_office and pending is not None and task.is_open,
        "can_escalate": is_office and task.is_open and task.supervision != RectificationTask.Supervision.LISTED,
        "can_void": is_office and task.is_open,
    }
    forms = {
        "accept_form": ("can_accept", lambda: NoteForm(initial={"expected_status": task.status}, auto_id="id_accept_%s")),
        "verify_form": ("can_verify", lambda: NoteForm(initial={"expected_status": task.status}, auto_id="id_verify_%s")),
        "submit_form": ("can_submit", lambda: SubmitForm(initial={"expected_status": task.status},
                                                         auto_id="id_submit_%s")),
        "extension_form": ("can_extend", lambda: ExtensionForm(auto_id="id_extension_%s")),
        "escalate_form": ("can_escalate", lambda: EscalateForm(auto_id="id_escalate_%s")),
        "void_form": ("can_void", lambda: ReasonForm(auto_id="id_void_%s")),
        "decide_form": ("can_decide", lambda: DecideExtensionForm(initial={"request": pending.pk},
                                                                  auto_id="id_decide_%s")),
    }
    return render(request, "inspections/task_detail.html", {
        "task": task, "finding": task.finding,
        "before_photos": FindingPhoto.objects.filter(finding=task.finding).order_by("id"),
        "events": selectors.task_timeline(task), "submissions": selectors.task_submissions(task),
        "pending": pending,
        "due_provisional": task.is_open and deadlines.deadline_is_provisional(task.dispatched_at, task.due_at),
        **can,
        **{name: make() if can[shown] else None for name, (shown, make) in forms.items()},
    })


def page_request(user, path):
    request = RequestFactory().get(path)
    request.user, request.session = user, SessionStore()
    request._messages = FallbackStorage(request)
    return request


def markup(response) -> str:
    assert response.status_code == 200
    # Every render masks the CSRF token anew.
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', 'name="csrfmiddlewaretoken"', response.content.decode())


def same_page(view, reference, user, path, pk):
    with CaptureQueriesContext(connection) as before:
        expected = markup(reference(page_request(user, path), pk=pk))
    with CaptureQueriesContext(connection) as now:
        got = markup(view(page_request(user, path), pk=pk))
    assert got == expected, (user.username, path)
    # No more: the object with its relations in one statement of scalar subqueries (civportal.related), whose
    # own FROM joins nothing (the last FROM: the subqueries come before it, in the select list).
    assert len(now) <= len(before), (user.username, path, len(now), len(before))
    assert "JOIN" not in now.captured_queries[0]["sql"].rsplit(" FROM ", 1)[1], now.captured_queries[0]["sql"]
    return got


@pytest.fixture
def states(city, personas):
    """A finding or task in each state the pages show differently."""
    w = world(city, personas)
    new = finding(w, personas, description="新发现 <b>&</b>\n第二行", latitude="29.870100", longitude="121.550100")
    finding(w, personas, description="附近的同类问题")  # a duplicate candidate for the triage section
    assigned = dispatched(w, personas, description="已派发")
    in_progress = services.task_accept(actor=personas.handler_a, task=dispatched(w, personas, description="整改中"))
    extension = services.task_request_extension(
        actor=personas.handler_a, task=dispatched(w, personas, description="申请延期"),
        requested_due_at=timezone.now() + dt.timedelta(days=20), reason="雨天施工")
    reported = submitted(w, personas, description="已整改待核查")
    closed = services.task_verify(actor=personas.supervisor, task=submitted(w, personas, description="已办结"),
                                  passed=True, note="通过")
    returned = services.task_verify(actor=personas.supervisor, task=submitted(w, personas, description="退回"),
                                    passed=False, note="未清理干净")
    voided_task = services.task_void(actor=personas.supervisor, task=dispatched(w, personas, description="作废任务"),
                                     reason="派错单位")
    voided = services.finding_void(actor=personas.supervisor, finding=finding(w, personas, description="作废"),
                                   reason="重复上报")
    tasks = [assigned, in_progress, extension.task, reported, closed, returned, voided_task]
    now = timezone.now()  # the first one overdue: a red light
    RectificationTask.objects.filter(pk=assigned.pk).update(dispatched_at=now - dt.timedelta(days=10),
                                                            warn_at=now - dt.timedelta(days=3),
                                                            due_at=now - dt.timedelta(hours=1))
    return {"findings": [new, voided, *(t.finding for t in tasks)], "tasks": tasks}


ROLES = ["supervisor", "handler_a", "head_a", "leader", "inspector"]


@pytest.mark.parametrize("role", ROLES)
def test_finding_pages_are_the_same_markup_with_fewer_columns(states, personas, role):
    user = getattr(personas, role)
    shown = 0
    for f in states["findings"]:
        path = f"/findings/{f.pk}/"
        try:
            reference_finding_page(page_request(user, path), pk=f.pk)
        except Http404:  # outside this role's scope: the view answers 404 as well
            with pytest.raises(Http404):
                views.finding_detail(page_request(user, path), pk=f.pk)
            continue
        page = same_page(views.finding_detail, reference_finding_page, user, path, f.pk)
        shown += 1
        assert f.description.split("\n")[0][:3] in page
    assert shown or role == "inspector"


@pytest.mark.parametrize("role", ROLES)
def test_task_pages_are_the_same_markup_with_fewer_columns(states, personas, role):
    user = getattr(personas, role)
    shown = 0
    for t in states["tasks"]:
        path = f"/tasks/{t.pk}/"
        try:
            reference_task_page(page_request(user, path), pk=t.pk)
        except Http404:
            with pytest.raises(Http404):
                views.task_detail(page_request(user, path), pk=t.pk)
            continue
        same_page(views.task_detail, reference_task_page, user, path, t.pk)
        shown += 1
    assert shown or role == "inspector"


def test_the_pages_show_every_part_somewhere(states, personas):
    """The states above do reach the parts the comparison is about."""
    office, handler = personas.supervisor, personas.handler_a
    new_page = markup(views.finding_detail(page_request(office, "/"), pk=states["findings"][0].pk))
    assert 'id="triage"' in new_page and "Void finding" in new_page or "作废" in new_page
    task_pages = "".join(markup(views.task_detail(page_request(user, "/"), pk=t.pk))
                         for t in states["tasks"] for user in (office, handler))
    for part in ("light-red", "light-green", "timeline", "id_decide_", "id_verify_",
                 "id_accept_", "id_submit_", "id_extension_", "id_escalate_", "id_void_", "/photos/submission/",
                 "/photos/finding/"):
        assert part in task_pages, part


@pytest.mark.parametrize("number", ["0", "9223372036854775807", "9223372036854775808", "99999999999999999999999"])
def test_a_number_no_row_can_have_is_a_404(states, personas, login, number):
    """The pages read their object by a compiled statement, not get_object_or_404: a number out of
    the key's range, or no row, is still a 404 (never a database error), and an existing one in
    scope still shows."""
    client = login(personas.supervisor)
    for page in ("findings", "tasks"):
        assert client.get(f"/{page}/{number}/").status_code == 404
    assert client.get(f"/tasks/{states['tasks'][0].pk}/").status_code == 200
    assert client.get(f"/findings/{states['findings'][0].pk}/").status_code == 200
