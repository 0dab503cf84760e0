"""Side effects of the loop, queued after commit.

Notifications, reminders and webhooks are built elsewhere (a later issue);
they subscribe here. A listener gets the id of a TaskEvent once the
transition's transaction has committed; a failing listener is logged and
never turns a saved transition into an error."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import transaction

logger = logging.getLogger(__name__)

task_event_listeners: list[Callable[[int], None]] = []
finding_listeners: list[Callable[[int], None]] = []


def on_task_event(listener: Callable[[int], None]) -> Callable[[int], None]:
    """Register ``listener(event_id)``; usable as a decorator from an AppConfig.ready()."""
    if listener not in task_event_listeners:
        task_event_listeners.append(listener)
    return listener


def _dispatch(event_id: int) -> None:
    for listener in list(task_event_listeners):
        try:
            listener(event_id)
        except Exception:  # noqa: BLE001 — a broken channel must not undo the transition
            logger.exception("task event listener %r failed for event %s", listener, event_id)


def task_event_committed(event_id: int) -> None:
    """Queue the listeners for ``event_id`` after the current transaction commits."""
    transaction.on_commit(lambda: _dispatch(event_id))


def on_finding_created(listener: Callable[[int], None]) -> Callable[[int], None]:
    """Register ``listener(finding_id)``, called after a new finding is committed."""
    if listener not in finding_listeners:
        finding_listeners.append(listener)
    return listener


def _dispatch_finding(finding_id: int) -> None:
    for listener in list(finding_listeners):
        try:
            listener(finding_id)
        except Exception:  # noqa: BLE001 — a broken channel must not undo the finding
            logger.exception("finding listener %r failed for finding %s", listener, finding_id)


def finding_created_committed(finding_id: int) -> None:
    transaction.on_commit(lambda: _dispatch_finding(finding_id))
