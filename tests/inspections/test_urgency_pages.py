"""The urgency order of /tasks/ and the workbench as indexed slices with keyset
pages (inspections/urgency.py): exactly the rows and order of the old CASE
ordering, page by page, forwards and backwards; pinned query counts; no 500
on old or bad links."""

from __future__ import annotations

import datetime as dt
import random
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns.models import Campaign
from inspections import selectors, urgency
from inspections.filtersets import TaskFilterSet
from inspections.models import ExtensionRequest, Finding, FindingCategory, RectificationTask, Severity

from .helpers import world

pytestmark = pytest.mark.django_db

S = RectificationTask.Status


def _random_tasks(w, city, n: int, seed: int, now, requester):
    """``n`` tasks in five units of both districts, spread over every light and
    status, with many equal deadlines (the id breaks ties). No deadline or
    reminder time is within an hour of ``now``, so that a page read a moment
    later sorts them the same."""
    rnd = random.Random(seed)
    units = [city.grid_a1, city.community_a1, city.street_a1, city.district_a, city.street_b1]
    findings = Finding.objects.bulk_create([
        Finding(campaign=w.campaign, unit=rnd.choice(units), category=w.category, severity=Severity.MODERATE,
                description=f"随机{seed}-{i}", observed_at=now - dt.timedelta(days=40),
                status=Finding.Status.DISPATCHED, department=city.department if i % 7 == 0 else None)
        for i in range(n)])
    hours = [h for h in range(-400, 400) if abs(h) > 1]
    tasks = []
    for f in findings:
        due = now + dt.timedelta(hours=rnd.choice(hours[::9]))  # few distinct deadlines: ties
        start = due - dt.timedelta(days=rnd.choice([2, 5, 10, 30]))
        warn = start + (due - start) * 0.8
        if abs(warn - now) < dt.timedelta(hours=1):
            warn = now - dt.timedelta(hours=2)
        status = rnd.choice([S.ASSIGNED, S.IN_PROGRESS, S.SUBMITTED, S.RETURNED, S.CLOSED, S.VOID, S.ASSIGNED])
        tasks.append(RectificationTask(finding=f, unit=f.unit, campaign=w.campaign, status=status, dispatched_at=start,
                                       original_due_at=due, due_at=due, warn_at=warn,
                                       closed_at=due if status == S.CLOSED else None))
    tasks = RectificationTask.objects.bulk_create(tasks)
    ExtensionRequest.objects.bulk_create([
        ExtensionRequest(task=t, reason="r", requested_due_at=t.due_at + dt.timedelta(days=3),
                         previous_due_at=t.due_at, requested_by=requester) for t in tasks[::5] if t.status in
        RectificationTask.OPEN_STATUSES])
    return tasks


@pytest.fixture
def tasks(city, personas):
    w = world(city, personas)
    now = timezone.now()
    return _random_tasks(w, city, 140, seed=13, now=now, requester=personas.handler_a)


def case_order(queryset, now):
    """The old ordering: the with_light() CASE, then deadline and id."""
    return list(queryset.with_light(now).order_by("urgency", "due_at", "id").values_list("pk", "light"))


def walk(queryset, now, per_page, **kwargs):
    """Every page forwards, then every page backwards from the last: (ids, lights) of each."""
    forward, page, guard = [], urgency.urgency_page(queryset, per_page=per_page, now=now, **kwargs), 0
    forward.append(page)
    while page.has_next:
        page = urgency.urgency_page(queryset, per_page=per_page, now=now, after=page.next_cursor, **kwargs)
        forward.append(page)
        guard += 1
        assert guard < 200
    backward = [page]
    while page.has_previous:
        page = urgency.urgency_page(queryset, per_page=per_page, now=now, before=page.previous_cursor, **kwargs)
        backward.append(page)
    backward.reverse()
    return ([[(t.pk, t.light) for t in p] for p in forward], [[(t.pk, t.light) for t in p] for p in backward])


@pytest.mark.parametrize("compound", [None, False])
@pytest.mark.parametrize("per_page", [1, 7, 50])
def test_pages_hold_exactly_the_case_ordering_page_by_page(tasks, personas, per_page, compound):
    now = timezone.now()
    for user in (personas.supervisor, personas.handler_a, personas.handler_b):
        qs = selectors.tasks_for(user, pending_rows=False, lean=True)
        expected = case_order(qs, now)
        assert len({light for _pk, light in expected}) == 4  # every light and finished tasks
        forward, backward = walk(qs, now, per_page, compound=compound)
        chunks = [expected[i:i + per_page] for i in range(0, len(expected), per_page)]
        assert forward == chunks
        # Backwards from the last page gives the same pages (the first may be shorter only if
        # the walk does not start on a page boundary: here it does).
        assert [row for p in backward for row in p] == expected
        assert all(len(p) == per_page for p in backward[1:-1])


