"""The home page as a handler's workbench: sections (due today, overdue,
returned, awaiting acceptance, extension pending, submitted) with counts and
first rows, each linking to the workbench filtered to the same rows; the
volunteer's own home; the query count, pinned and independent of data size."""

from __future__ import annotations

import datetime as dt
import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from inspections.models import ExtensionRequest, RectificationTask
from tests.factories import UserFactory
from tests.scores import helpers as h
from tests.volunteers.conftest import make_volunteer
from volunteers.models import Volunteer

pytestmark = pytest.mark.django_db

S = RectificationTask.Status
NOW = dt.datetime(2026, 11, 20, 10, 0, tzinfo=h.SH)
SECTIONS = ["due_today", "overdue", "returned", "awaiting", "extension", "submitted"]


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def at(day, hour, minute=0):
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=h.SH)


def pending_extension(task, user):
    ExtensionRequest.objects.create(task=task, reason="材料未到", requested_due_at=task.due_at + dt.timedelta(days=3),
                                    previous_due_at=task.due_at, requested_by=user)


@pytest.fixture
def tasks(city, personas):
    camp, cat = h.campaign(), h.category("HJ-01", "垃圾乱堆", 2)
    unit = city.street_a1

    def make(due, status, where=unit):
        return h.task(camp, cat, where, due=due, status=status)

    t = {
        "today_assigned": make(at(20, 18), S.ASSIGNED),          # due today, awaiting acceptance
        "overdue_returned": make(at(18, 18), S.RETURNED),        # overdue, returned
        "today_past": make(at(20, 8), S.IN_PROGRESS),            # due today and already overdue
        "submitted": make(at(25, 18), S.SUBMITTED),              # waiting for verification
        "extension": make(at(22, 18), S.IN_PROGRESS),            # extension pending
        "later": make(at(30, 18), S.IN_PROGRESS),                # open, in no section
        "closed": make(at(20, 12), S.CLOSED),                    # finished: nowhere
        "b_today": make(at(20, 15), S.ASSIGNED, city.street_b1),  # district B: not handler A's
    }
    pending_extension(t["extension"], personas.handler_a)
    t["camp"], t["cat"] = camp, cat
    return t


EXPECTED_A = {
    "due_today": {"today_assigned", "today_past"},
    "overdue": {"overdue_returned", "today_past"},
    "returned": {"overdue_returned"},
    "awaiting": {"today_assigned"},
    "extension": {"extension"},
    "submitted": {"submitted"},
}


def sections(response) -> dict:
    return {s["key"]: s for s in response.context["workbench"]["sections"]}


def ids(tasks, names):
    return {tasks[n].pk for n in names}


def test_handler_sees_each_section_with_its_count_and_rows(tasks, personas, login):
    response = login(personas.handler_a).get(reverse("home"))
    assert response.status_code == 200
    got = sections(response)
    assert list(got) == SECTIONS
    for key, names in EXPECTED_A.items():
        assert got[key]["count"] == len(names), key
        assert {t.pk for t in got[key]["rows"]} == ids(tasks, names), key
    assert response.context["workbench"]["total"] == 6
    page = response.content.decode()
    assert "今日到期" in page and "待签收" in page and "退回重改" in page
    assert f'href="{reverse("inspections:task_detail", args=[tasks["today_past"].pk])}"' in page
    assert f'href="{reverse("inspections:task_detail", args=[tasks["b_today"].pk])}"' not in page
    assert f'href="{reverse("inspections:task_detail", args=[tasks["closed"].pk])}"' not in page


@pytest.mark.parametrize("key", SECTIONS)
def test_each_section_links_to_the_workbench_filtered_to_the_same_rows(tasks, personas, login, key):
    client = login(personas.handler_a)
    section = sections(client.get(reverse("home")))[key]
    page = client.get(reverse("home")).content.decode()
    url = f'{reverse("inspections:workbench")}?{section["query"]}'
    assert f'href="{url.replace("&", "&amp;")}"' in page
    response = client.get(url)
    assert response.status_code == 200
    rows = list(response.context["page"])
    assert {t["id"] for t in rows} == ids(tasks, EXPECTED_A[key])  # (the page's rows are values dicts)
    # Same order as the workbench: the home rows are its first rows.
    assert [t.pk for t in section["rows"]] == [t["id"] for t in rows][: len(section["rows"])]


