"""Builders for reminder tests: tasks with deadlines placed around a fixed 'now'."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from inspections.models import RectificationTask
from notifications import queueing
from tests.inspections.helpers import dispatched, world

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)


def place(task: RectificationTask, *, dispatched_at: dt.datetime, due_at: dt.datetime) -> RectificationTask:
    """Move a task's clock (test data only): dispatch time, deadline, 80% point."""
    warn_at = dispatched_at + (due_at - dispatched_at) * RectificationTask.WARN_SHARE
    RectificationTask.objects.filter(pk=task.pk).update(dispatched_at=dispatched_at, original_due_at=due_at,
                                                        due_at=due_at, warn_at=warn_at)
    task.refresh_from_db()
    return task


@pytest.fixture
def loop(city, personas):
    """The loop world with a task factory; everyone has an email address."""
    w = world(city, personas)

    def task(*, dispatched_at: dt.datetime, due_at: dt.datetime, **kw) -> RectificationTask:
        return place(dispatched(w, personas, **kw), dispatched_at=dispatched_at, due_at=due_at)

    return SimpleNamespace(world=w, task=task, city=city, personas=personas)


@pytest.fixture(autouse=True)
def _fresh_breaker():
    queueing.reset_breaker()
    yield
    queueing.reset_breaker()


@pytest.fixture
def eager():
    """Run Celery tasks in-process (apply_async executes immediately)."""
    from civportal.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield app
    app.conf.task_always_eager = before