def test_workbench_slices_and_filters_match_the_case_ordering(tasks, personas):
    now = timezone.now()
    for user in (personas.handler_a, personas.head_a, personas.supervisor):
        rows = selectors.workbench_rows(user)
        expected = case_order(rows, now)
        forward, _backward = walk(rows, now, 9, slices=urgency.OPEN)
        assert [row for p in forward for row in p] == expected
        assert all(light for _pk, light in expected)
    request = RequestFactory().get("/tasks/")
    request.user = personas.supervisor
    base = selectors.tasks_for(personas.supervisor, pending_rows=False, lean=True)
    for data in ({"light": ["red", "yellow"]}, {"light": ["green"], "status": [S.RETURNED, S.ASSIGNED]},
                 {"within": "C-A-1"}, {"extension_pending": "true"}, {"overdue": "false"}):
        filterset = TaskFilterSet(data, queryset=base, request=request)
        assert filterset.is_valid(), filterset.errors
        others = {k: v for k, v in data.items() if k != "light"}
        expected = case_order(TaskFilterSet(others, queryset=base, request=request).qs, now)
        expected = [row for row in expected if row[1] in data.get("light", [row[1]])]  # the old light filter
        assert expected, data
        forward, _backward = walk(filterset.qs, now, 11)
        assert [row for p in forward for row in p] == expected, data


def follow(client, url):
    """Every page of a list page by its "next" links: the rows of each and the number of queries."""
    pages, counts = [], []
    while url:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        assert response.status_code == 200
        counts.append(len(ctx.captured_queries))
        page = response.context["page"]
        pages.append([t["id"] for t in page])  # (values dicts)
        nxt = page.links.get("next")
        url = urlsplit(url).path + nxt if nxt else None
    return pages, counts


@pytest.mark.parametrize("path", ["/tasks/", "/workbench/"])
def test_list_pages_walk_by_cursor_with_pinned_queries(tasks, personas, login, city, path):
    client = login(personas.handler_a)
    now = timezone.now()
    if path == "/tasks/":
        expected = [pk for pk, _l in case_order(selectors.tasks_for(personas.handler_a, pending_rows=False,
                                                                    lean=True), now)]
    else:
        expected = [pk for pk, _l in case_order(selectors.workbench_rows(personas.handler_a), now)]
    pages, counts = follow(client, f"{path}?per_page=10")
    assert [pk for p in pages for pk in p] == expected
    assert len(pages) > 3 and len(set(counts)) == 1, counts
    # The "previous" link of the second page leads back to the first.
    second = client.get(f"{path}?per_page=10").context["page"].links["next"]
    back = client.get(path + client.get(path + second).context["page"].links["previous"]).context["page"]
    assert [t["id"] for t in back] == pages[0] and not back.has_previous
    # More rows: the same number of queries per page.
    _random_tasks(world_again(city), city, 60, seed=14, now=now, requester=personas.handler_a)
    _pages, more = follow(client, f"{path}?per_page=10")
    assert set(more) == set(counts)


def world_again(city):
    """The campaign and category of the ``tasks`` fixture's world."""
    return SimpleNamespace(campaign=Campaign.objects.get(), category=FindingCategory.objects.get(code="HJ-01"))


@pytest.mark.parametrize("query", ["page=3", "page=abc", "page=999999", "after=garbage", "before=1.x.2",
                                   "after=9.100.1", "after=0.-99999999999999999999.1", "before=2.1.0",
                                   "after=1.1.99999999999999999999999", "per_page=abc&after=", "per_page=-5"])
@pytest.mark.parametrize("path", ["/tasks/", "/workbench/"])
def test_old_page_links_and_bad_cursors_never_answer_500(tasks, personas, login, path, query):
    response = login(personas.handler_a).get(f"{path}?{query}")
    assert response.status_code == 200
    assert len(response.context["page"]) > 0


def test_page_links_keep_the_filters_and_drop_the_old_page(tasks, personas, login):
    response = login(personas.supervisor).get("/tasks/?per_page=5&page=4&status=assigned&status=returned")
    page = response.context["page"]
    query = parse_qs(page.links["next"][1:])
    assert query["status"] == ["assigned", "returned"] and "page" not in query and query["after"]
    assert 'rel="next"' in response.content.decode()
    rows = login(personas.supervisor).get("/tasks/?" + page.links["next"][1:]).context["page"]
    assert {t["status"] for t in rows} <= {S.ASSIGNED, S.RETURNED} and rows.has_previous


