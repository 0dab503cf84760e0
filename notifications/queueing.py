"""Publishing Celery messages after commit without ever failing the request.

A broker outage must not turn a saved request into an error (TARGETS R2):
``publish`` catches and logs every failure, and after one failure it stops
trying for ``BROKER_BACKOFF`` seconds so a request that queues several
messages still answers fast. Nothing is lost: what was not queued stays
*pending* in the database and the sweeper (or the next reminder scan) queues
it again once the broker is back."""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)

_down_until = 0.0


def broker_backoff() -> float:
    return float(getattr(settings, "BROKER_FAILURE_BACKOFF", 30))


def reset_breaker() -> None:
    """Forget a remembered broker failure (tests; after the broker is back it also expires by itself)."""
    global _down_until
    _down_until = 0.0


def task_named(task):
    """A Celery task object from its registered name (or the task itself). Services
    queue tasks by name, so a tasks module can import its services without a circle."""
    if not isinstance(task, str):
        return task
    from civportal.celery import app

    if task not in app.tasks:  # outside a worker the apps' tasks modules load on first use
        app.loader.import_default_modules()
    return app.tasks[task]


def publish(task, **kwargs) -> bool:
    """Send ``task`` (a task or its name) with keyword arguments; False (logged) when the broker is unreachable."""
    global _down_until
    task = task_named(task)
    if time.monotonic() < _down_until:
        logger.warning("broker marked unreachable; %s %s left for the sweeper", task.name, kwargs)
        return False
    try:
        task.apply_async(kwargs=kwargs, retry=True, retry_policy=settings.CELERY_TASK_PUBLISH_RETRY_POLICY)
    except Exception:  # noqa: BLE001 — any broker/transport error; the row stays pending
        _down_until = time.monotonic() + broker_backoff()
        logger.exception("could not queue %s %s; the sweeper will retry", task.name, kwargs)
        return False
    return True


def publish_after_commit(task, kwargs_list: list[dict]) -> None:
    """Queue ``task`` once per kwargs after the current transaction commits
    (immediately when there is none)."""
    if not kwargs_list:
        return
    task = task_named(task)

    def send() -> None:
        for kwargs in kwargs_list:
            publish(task, **kwargs)

    transaction.on_commit(send)
