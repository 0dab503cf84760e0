"""The reminder engine: remind each object once per level (DESIGN §5).

An app describes one kind of reminder with a ``Ladder``: the model, its
levels in ladder order, who may be due (a coarse query), which levels an
object has reached at a time, and how to send one level. Everything else is
the same for rectification tasks, work items, and the materials calls and
notices to come, and lives here:

* ``due`` — every level reached and not yet logged, per object, in ladder
  order, in a fixed number of queries. Levels are independent facts: a higher
  level logged first (by a worker that outlived another) never hides a lower one.
* ``remind`` — one transaction per object: lock it, then for each wanted
  level still reached, in ladder order, claim it (``ReminderLog``, unique per
  object × level) and send it. The claim commits with what the send writes
  (inbox rows, timeline events); email and webhooks are queued after commit.
  A worker killed mid-way rolls everything back, so the next scan finds the
  levels again; a second delivery of a message finds them claimed.
* ``scan`` — find what is due and either send it here (``inline``) or publish
  one message per object carrying its levels (``Ladder.task``, by name), so a
  worker sends one object's levels in order. Its report says what was sent,
  what someone else had already claimed, and what was queued.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db import models, transaction
from django.utils import timezone

from . import queueing
from .services import reminder_claim, reminder_levels_logged


@dataclass(frozen=True)
class Ladder:
    """One kind of reminder: the app's rule of *who* is due *when*, and how a level is sent."""

    model: type[models.Model]
    levels: tuple[str, ...]  # ladder order, lowest first
    task: str  # the Celery task (by name) that calls ``remind`` for one object
    object_kwarg: str  # that task's keyword for the object id
    candidates: Callable[[dt.datetime], Iterable[models.Model]]  # objects that may have a level due (one query)
    reached: Callable[[list[models.Model], dt.datetime], dict[int, list[str]]]  # object id -> levels reached
    lock: Callable[[int], models.Model | None]  # the object, locked for update, with what ``send`` reads
    send: Callable[[models.Model, str, dt.datetime], models.Model | None]  # writes and notifies; may return the object updated

    def ordered(self, levels: Iterable[str]) -> list[str]:
        unknown = set(levels) - set(self.levels)
        if unknown:
            raise ValueError(f"unknown reminder level(s): {sorted(unknown)}")
        return sorted(set(levels), key=self.levels.index)


@dataclass
class Reminded:
    """What one ``remind`` call did for one object."""

    sent: list[str] = field(default_factory=list)
    claimed: list[str] = field(default_factory=list)  # logged before this call (another worker, an earlier scan)


@dataclass
class ScanReport:
    due: list[tuple[int, str]] = field(default_factory=list)  # found reached and not logged
    sent: list[tuple[int, str]] = field(default_factory=list)  # sent by this scan (inline)
    claimed: list[tuple[int, str]] = field(default_factory=list)  # due when found, already claimed when sent (inline)
    queued: list[tuple[int, str]] = field(default_factory=list)  # handed to workers (fan-out)


def due(ladder: Ladder, now: dt.datetime | None = None) -> list[tuple[int, str]]:
    """(object id, level) pairs reached and not yet logged, each object's levels in ladder order."""
    now = now or timezone.now()
    objects = list(ladder.candidates(now))
    logged = reminder_levels_logged(ladder.model, [o.pk for o in objects])
    reached = ladder.reached(objects, now)
    return [(o.pk, level) for o in objects for level in ladder.ordered(reached.get(o.pk, ()))
            if (o.pk, level) not in logged]


def remind(ladder: Ladder, *, object_id: int, levels: Iterable[str], now: dt.datetime | None = None) -> Reminded:
    """Send the wanted ``levels`` of one object that it has reached, in ladder order, each exactly once."""
    wanted = ladder.ordered(levels)
    now = now or timezone.now()
    result = Reminded()
    with transaction.atomic():
        obj = ladder.lock(object_id)
        if obj is None:
            return result
        reached = set(ladder.reached([obj], now).get(obj.pk, ()))
        for level in wanted:
            if level not in reached:
                continue
            if not reminder_claim(obj=obj, level=level):
                result.claimed.append(level)
                continue
            obj = ladder.send(obj, level, now) or obj
            result.sent.append(level)
    return result


def scan(ladder: Ladder, *, now: dt.datetime | None = None, inline: bool = False) -> ScanReport:
    """One scan. ``inline`` sends here (management command, tests); otherwise one
    message per object with its due levels (a failed publish is logged and the
    next scan finds the levels still due)."""
    report = ScanReport(due=due(ladder, now))
    by_object: dict[int, list[str]] = {}
    for object_id, level in report.due:
        by_object.setdefault(object_id, []).append(level)
    for object_id, levels in by_object.items():
        if inline:
            done = remind(ladder, object_id=object_id, levels=levels, now=now)
            report.sent += [(object_id, level) for level in done.sent]
            report.claimed += [(object_id, level) for level in done.claimed]
        elif queueing.publish(ladder.task, **{ladder.object_kwarg: object_id, "levels": levels}):
            report.queued += [(object_id, level) for level in levels]
    return report
