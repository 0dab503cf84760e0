"""The rectification loop through its services: transitions, roles, state checks, events, history."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from civportal.errors import Conflict
from inspections import hooks, services
from inspections.models import (
    ExtensionRequest, Finding, RectificationTask, Severity, Submission, TaskEvent,
)

from .helpers import dispatched, finding, jpeg, stored_photo_names, submitted, world

Status = RectificationTask.Status
Action = TaskEvent.Action
pytestmark = pytest.mark.django_db


@pytest.fixture
def w(city, personas):
    return world(city, personas)


def test_whole_loop_dispatch_accept_submit_fail_submit_pass_closes_task_and_finding(w, personas):
    f = finding(w, personas)
    assert f.status == Finding.Status.NEW
    task = services.task_dispatch(actor=personas.supervisor, finding=f, instructions="三日内清理")
    f.refresh_from_db()
    assert (task.status, f.status, task.unit) == (Status.ASSIGNED, Finding.Status.DISPATCHED, w.point_a.unit)

    task = services.task_accept(actor=personas.handler_a, task=task)
    assert task.status == Status.IN_PROGRESS and task.accepted_at is not None
    services.task_submit(actor=personas.handler_a, task=task, note="已清理", photos_in=[jpeg("after.jpg")])
    task = services.task_verify(actor=personas.supervisor, task=task, passed=False, note="仍有残留垃圾")
    assert (task.status, task.rework_count) == (Status.RETURNED, 1)

    services.task_submit(actor=personas.handler_a, task=task, note="已彻底清理", photos_in=[jpeg("after2.jpg")])
    task = services.task_verify(actor=personas.supervisor, task=task, passed=True)
    task.refresh_from_db()
    f.refresh_from_db()
    assert (task.status, task.rework_count, task.closed_by) == (Status.CLOSED, 1, personas.supervisor)
    assert f.status == Finding.Status.CLOSED and f.closed_at == task.closed_at
    assert list(task.events.values_list("action", "from_status", "to_status")) == [
        (Action.DISPATCH, "", Status.ASSIGNED),
        (Action.ACCEPT, Status.ASSIGNED, Status.IN_PROGRESS),
        (Action.SUBMIT, Status.IN_PROGRESS, Status.SUBMITTED),
        (Action.VERIFY_FAIL, Status.SUBMITTED, Status.RETURNED),
        (Action.SUBMIT, Status.RETURNED, Status.SUBMITTED),
        (Action.VERIFY_PASS, Status.SUBMITTED, Status.CLOSED),
    ]
    assert list(task.events.values_list("actor__username", flat=True)) == [
        "p_supervisor", "p_handler_a", "p_handler_a", "p_supervisor", "p_handler_a", "p_supervisor"]
    assert list(task.submissions.values_list("round", "outcome")) == [
        (1, Submission.Outcome.FAILED), (2, Submission.Outcome.PASSED)]
    assert task.submissions.last().photos.count() == 1


def test_every_transition_is_in_the_history_with_its_user(w, personas):
    task = submitted(w, personas)
    services.task_verify(actor=personas.supervisor, task=task, passed=True)
    statuses = list(task.history.order_by("history_date").values_list("status", "history_user__username"))
    assert statuses == [(Status.ASSIGNED, "p_supervisor"), (Status.IN_PROGRESS, "p_handler_a"),
                        (Status.SUBMITTED, "p_handler_a"), (Status.CLOSED, "p_supervisor")]
    finding_statuses = list(task.finding.history.order_by("history_date").values_list("status", flat=True))
    assert finding_statuses == [Finding.Status.NEW, Finding.Status.DISPATCHED, Finding.Status.CLOSED]


def test_stale_transition_is_a_conflict_and_changes_nothing(w, personas):
    task = submitted(w, personas)
    stale = RectificationTask.objects.get(pk=task.pk)
    services.task_verify(actor=personas.supervisor, task=task, passed=True)
    with pytest.raises(Conflict):
        services.task_verify(actor=personas.supervisor, task=stale, passed=False, note="迟到的退回")
    task.refresh_from_db()
    assert task.status == Status.CLOSED and task.rework_count == 0
    assert task.events.filter(action__in=[Action.VERIFY_PASS, Action.VERIFY_FAIL]).count() == 1


def test_expected_status_from_an_old_form_is_a_conflict(w, personas):
    task = dispatched(w, personas)
    services.task_accept(actor=personas.handler_a, task=task)
    with pytest.raises(Conflict):
        services.task_accept(actor=personas.head_a, task=task, expected_status=Status.ASSIGNED)


def test_submit_requires_after_photos_and_a_note(w, personas):
    task = services.task_accept(actor=personas.handler_a, task=dispatched(w, personas))
    with pytest.raises(ValidationError) as exc:
        services.task_submit(actor=personas.handler_a, task=task, note="已清理", photos_in=[])
    assert "photos" in exc.value.message_dict
    with pytest.raises(ValidationError):
        services.task_submit(actor=personas.handler_a, task=task, note="  ", photos_in=[jpeg()])
    task.refresh_from_db()
    assert task.status == Status.IN_PROGRESS and not task.submissions.exists()


def test_inspection_finding_requires_a_before_photo(w, personas):
    with pytest.raises(ValidationError):
        finding(w, personas, photos_in=[])
    assert not Finding.objects.exists()


def test_cannot_submit_before_accepting(w, personas):
    task = dispatched(w, personas)
    with pytest.raises(Conflict):
        services.task_submit(actor=personas.handler_a, task=task, note="x", photos_in=[jpeg()])


def test_verify_fail_requires_a_reason(w, personas):
    task = submitted(w, personas)
    with pytest.raises(ValidationError):
        services.task_verify(actor=personas.supervisor, task=task, passed=False, note="")
    task.refresh_from_db()
    assert task.status == Status.SUBMITTED


@pytest.mark.parametrize("who", ["handler_a", "head_a", "inspector", "leader", "handler_b", "outsider"])
def test_only_supervisors_dispatch_verify_void_and_escalate(w, personas, who):
    actor = getattr(personas, who)
    with pytest.raises(PermissionDenied):
        services.task_dispatch(actor=actor, finding=finding(w, personas))
    task = submitted(w, personas)
    for call in (lambda: services.task_verify(actor=actor, task=task, passed=True),
                 lambda: services.task_void(actor=actor, task=task, reason="x"),
                 lambda: services.task_escalate(actor=actor, task=task)):
        with pytest.raises(PermissionDenied):
            call()
    assert RectificationTask.objects.get(pk=task.pk).status == Status.SUBMITTED


@pytest.mark.parametrize("who", ["handler_b", "supervisor", "inspector", "leader", "outsider"])
def test_only_the_assigned_units_handlers_accept_submit_and_ask_for_time(w, personas, who):
    actor = getattr(personas, who)
    task = dispatched(w, personas)
    with pytest.raises(PermissionDenied):
        services.task_accept(actor=actor, task=task)
    with pytest.raises(PermissionDenied):
        services.task_request_extension(actor=actor, task=task, requested_due_at=task.due_at + dt.timedelta(days=3),
                                        reason="需要采购")
    assert RectificationTask.objects.get(pk=task.pk).status == Status.ASSIGNED


def test_handler_of_district_b_acts_on_tasks_in_b(w, personas):
    task = dispatched(w, personas, visit=w.visit_b)
    assert services.task_accept(actor=personas.handler_b, task=task).status == Status.IN_PROGRESS


def test_extension_moves_the_deadline_only_when_approved(w, personas):
    task = dispatched(w, personas)
    due = task.due_at
    request = services.task_request_extension(actor=personas.handler_a, task=task,
                                              requested_due_at=due + dt.timedelta(days=5), reason="需要施工")
    task.refresh_from_db()
    assert task.due_at == due
    with pytest.raises(Conflict):
        services.task_request_extension(actor=personas.handler_a, task=task,
                                        requested_due_at=due + dt.timedelta(days=6), reason="再申请")
    with pytest.raises(PermissionDenied):
        services.task_decide_extension(actor=personas.handler_a, request=request, approve=True)
    services.task_decide_extension(actor=personas.supervisor, request=request, approve=True, note="同意")
    task.refresh_from_db()
    assert task.due_at == due + dt.timedelta(days=5) and task.original_due_at == due and task.extension_count == 1
    assert task.warn_at < task.due_at
    with pytest.raises(Conflict):
        services.task_decide_extension(actor=personas.supervisor, request=request, approve=False, note="重复")
    second = services.task_request_extension(actor=personas.handler_a, task=task,
                                             requested_due_at=task.due_at + dt.timedelta(days=5), reason="再延")
    services.task_decide_extension(actor=personas.supervisor, request=second, approve=False, note="不同意")
    task.refresh_from_db()
    assert task.due_at == due + dt.timedelta(days=5)
    assert list(ExtensionRequest.objects.values_list("status", flat=True)) == ["approved", "refused"]
    assert list(task.events.values_list("action", flat=True))[1:] == [
        Action.EXTENSION_REQUEST, Action.EXTENSION_APPROVE, Action.EXTENSION_REQUEST, Action.EXTENSION_REFUSE]


def test_extension_must_be_later_than_the_deadline(w, personas):
    task = dispatched(w, personas)
    with pytest.raises(ValidationError):
        services.task_request_extension(actor=personas.handler_a, task=task, requested_due_at=task.due_at,
                                        reason="x")


def test_escalate_raises_one_level_at_a_time_and_refuses_beyond_listed(w, personas):
    task = dispatched(w, personas)
    task = services.task_escalate(actor=personas.supervisor, task=task, note="群众反映强烈")
    assert task.supervision == RectificationTask.Supervision.SUPERVISED
    task = services.task_escalate(actor=None, task=task)
    assert task.supervision == RectificationTask.Supervision.LISTED
    with pytest.raises(Conflict):
        services.task_escalate(actor=personas.supervisor, task=task)
    event = task.events.filter(action=Action.ESCALATE).last()
    assert event.actor is None and event.data["automatic"] is True and event.data["to_level"] == "listed"


def test_bulk_escalation_records_history_and_skips_tasks_already_at_level(w, personas):
    first, second = dispatched(w, personas), dispatched(w, personas, visit=w.visit_b)
    services.task_escalate(actor=personas.supervisor, task=second, level=RectificationTask.Supervision.LISTED)
    n = services.tasks_escalate(actor=None, task_ids=[first.pk, second.pk],
                                level=RectificationTask.Supervision.SUPERVISED)
    assert n == 1
    first.refresh_from_db()
    assert first.supervision == "supervised"
    assert first.history.first().supervision == "supervised"
    assert services.tasks_escalate(actor=None, task_ids=[first.pk], level="supervised") == 0


def test_void_task_sends_the_finding_back_to_triage_and_it_can_be_dispatched_again(w, personas):
    task = dispatched(w, personas)
    with pytest.raises(ValidationError):
        services.task_void(actor=personas.supervisor, task=task, reason="")
    services.task_void(actor=personas.supervisor, task=task, reason="派错单位")
    task.refresh_from_db()
    assert task.status == Status.VOID and task.void_reason == "派错单位"
    f = Finding.objects.get(pk=task.finding_id)
    assert f.status == Finding.Status.NEW
    again = services.task_dispatch(actor=personas.supervisor, finding=f, unit=f.department)
    assert again.unit == f.department and again.status == Status.ASSIGNED


def test_dispatch_twice_is_a_conflict(w, personas):
    f = finding(w, personas)
    stale = Finding.objects.get(pk=f.pk)
    services.task_dispatch(actor=personas.supervisor, finding=f)
    with pytest.raises(Conflict):
        services.task_dispatch(actor=personas.supervisor, finding=stale)
    assert RectificationTask.objects.count() == 1


def test_finding_void_voids_its_open_task_and_keeps_the_record(w, personas):
    task = dispatched(w, personas)
    services.finding_void(actor=personas.supervisor, finding=task.finding, reason="误报")
    task.refresh_from_db()
    assert task.status == Status.VOID
    f = Finding.objects.get(pk=task.finding_id)
    assert (f.status, f.void_reason) == (Finding.Status.VOID, "误报")
    with pytest.raises(Conflict):
        services.finding_void(actor=personas.supervisor, finding=f, reason="again")


def test_hotline_intake_is_idempotent_on_external_id_and_lands_new(w, personas):
    kwargs = dict(actor=personas.supervisor, source=Finding.Source.HOTLINE, category=w.category,
                  description="人民路有垃圾", unit=w.point_a.unit, external_id="12345-0001")
    first, created = services.finding_create(**kwargs)
    again, created_again = services.finding_create(**kwargs)
    assert created and not created_again and first.pk == again.pk
    assert first.status == Finding.Status.NEW and not first.photos.exists()
    other, created_other = services.finding_create(**{**kwargs, "source": Finding.Source.API})
    assert created_other and other.pk != first.pk


def test_duplicate_suggestions_and_marking(w, personas):
    original = finding(w, personas)
    hotline, _ = services.finding_create(
        actor=personas.supervisor, source=Finding.Source.HOTLINE, category=w.category, description="市场门口垃圾",
        unit=w.point_a.unit, latitude=w.point_a.latitude, longitude=w.point_a.longitude)
    far, _ = services.finding_create(
        actor=personas.supervisor, source=Finding.Source.HOTLINE, category=w.category, description="别处垃圾",
        unit=w.point_b.unit, latitude=w.point_b.latitude, longitude=w.point_b.longitude)
    assert [f.pk for f in services.duplicate_candidates(hotline)] == [original.pk]
    assert original.pk not in [f.pk for f in services.duplicate_candidates(far)]
    with pytest.raises(ValidationError):
        services.finding_mark_duplicate(actor=personas.supervisor, finding=hotline, original=hotline)
    services.finding_mark_duplicate(actor=personas.supervisor, finding=hotline, original=original, note="同一问题")
    hotline.refresh_from_db()
    assert hotline.status == Finding.Status.DUPLICATE and hotline.duplicate_of == original
    with pytest.raises(Conflict):
        services.task_dispatch(actor=personas.supervisor, finding=hotline)


def test_repeat_finding_within_30_days_at_the_same_point(w, personas):
    first = finding(w, personas, observed_at=timezone.now() - dt.timedelta(days=10))
    second = finding(w, personas)
    later_elsewhere = finding(w, personas, visit=w.visit_b)
    assert (first.is_repeat, second.is_repeat, later_elsewhere.is_repeat) == (False, True, False)


def test_severity_defaults_to_the_category(w, personas):
    assert finding(w, personas).severity == Severity.MODERATE


def test_side_effects_run_only_after_commit(w, personas, django_capture_on_commit_callbacks):
    seen = []
    hooks.on_task_event(seen.append)
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            task = dispatched(w, personas)
        assert seen == [] and callbacks
        for callback in callbacks:
            callback()
        assert seen == [task.events.get().pk]
    finally:
        hooks.task_event_listeners.remove(seen.append)


def test_a_failing_listener_does_not_undo_the_transition(w, personas, django_capture_on_commit_callbacks):
    def broken(event_id):
        raise RuntimeError("broker down")

    hooks.on_task_event(broken)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            task = dispatched(w, personas)
        assert task.events.count() == 1
    finally:
        hooks.task_event_listeners.remove(broken)


def test_voiding_a_task_refuses_its_pending_extension_with_history(w, personas):
    task = dispatched(w, personas)
    request = services.task_request_extension(actor=personas.handler_a, task=task,
                                              requested_due_at=task.due_at + dt.timedelta(days=2), reason="等材料")
    services.task_void(actor=personas.supervisor, task=task, reason="派错")
    request.refresh_from_db()
    assert (request.status, request.decided_by) == ("refused", personas.supervisor)
    assert request.history.first().status == "refused" and request.history.first().history_user == personas.supervisor


def test_photo_files_of_a_failed_transition_are_discarded(w, personas, settings):
    from unittest import mock

    task = services.task_accept(actor=personas.handler_a, task=dispatched(w, personas))
    before = stored_photo_names()
    with mock.patch("inspections.services._event", side_effect=RuntimeError("boom")), pytest.raises(RuntimeError):
        services.task_submit(actor=personas.handler_a, task=task, note="好了", photos_in=[jpeg()])
    assert stored_photo_names() == before
    assert not Submission.objects.exists()
