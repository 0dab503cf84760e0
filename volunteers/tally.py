"""The registered-volunteer tally (``VolunteerTally``): active volunteers per community.

Every service that creates a volunteer, changes one's status or moves one to another community adds
its delta here, in its own transaction (an additive ``INSERT … ON CONFLICT DO UPDATE``); ``rebuild``
recomputes the table from the volunteers (demo data, the benchmark seeder, the ``rebuild_rollups``
command). The dashboards (``dashboards.selectors.volunteer_totals``) and ``registered_by_prefix`` (the
statistics page) sum a subtree's rows through the unit table: O(communities under the root), not
O(volunteers). docs/dashboards.md."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Count, Sum
from django.db.models.functions import Substr

from campaigns.models import Unit
from civportal.summaries import insert_select, upsert_sums

from .models import Volunteer, VolunteerTally

ACTIVE = Volunteer.Status.ACTIVE


def add(deltas: Counter | dict[int, int]) -> None:
    """Add ``{unit_id: delta}`` to the tally (one statement; zero deltas are skipped)."""
    upsert_sums(VolunteerTally, ["unit_id"], ["active"], {(unit_id,): (n,) for unit_id, n in deltas.items() if unit_id})


def changed(before: tuple[int | None, str] | None, after: tuple[int | None, str] | None) -> None:
    """One volunteer went from ``before`` to ``after`` (each ``(unit_id, status)``, None when it did not
    exist): the tally follows when either side is active."""
    deltas: Counter = Counter()
    if before is not None and before[1] == ACTIVE:
        deltas[before[0]] -= 1
    if after is not None and after[1] == ACTIVE:
        deltas[after[0]] += 1
    add(deltas)


def created(volunteers: Iterable[Volunteer]) -> None:
    """New volunteers (a registration or an import's rows)."""
    add(Counter(v.unit_id for v in volunteers if v.status == ACTIVE))


def rebuild() -> int:
    """Recompute the tally from the volunteers; returns the number of rows."""
    with transaction.atomic():
        VolunteerTally.objects.all().delete()  # a derived table, refilled below: not a domain record
        insert_select(VolunteerTally, ["unit", "active"],
                      Volunteer.objects.counted().order_by().values("unit_id").annotate(n=Count("pk"))
                      .values("unit_id", "n"))
        return VolunteerTally.objects.count()


def registered_by_prefix(root: Unit, prefix_len: int) -> dict[str, int]:
    """Registered volunteers under ``root`` grouped by the first ``prefix_len`` characters of their
    community's path (the subtrees of the root's children, for ``prefix_len`` one step past the root)."""
    rows = (VolunteerTally.objects.filter(unit__path__startswith=root.path).annotate(prefix=Substr("unit__path", 1, prefix_len)).order_by().values("prefix")
            .annotate(n=Sum("active")))
    return {row["prefix"]: row["n"] for row in rows}
