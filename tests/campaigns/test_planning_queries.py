"""List endpoints and pages run the same number of queries at page size 1 and 50 (acceptance 4)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns.models import Point, ProgressReport, WorkItem

from .planning_helpers import planned


@pytest.fixture
def many(city, personas):
    plan = planned(city)
    types = list(plan.types.values())
    Point.objects.bulk_create([
        Point(name=f"点位{i}", point_type=types[i % len(types)], unit=city.grid_a1, department=city.department,
              latitude=Decimal("29.9"), longitude=Decimal("121.5"))
        for i in range(60)
    ])
    items = WorkItem.objects.bulk_create([
        WorkItem(campaign=plan.campaign, indicator=plan.criterion, title=f"任务{i}", lead_unit=city.district_a,
                 deadline=dt.date(2026, 5, 1))
        for i in range(60)
    ])
    through = WorkItem.cooperating_units.through
    through.objects.bulk_create([through(workitem_id=i.pk, unit_id=u.pk) for i in items
                                 for u in (city.department, city.street_b1)])
    ProgressReport.objects.bulk_create([ProgressReport(work_item=i, author=personas.supervisor, text="进展")
                                        for i in items])
    return plan


def count(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, (url, response.content[:300])
    return len(ctx.captured_queries)


API_LISTS = ["campaigns", "indicator-systems", "indicators", "point-types", "points", "work-items", "import-jobs"]


@pytest.mark.parametrize("resource", API_LISTS)
def test_api_list_query_count_does_not_grow_with_page_size(many, personas, api, resource):
    client = api(personas.handler_a)
    small = count(client, f"/api/v1/{resource}/?limit=1")
    large = count(client, f"/api/v1/{resource}/?limit=50")
    assert small == large <= 8, (small, large)


def page_urls(plan, city):
    return ["/campaigns/?per_page={n}", "/editions/?per_page={n}", "/points/?per_page={n}",
            f"/campaigns/{plan.campaign.pk}/ledger/?per_page={{n}}", f"/units/{city.district_a.pk}/work-items/?per_page={{n}}",
            "/point-types/?per_page={n}"]


def test_list_pages_query_count_does_not_grow_with_page_size(many, personas, login, city):
    # 3 fixed (session, user, memberships) + count + rows
    # + one per dropdown in the filter form (point types, units).
    client = login(personas.handler_a)
    for url in page_urls(many, city):
        small, large = count(client, url.format(n=1)), count(client, url.format(n=50))
        assert small == large <= 8, (url, small, large)


def test_exports_and_edition_tree_run_a_fixed_number_of_queries(many, personas, login, city):
    client = login(personas.supervisor)
    ledger = count(client, f"/campaigns/{many.campaign.pk}/ledger/export.xlsx")
    points = count(client, "/points/export.xlsx")
    tree = count(client, f"/editions/{many.system.pk}/")
    WorkItem.objects.bulk_create([WorkItem(campaign=many.campaign, title=f"再{i}", lead_unit=city.district_b,
                                           deadline=dt.date(2026, 5, 1)) for i in range(30)])
    assert count(client, f"/campaigns/{many.campaign.pk}/ledger/export.xlsx") == ledger
    assert points <= 8 and tree <= 8
