"""The dashboards cost a fixed number of queries, whatever the amount of data."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Unit
from inspections.models import Finding, FindingCategory
from tests.factories import make_unit
from tests.scores.helpers import inspection, point, point_type
from tests.volunteers.conftest import make_volunteer

from .conftest import at, make_finding, make_score, make_task

pytestmark = pytest.mark.django_db

# Pinned (steady state, after a first request): session, user, memberships, the form's units, the campaigns
# (the select, the chosen one, the default), whether the root (the city) covers every unit, 10 figure queries
# (the findings rollup per month and the closures per month each read once), the volunteer statistics (one
# query), the notification bell, the recurrence panel (回头看: rates and 顽疾点位, two queries),
# the root's outline for the map (three more when the units below have outlines: tests/dashboards/test_map.py).
# The unit dashboard adds its score and the findings that cost it points.
SUPERVISOR_QUERIES = 22
UNIT_QUERIES = 23


def seed(city, n: int):
    """``n`` findings with tasks in every state across streets, categories and point types, and scores."""
    from tests.scores.helpers import campaign

    camp = campaign()
    streets = [city.street_a1, city.street_b1] + [
        make_unit(city.district_a, kind=Unit.Kind.STREET, name=f"街道{i}", code=f"C-A-S{i}") for i in range(2)]
    group = FindingCategory.objects.create(code="G", name="组")
    cats = [FindingCategory.objects.create(code=f"K{i}", name=f"类{i}", group=group if i % 2 else None)
            for i in range(4)]
    types = [point_type(f"T{i}", f"型{i}", 1) for i in range(3)]
    points = [point(s, t) for s, t in itertools.product(streets, types)]
    insp = inspection(camp, city.city)
    now = timezone.now()
    S = Finding.Status
    for i in range(n):
        pt = points[i % len(points)] if i % 5 else None
        unit = pt.unit if pt else streets[i % len(streets)]
        when = at(10, 1 + i % 28) if i % 3 else at(9, 1 + i % 28)
        kind = i % 5
        status = [S.NEW, S.DISPATCHED, S.CLOSED, S.DISPATCHED, S.VOID][kind]
        closed = at(10, 20) if status == S.CLOSED else None
        f = make_finding(camp, cats[i % len(cats)], unit, when, status=status, pt=pt, insp=insp if pt else None,
                         closed=closed, lat=Decimal("30.1") + Decimal(i) / 1000 if i % 2 else None)
        if status == S.CLOSED:
            make_task(f, dispatched=at(10, 1), due=at(10, 10 + i % 10), closed=closed, reworks=i % 2)
        elif status == S.DISPATCHED:
            offset = dt.timedelta(days=(i % 7) - 3)
            make_task(f, dispatched=now - dt.timedelta(days=10), due=now + offset, warn=now + offset - dt.timedelta(days=2))
    for i, unit in enumerate([city.district_a, city.district_b]):
        for month in (dt.date(2026, 9, 1), dt.date(2026, 10, 1)):
            make_score(camp, unit, month, 90 - i, i + 1, 2, "red" if i == 0 else "black")
    for i in range(n // 4):
        make_volunteer(streets[i % len(streets)])
    return camp


def count(client, url, params) -> int:
    client.get(url, params)  # warm the process-wide caches (content types, site settings) so the count is the steady one
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("n", [3, 40])
def test_query_counts_are_pinned_and_independent_of_data(login, personas, city, n):
    camp = seed(city, n)
    params = {"campaign": camp.pk, "month": "2026-10"}
    sup = login(personas.supervisor)
    assert count(sup, reverse("dashboards:supervisor"), params) == SUPERVISOR_QUERIES
    # Choosing a unit costs its lookup; below the root unit, the check whether the root covers everything is spared,
    # and the looked-up unit comes with its outline (no second read for the map).
    assert count(sup, reverse("dashboards:supervisor"), {**params, "unit": city.district_a.code}) == SUPERVISOR_QUERIES - 1
    head = login(personas.head_a)
    assert count(head, reverse("dashboards:unit"), params) == UNIT_QUERIES
    fig = head.get(reverse("dashboards:unit"), params).context["fig"]
    if n == 40:  # the larger set really fills the figures
        assert fig.findings["open"] > 10 and fig.tasks["closed"] > 3 and len(fig.map_rows) > 5
        assert fig.lights["red"] and fig.lights["yellow"] and fig.lights["green"]


@pytest.mark.parametrize("who, name", [("supervisor", "dashboards:supervisor"), ("head_a", "dashboards:unit"),
                                        ("leader", "dashboards:unit")])
def test_memberships_are_read_once_per_request(login, personas, city, who, name):
    """Issue 15, acceptance 6: the view, the form, the selectors, the navigation and the permission
    backend all ask the request's one Scope; the memberships table is read once."""
    camp = seed(city, 3)
    client = login(getattr(personas, who))
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse(name), {"campaign": camp.pk, "month": "2026-10"})
    assert response.status_code == 200
    reads = [q["sql"] for q in ctx.captured_queries if 'FROM "campaigns_membership"' in q["sql"]]
    assert len(reads) == 1, "\n".join(reads)
