"""Two supervisors verify the same submitted task at the same moment (PostgreSQL, real transactions)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from campaigns.models import Membership
from inspections.models import RectificationTask, TaskEvent

from ..factories import make_member
from .helpers import submitted, world


@pytest.mark.django_db(transaction=True)
def test_two_supervisors_verifying_at_once_one_succeeds_one_gets_409(city, personas, api, on_postgresql):
    w = world(city, personas)
    task = submitted(w, personas)
    second_supervisor = make_member(city.city, Membership.Role.SUPERVISOR, "p_supervisor_2")
    clients = [api(personas.supervisor), api(second_supervisor)]
    barrier = threading.Barrier(2)
    results: list[int] = []
    bodies: list[dict] = []

    def verify(client, path, body):
        try:
            barrier.wait(timeout=10)
            response = client.post(path, body, format="json")
            results.append(response.status_code)
            bodies.append(response.json())
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=verify, args=(clients[0], f"/api/v1/tasks/{task.pk}/verify/", {})),
        threading.Thread(target=verify, args=(clients[1], f"/api/v1/tasks/{task.pk}/return/", {"note": "不合格"})),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(results) == [200, 409], bodies
    conflict = next(b for b in bodies if b.get("code") == "conflict")
    assert conflict["detail"]
    decided = TaskEvent.objects.filter(task=task, action__in=[TaskEvent.Action.VERIFY_PASS,
                                                               TaskEvent.Action.VERIFY_FAIL])
    assert decided.count() == 1
    task.refresh_from_db()
    winner = decided.get().action
    if winner == TaskEvent.Action.VERIFY_PASS:
        assert (task.status, task.rework_count) == (RectificationTask.Status.CLOSED, 0)
    else:
        assert (task.status, task.rework_count) == (RectificationTask.Status.RETURNED, 1)
    assert connection.vendor == "postgresql"


@pytest.mark.django_db(transaction=True)
def test_two_identical_verifies_record_exactly_one_event(city, personas, api, on_postgresql):
    w = world(city, personas)
    task = submitted(w, personas)
    barrier = threading.Barrier(4)
    results: list[int] = []

    def verify():
        client = api(personas.supervisor)
        try:
            barrier.wait(timeout=10)
            results.append(client.post(f"/api/v1/tasks/{task.pk}/verify/", {}, format="json").status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=verify) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == [200, 409, 409, 409]
    assert TaskEvent.objects.filter(task=task, action=TaskEvent.Action.VERIFY_PASS).count() == 1