def test_workbench_light_counts_are_capped_in_one_query(tasks, personas, login):
    now = timezone.now()
    rows = selectors.workbench_rows(personas.supervisor)
    exact = {light: sum(1 for _pk, lt in case_order(rows, now) if lt == light) for light in ("red", "yellow", "green")}
    assert all(exact.values())
    response = login(personas.supervisor).get("/workbench/")
    assert response.context["counts"] == exact
    with CaptureQueriesContext(connection) as ctx:
        capped = urgency.capped_counts({light: rows.in_urgency(u, now) for u, light in urgency.LIGHTS.items()
                                        if light}, cap=2)
    assert len(ctx.captured_queries) == 1
    assert capped == {light: min(n, 3) for light, n in exact.items()}
    assert urgency.capped_count(rows, cap=5) == (5, True)
    assert urgency.capped_count(rows, cap=10_000) == (len(case_order(rows, now)), False)


def test_task_list_counts_every_task_under_the_cap(tasks, personas, login):
    page = login(personas.supervisor).get("/tasks/").context["page"]
    assert page.count == RectificationTask.objects.count() and not page.capped


def test_the_task_list_counts_its_rows_without_the_joins_of_their_names(tasks, personas, login):
    """The page's rows are ``.values()`` with the unit's and the finding's names (joins); the capped
    count reads the tasks alone (bench-1M: with the joins it walked 1,001 rows through three tables,
    47–70 ms; alone 5–8 ms)."""
    client = login(personas.supervisor)
    with CaptureQueriesContext(connection) as ctx:
        page = client.get("/tasks/").context["page"]
    counts = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith("SELECT COUNT(*)")
              and '"inspections_rectificationtask"' in q["sql"]]
    assert len(counts) == 1 and " JOIN " not in counts[0], counts
    assert page.count == RectificationTask.objects.count()


@pytest.mark.parametrize("query", ["", "light=red", "light=nonsense"])
def test_workbench_of_a_user_with_no_unit_to_act_on_is_empty(tasks, personas, login, query):
    """An inspector's or a leader's workbench has no rows (nothing there is theirs to do)."""
    for who in (personas.inspector, personas.leader):
        response = login(who).get(f"/workbench/?{query}")
        assert response.status_code == 200
        assert len(response.context["page"]) == 0
        assert response.context["counts"] == {"red": 0, "yellow": 0, "green": 0}


def test_workbench_tests_its_units_paths_once_and_the_status_once_per_slice(tasks, personas, login):
    """The acting units lie inside the scope: the workbench's SQL tests their paths alone, not the scope
    rule's ``unit_path OR department_path`` again, and the open status once per slice. A test repeated
    where the planner cannot see it is implied multiplies its estimate down (bench-1M: a district's 5,564
    overdue tasks estimated at 97, all of them read and sorted instead of the deadline index in order)."""
    with CaptureQueriesContext(connection) as ctx:
        response = login(personas.handler_a).get("/workbench/")
    assert len(response.context["page"]) > 0
    task_sql = [q["sql"] for q in ctx.captured_queries if 'FROM "inspections_rectificationtask"' in q["sql"]]
    assert len(task_sql) == 2  # the capped light counts, the page
    for sql in task_sql:
        assert '"department_path"::text LIKE' not in sql, sql
        assert sql.count('"inspections_rectificationtask"."status" IN') == 3  # one per open slice


def test_the_task_scope_and_its_capped_count_leave_the_path_indexes_usable(tasks, personas):
    """The task scope tests the department's path non-blank (what lets PostgreSQL use its partial
    index: a grid's tasks read two path indexes, not the table) and the capped count walks the
    primary key rather than an unordered scan (bench-1M, a grid: 56 → 1 ms; a district: no seq scan)."""
    rows = selectors.tasks_for(personas.handler_a, pending_rows=False, lean=True)
    with CaptureQueriesContext(connection) as ctx:
        total = urgency.capped_count(rows)
    sql = ctx.captured_queries[0]["sql"]
    assert "NOT (\"inspections_rectificationtask\".\"department_path\" = '')" in sql, sql
    assert "ORDER BY" in sql, sql
    assert total == (len(case_order(rows, timezone.now())), False)
    assert urgency.capped_count(rows, cap=3) == (3, True)
