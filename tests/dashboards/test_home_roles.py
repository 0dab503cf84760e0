"""Issue 20, acceptance 8: each role's home shows only what that role acts on.
The database holds rows of every kind for every role (tasks of two districts,
inspections with and without the inspector, findings by several people,
published scores), and each test asserts what appears and what does not.
The unit dashboard falls back to the latest scored month and says when it is
a draft."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from campaigns.models import Membership
from inspections.models import Finding, Inspection, RectificationTask
from scores import services
from tests.factories import UserFactory, make_member
from tests.scores import helpers as h
from tests.volunteers.conftest import make_volunteer

pytestmark = pytest.mark.django_db

S = RectificationTask.Status
NOW = dt.datetime(2026, 12, 10, 10, 0, tzinfo=h.SH)
NOV = dt.date(2026, 11, 1)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def world(city, personas):
    camp = h.campaign()
    t1 = h.point_type("T1", "背街小巷", 1)
    cat = h.category("C1", "垃圾乱堆", 20)
    insp_mine = Inspection.objects.create(campaign=camp, title="十二月暗访", kind=Inspection.Kind.UNANNOUNCED,
                                          unit=city.city, starts_on=dt.date(2026, 12, 12),
                                          ends_on=dt.date(2026, 12, 20))
    insp_mine.inspectors.add(personas.inspector)
    insp_other = Inspection.objects.create(campaign=camp, title="别人的督查", kind=Inspection.Kind.SUPERVISION,
                                           unit=city.city, starts_on=dt.date(2026, 12, 12),
                                           ends_on=dt.date(2026, 12, 20))
    insp_done = Inspection.objects.create(campaign=camp, title="十月已完成", kind=Inspection.Kind.UNANNOUNCED,
                                          unit=city.city, starts_on=dt.date(2026, 10, 1),
                                          ends_on=dt.date(2026, 10, 31), status=Inspection.Status.COMPLETED)
    insp_done.inspectors.add(personas.inspector)
    # November: district A scores 80 (a 20-point finding), district B 100; published.
    novr = h.inspection(camp, city.city)
    va = h.visit(novr, h.point(city.street_a1, t1, name="人民路背街"), h.at(11, 5))
    mine = h.finding(camp, cat, "moderate", visit_=va, reporter=personas.inspector)
    h.visit(novr, h.point(city.street_b1, t1), h.at(11, 5))
    other = h.finding(camp, cat, "minor", unit=city.street_b1, when=h.at(11, 8), reporter=personas.supervisor)
    services.scores_recompute(actor=personas.supervisor, campaign=camp, month=NOV)
    services.scores_publish(actor=personas.supervisor, campaign=camp, month=NOV)
    due = NOW - dt.timedelta(days=2)
    tasks = {
        "a_overdue": h.task(camp, cat, city.street_a1, due=due, status=S.IN_PROGRESS),
        "a_open": h.task(camp, cat, city.community_a1, due=NOW + dt.timedelta(days=5), status=S.ASSIGNED),
        "b_overdue": h.task(camp, cat, city.street_b1, due=due, status=S.IN_PROGRESS),
    }
    RectificationTask.objects.filter(pk=tasks["a_overdue"].pk).update(
        supervision=RectificationTask.Supervision.LISTED)
    return {"camp": camp, "mine": insp_mine, "other": insp_other, "done": insp_done, "finding": mine,
            "other_finding": other, "tasks": tasks}


def _main(response) -> str:
    page = response.content.decode()
    return page[page.index("<main"):]


def _task_links(main: str, tasks) -> set[str]:
    return {name for name, t in tasks.items() if f'href="{reverse("inspections:task_detail", args=[t.pk])}"' in main}


def test_the_inspector_sees_their_rounds_and_findings_not_tasks(world, personas, login):
    response = login(personas.inspector).get(reverse("home"))
    ctx, main = response.context, _main(response)
    assert ctx["workbench"] is None and ctx["leader"] is None
    assert [i.pk for i in ctx["inspector"]["planned"]] == [world["mine"].pk]
    assert "十二月暗访" in main and "别人的督查" not in main and "十月已完成" not in main
    assert [f.pk for f in ctx["inspector"]["findings"]] == [world["finding"].pk]
    assert f'/findings/{world["finding"].pk}/' in main and f'/findings/{world["other_finding"].pk}/' not in main
    assert _task_links(main, world["tasks"]) == set()
    assert "我的待办" not in main and 'href="/workbench/"' not in main
    assert 'href="/findings/new/"' in main


def test_the_leader_sees_their_units_situation_not_a_todo_list(world, personas, city, login):
    response = login(personas.leader).get(reverse("home"))
    ctx, main = response.context, _main(response)
    assert ctx["workbench"] is None and ctx["inspector"] is None
    (row,) = ctx["leader"]
    assert row["unit"] == city.district_a
    assert (row["open"], row["overdue"], row["listed"]) == (2, 1, 1)
    assert row["score"].month == NOV and str(row["score"].total) == "80.00" and row["score"].is_published
    assert 'data-unit="C-A"' in main and 'data-unit="C-B"' not in main and "80.00" in main
    assert _task_links(main, world["tasks"]) == set()
    assert "我的待办" not in main and 'href="/workbench/"' not in main
    assert f'/scores/units/{city.district_a.pk}/record/' in main and "overdue=true" in main


def test_handlers_and_heads_see_their_actionable_tasks_only(world, personas, login):
    for user in (personas.handler_a, personas.head_a):
        response = login(user).get(reverse("home"))
        ctx, main = response.context, _main(response)
        assert ctx["inspector"] is None and ctx["leader"] is None
        assert ctx["workbench"]["total"] == 2, user
        assert _task_links(main, world["tasks"]) == {"a_overdue", "a_open"}, user
        assert "十二月暗访" not in main
    main = _main(login(personas.handler_b).get(reverse("home")))
    assert _task_links(main, world["tasks"]) == {"b_overdue"}


def test_the_supervisor_starts_on_the_dashboard(world, personas, login):
    response = login(personas.supervisor).get(reverse("home"))
    assert response.status_code == 302 and response["Location"] == reverse("dashboards:supervisor")


def test_the_volunteer_sees_their_own_links_only(world, city, login):
    volunteer = make_volunteer(city.community_a1, name="王小明", user=UserFactory(username="v_roles"))
    response = login(volunteer.user).get(reverse("home"))
    ctx, main = response.context, _main(response)
    assert ctx["volunteer"] == volunteer
    assert ctx["workbench"] is None and ctx["inspector"] is None and ctx["leader"] is None
    assert _task_links(main, world["tasks"]) == set() and 'href="/my-reports/new/"' in main


def test_a_person_with_two_roles_gets_both_sections(world, personas, city, login):
    both = make_member(city.district_b, Membership.Role.HANDLER, "p_both")
    Membership.objects.create(user=both, unit=city.district_a, role=Membership.Role.LEADER)
    response = login(both).get(reverse("home"))
    assert response.context["workbench"]["total"] == 1
    assert [r["unit"] for r in response.context["leader"]] == [city.district_a]


def _count(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse("home")).status_code == 200
    return len(ctx.captured_queries)


def test_the_inspector_and_leader_homes_run_a_fixed_number_of_queries(world, personas, city, login):
    inspector, leader = login(personas.inspector), None
    small_i = _count(inspector)
    leader = login(personas.leader)
    small_l = _count(leader)
    for i in range(6):
        extra = Inspection.objects.create(campaign=world["camp"], title=f"巡查{i}", kind=Inspection.Kind.SUPERVISION,
                                          unit=city.city, starts_on=dt.date(2026, 12, 11),
                                          ends_on=dt.date(2026, 12, 31))
        extra.inspectors.add(personas.inspector)
        h.finding(world["camp"], world["finding"].category, "minor", unit=city.street_a1, when=h.at(12, 1),
                  reporter=personas.inspector)
        h.task(world["camp"], world["finding"].category, city.street_a1, due=NOW, status=S.ASSIGNED)
    Membership.objects.create(user=personas.leader, unit=city.district_b, role=Membership.Role.LEADER)
    assert _count(login(personas.inspector)) == small_i
    assert _count(login(personas.leader)) == small_l
    # session, user, memberships, my roles, 3 for the inspector's rounds and findings, notices (+ bell).
    assert small_i <= 10 and small_l <= 10, (small_i, small_l)
    assert Finding.objects.filter(reporter=personas.inspector).count() == 7


# --- the unit dashboard: the latest scored month, and whether it is a draft --------------------------


def test_the_unit_dashboard_falls_back_to_the_latest_scored_month(world, personas, city, login):
    response = login(personas.head_a).get(reverse("dashboards:unit"))  # December: nothing scored yet
    assert response.status_code == 200
    score = response.context["score"]
    assert score is not None and score.month == NOV and score.unit == city.district_a
    page = response.content.decode()
    assert 'data-figure="own-rank"' in page and 'data-figure="score-fallback"' in page
    assert 'data-figure="score-draft"' not in page


def test_the_unit_dashboard_says_when_the_month_is_a_draft(world, personas, city, login):
    camp = world["camp"]
    services.scores_recompute(actor=personas.supervisor, campaign=camp, month=dt.date(2026, 12, 1))
    client = login(personas.head_a)
    # A draft the office has not opened to the unit stays invisible: November still shows.
    assert client.get(reverse("dashboards:unit")).context["score"].month == NOV
    services.score_month_open_review(actor=personas.supervisor, campaign=camp, month=dt.date(2026, 12, 1))
    response = client.get(reverse("dashboards:unit"))
    assert response.context["score"].month == dt.date(2026, 12, 1)
    page = response.content.decode()
    assert 'data-figure="score-draft"' in page and "草稿" in page and 'data-figure="score-fallback"' not in page
