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
# Batched versions of finding listeners (bulk intake): listener → listener_many(ids).
finding_listeners_many: dict[Callable[[int], None], Callable[[list[int]], None]] = {}


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


def on_finding_created(listener: Callable[[int], None], *,
                       many: Callable[[list[int]], None] | None = None) -> Callable[[int], None]:
    """Register ``listener(finding_id)``, called after a new finding is committed.
    ``many(finding_ids)``, if given, handles a whole batch (bulk intake) with a
    fixed number of queries; without it the batch calls ``listener`` per id."""
    if listener not in finding_listeners:
        finding_listeners.append(listener)
    if many is not None:
        finding_listeners_many[listener] = many
    return listener


def _dispatch_finding(finding_id: int) -> None:
    for listener in list(finding_listeners):
        try:
            listener(finding_id)
        except Exception:  # noqa: BLE001 — a broken channel must not undo the finding
            logger.exception("finding listener %r failed for finding %s", listener, finding_id)


def finding_created_committed(finding_id: int) -> None:
    transaction.on_commit(lambda: _dispatch_finding(finding_id))


def _dispatch_findings(finding_ids: list[int]) -> None:
    for listener in list(finding_listeners):
        many = finding_listeners_many.get(listener)
        calls = [(many, finding_ids)] if many is not None else [(listener, pk) for pk in finding_ids]
        for function, argument in calls:
            try:
                function(argument)
            except Exception:  # noqa: BLE001 — a broken channel must not undo the findings
                logger.exception("finding listener %r failed for %s", function, argument)


def findings_created_committed(finding_ids: list[int]) -> None:
    """One after-commit call for a whole batch of new findings (bulk intake)."""
    if finding_ids:
        ids = list(finding_ids)
        transaction.on_commit(lambda: _dispatch_findings(ids))