def test_task_list_filters_pending_extensions(tasks, personas, login):
    client = login(personas.handler_a)
    yes = client.get(reverse("inspections:task_list"), {"extension_pending": "true"}).context["page"]
    no = client.get(reverse("inspections:task_list"), {"extension_pending": "false"}).context["page"]
    assert {t["id"] for t in yes} == {tasks["extension"].pk}
    assert tasks["extension"].pk not in {t["id"] for t in no} and tasks["later"].pk in {t["id"] for t in no}
    api = client.get("/api/v1/tasks/", {"extension_pending": "true"})
    assert api.status_code == 200 and [r["id"] for r in api.json()["results"]] == [tasks["extension"].pk]


def test_sections_keep_to_the_users_scope(tasks, personas, login):
    got = sections(login(personas.handler_b).get(reverse("home")))
    assert {k: {t.pk for t in s["rows"]} for k, s in got.items() if s["count"]} == {
        "due_today": {tasks["b_today"].pk}, "awaiting": {tasks["b_today"].pk}}
    assert got["overdue"]["count"] == 0


def test_a_handler_without_tasks_still_sees_empty_sections(city, personas, login):
    response = login(personas.handler_a).get(reverse("home"))
    assert response.context["workbench"]["total"] == 0
    assert all(s["count"] == 0 and s["rows"] == [] for s in response.context["workbench"]["sections"])
    assert "没有待办" in response.content.decode() or "暂无" in response.content.decode()


def test_roles_without_unit_tasks_get_no_sections(city, personas, login):
    # The inspector sits at city level: no open task anywhere, no handler role → no sections.
    response = login(personas.inspector).get(reverse("home"))
    assert response.context["workbench"] is None
    assert 'href="/findings/new/"' in response.content.decode()


def test_a_leader_gets_no_task_sections_although_their_units_have_open_tasks(tasks, personas, login):
    # Issue 20: a leader cannot act on tasks; their home shows their units' situation instead.
    response = login(personas.leader).get(reverse("home"))
    assert response.context["workbench"] is None
    (row,) = response.context["leader"]
    assert row["overdue"] == 2


def test_rows_are_bounded(tasks, city, personas, login):
    for i in range(5):
        h.task(tasks["camp"], tasks["cat"], city.street_a1, due=at(19, 9 + i),
               status=S.IN_PROGRESS)
    response = login(personas.handler_a).get(reverse("home"))
    overdue = sections(response)["overdue"]
    assert overdue["count"] == 7 and len(overdue["rows"]) == 3
    assert "显示全部 7 项" in response.content.decode()


def test_volunteer_home_links_to_their_own_pages(city, login):
    volunteer = make_volunteer(city.community_a1, name="王小明", user=UserFactory(username="v_home"))
    response = login(volunteer.user).get(reverse("home"))
    page = response.content.decode()
    assert response.context["workbench"] is None and response.context["volunteer"] == volunteer
    main = page[page.index('<main'):]
    for url in ("/my-reports/new/", "/my-reports/", "/activities/", "/volunteers/me/"):
        assert f'href="{url}"' in main, url
    assert "尚未担任" not in main


def test_a_volunteer_waiting_for_review_sees_their_status_only(city, login):
    volunteer = make_volunteer(city.community_a1, user=UserFactory(username="v_applied"),
                               status=Volunteer.Status.APPLIED)
    page = login(volunteer.user).get(reverse("home")).content.decode()
    main = page[page.index('<main'):]
    assert "待审核" in main or "已申请" in main
    assert 'href="/my-reports/new/"' not in main and 'href="/activities/"' not in main


# --- query count: pinned, and independent of the number of tasks ----------------------------------

# session, user (+ bell), memberships (scope), my roles list, one aggregate, one query per non-empty section (6).
HOME_QUERIES = 12  # 11 + the unread notices box (notices)


def more_tasks(tasks, city, user, n):
    for i in range(n):
        due = [at(20, 20), at(17, 9), at(26, 9)][i % 3]
        status = [S.ASSIGNED, S.RETURNED, S.SUBMITTED, S.IN_PROGRESS][i % 4]
        task = h.task(tasks["camp"], tasks["cat"], city.grid_a1, due=due, status=status)
        if i % 5 == 0:
            pending_extension(task, user)


def home_queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("home"))
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_home_query_count_is_pinned_and_does_not_grow(tasks, city, personas, login):
    client = login(personas.handler_a)
    small = home_queries(client)
    more_tasks(tasks, city, personas.handler_a, 60)
    large = home_queries(client)
    assert all(s["count"] > 3 for s in sections(client.get(reverse("home"))).values() if s["key"] != "extension")
    assert small == large == HOME_QUERIES, (small, large)
