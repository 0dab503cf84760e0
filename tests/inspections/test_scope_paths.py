"""Scope as columns (docs/performance.md): every row of every table carrying a unit
path agrees with a from-scratch recomputation after writes, moves and rebuilds.
The tables are discovered (every ``ScopePathsModel`` with ``SCOPE_PATHS``), and the
fixture must give each of them rows under the moved district, so a new scoped
table cannot be left out of the move test."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.db.models import Q
from django.utils import timezone

from campaigns import services as unit_services
from campaigns.models import Point, Unit, WorkItem
from campaigns.planning import services as planning_services
from campaigns.scope import scoped_models
from inspections import services
from inspections.models import Finding, RectificationTask, Visit
from tests.factories import UserFactory, make_unit
from volunteers import services as volunteer_services
from volunteers.models import Activity, HourEntry, Volunteer

from .helpers import dispatched, finding, world

pytestmark = pytest.mark.django_db


def expected_path(row, lookup: str) -> str:
    target = row
    for part in lookup.split("__"):
        target = getattr(target, part)
        if target is None:
            return ""
    return target.path


def mismatches() -> list:
    """Rows whose stored path differs from the one recomputed from their foreign keys."""
    wrong = []
    for model in scoped_models():
        for row in model._base_manager.all():
            for column, lookup in model.SCOPE_PATHS.items():
                if getattr(row, column) != expected_path(row, lookup):
                    wrong.append((model.__name__, row.pk, column, getattr(row, column), expected_path(row, lookup)))
    return wrong


def served_hours(actor, volunteer: Volunteer, unit: Unit) -> HourEntry:
    """A volunteer's approved hours in an activity of ``unit``, through the services."""
    starts_at = timezone.now() + dt.timedelta(minutes=30)
    activity = Activity.objects.create(unit=unit, title="文明劝导", category=Activity.Category.PERSUASION,
                                       address="人民路口", starts_at=starts_at,
                                       ends_at=starts_at + dt.timedelta(hours=2), capacity=10)
    signup = volunteer_services.signup_create(actor=actor, activity=activity, volunteer=volunteer)
    volunteer_services.signup_check_in(actor=actor, signup=signup, now=activity.starts_at)
    signup = volunteer_services.signup_check_out(actor=actor, signup=signup, now=activity.ends_at)
    return volunteer_services.signup_approve_hours(actor=actor, signup=signup)


@pytest.fixture
def loop(city, personas):
    """Rows of every scoped table in district A (some under a district department) and B:
    findings, tasks and visits; work items; volunteers and their service hours."""
    w = world(city, personas)
    dept_a = make_unit(city.district_a, kind=Unit.Kind.DEPARTMENT, name="东湖区城管局", code="C-A-CG")
    point_dept = Point.objects.create(name="人民路口", point_type=w.point_type, unit=city.grid_a1, department=dept_a)
    visit = services.visit_create(actor=personas.inspector, inspection=w.inspection, point=point_dept)
    rows = [dispatched(w, personas), dispatched(w, personas, visit=visit), dispatched(w, personas, visit=w.visit_b),
            finding(w, personas, visit=visit)]
    community_b1 = make_unit(city.street_b1, kind=Unit.Kind.COMMUNITY, name="解放社区", code="C-B-1-1")
    for lead, cooperating in ((city.street_a1, [city.street_b1]), (city.street_b1, [dept_a]),
                              (city.street_b1, [])):
        planning_services.work_item_create(actor=personas.supervisor, campaign=w.campaign, title="背街小巷整治",
                                           lead_unit=lead, deadline=dt.date(2026, 12, 1), cooperating_units=cooperating)
    for n, community in enumerate((city.community_a1, city.community_a1, community_b1)):
        volunteer = volunteer_services.volunteer_create(actor=personas.supervisor, name=f"志愿者{n}",
                                                        phone=f"1370000000{n}", unit=community)
        served_hours(personas.supervisor, volunteer, community)
    return w, dept_a, point_dept, rows


def test_scoped_models_are_the_large_scoped_tables():
    assert {m.__name__ for m in scoped_models()} >= {"Finding", "RectificationTask", "Visit", "WorkItem", "Volunteer",
                                                     "HourEntry", "Point"}


def test_the_fixture_gives_every_scoped_table_rows_in_and_out_of_the_moved_district(city, loop):
    # A new ScopePathsModel fails here until the loop fixture creates its rows, so the
    # move and rebuild tests below cover it.
    for model in scoped_models():
        rows = model._base_manager.all()
        inside = [any(getattr(row, column).startswith(city.district_a.path) for column in model.SCOPE_PATHS)
                  for row in rows]
        assert any(inside) and not all(inside), f"add {model.__name__} rows in and out of district A to the fixture"


def test_services_fill_the_paths_on_create_and_dispatch(city, personas, loop):
    w, dept_a, _point, rows = loop
    assert Finding.objects.filter(unit_path="").count() == 0
    task = rows[1]
    assert task.unit_path == city.grid_a1.path and task.department_path == dept_a.path
    assert RectificationTask.objects.get(pk=task.pk).department_path == dept_a.path
    assert Visit.objects.get(pk=w.visit_b.pk).unit_path == city.street_b1.path
    assert mismatches() == []


def test_moving_a_district_with_its_subtree_keeps_every_path_right_and_is_in_history(city, personas, loop):
    w, dept_a, _point, rows = loop
    admin = UserFactory(username="root", is_superuser=True)
    other_city = make_unit(kind=Unit.Kind.CITY, name="新城市", code="N")
    old_path = city.district_a.path
    touched = Finding.objects.filter(unit_path__startswith=old_path).count()
    assert touched >= 3  # the move has something to rewrite

    moved = unit_services.unit_move(actor=admin, unit=city.district_a, new_parent=other_city)

    assert not moved.path.startswith(old_path[:4])
    assert Finding.objects.filter(unit_path__startswith=moved.path).count() == touched
    assert not Finding.objects.filter(unit_path__startswith=old_path).exists()
    assert mismatches() == []
    record = moved.history.first()
    assert record.history_change_reason and other_city.code in record.history_change_reason
    # The district's handler still sees exactly the district's rows (through the new paths).
    from campaigns.scope import forget
    forget(personas.handler_a)
    visible = set(Finding.objects.visible_to(personas.handler_a).values_list("pk", flat=True))
    assert visible == set(Finding.objects.filter(unit__path__startswith=moved.path).values_list("pk", flat=True)) | \
        set(Finding.objects.filter(department__path__startswith=moved.path).values_list("pk", flat=True))
    assert rows[2].finding_id not in visible  # district B's finding


def test_moving_a_street_to_another_district(city, personas, loop):
    admin = UserFactory(username="root", is_superuser=True)
    unit_services.unit_move(actor=admin, unit=city.street_a1, new_parent=city.district_b)
    assert mismatches() == []
    from campaigns.scope import forget
    forget(personas.handler_b)
    assert Finding.objects.visible_to(personas.handler_b).filter(unit=city.grid_a1).exists()


def test_a_points_new_department_reaches_its_visits(city, personas, loop):
    w, dept_a, point, _rows = loop
    planning_services.point_update(actor=personas.supervisor, point=point, department=city.department)
    assert set(Visit.objects.filter(point=point).values_list("department_path", flat=True)) == {city.department.path}
    assert mismatches() == []


def test_a_points_new_unit_moves_its_path_and_the_import_keeps_them_right(city, personas, loop):
    from campaigns.planning import ledger_io
    from tests.campaigns.planning_helpers import xlsx

    w, dept_a, point, _rows = loop
    planning_services.point_update(actor=personas.supervisor, point=point, unit=city.street_a1, department=None)
    assert Point.objects.filter(pk=point.pk).values_list("unit_path", "department_path").get() == (city.street_a1.path, "")
    assert mismatches() == []
    # The ledger import updates a point's unit and department by code: its paths and its visits' follow.
    planning_services.point_update(actor=personas.supervisor, point=point, code="P-MOVE")
    sheet = xlsx([ledger_io.point_export_headers()[:8],
                  ["P-MOVE", point.name, w.point_type.name, "", "", "", city.grid_a1.code, dept_a.code]])
    result = ledger_io.import_points(actor=personas.supervisor, upload=sheet)
    assert result.updated == 1, result
    assert Point.objects.filter(pk=point.pk).values_list("unit_path", "department_path").get() == \
        (city.grid_a1.path, dept_a.path)
    assert set(Visit.objects.filter(point=point).values_list("department_path", flat=True)) == {dept_a.path}
    assert mismatches() == []


def test_a_findings_new_department_reaches_its_tasks(city, personas, loop):
    _w, dept_a, _point, rows = loop
    task = rows[0]
    found = Finding.objects.get(pk=task.finding_id)
    found.department = dept_a
    found.save()
    assert RectificationTask.objects.get(pk=task.pk).department_path == dept_a.path
    assert mismatches() == []


def test_a_volunteers_new_community_reaches_their_hours(city, personas, loop):
    volunteer = Volunteer.objects.filter(unit=city.community_a1).first()
    community_b1 = Unit.objects.get(code="C-B-1-1")
    volunteer_services.volunteer_update(actor=personas.supervisor, volunteer=volunteer, name=volunteer.name,
                                        phone=volunteer.phone, unit=community_b1)
    assert set(HourEntry.objects.filter(volunteer=volunteer).values_list("unit_path", flat=True)) == {community_b1.path}
    assert mismatches() == []
    from campaigns.scope import forget
    forget(personas.handler_b)
    assert HourEntry.objects.visible_to(personas.handler_b).filter(volunteer=volunteer).exists()


def test_a_work_items_new_lead_unit_moves_its_path(city, personas, loop):
    item = WorkItem.objects.filter(lead_unit=city.street_b1).first()
    planning_services.work_item_update(actor=personas.supervisor, item=item, lead_unit=city.grid_a1)
    assert WorkItem.objects.get(pk=item.pk).unit_path == city.grid_a1.path
    assert mismatches() == []


def test_rebuild_command_recomputes_every_path_from_scratch(city, personas, loop):
    for model in scoped_models():
        model._base_manager.update(**{column: "zz" for column in model.SCOPE_PATHS})
    assert {wrong[0] for wrong in mismatches()} == {model.__name__ for model in scoped_models()}
    call_command("rebuild_scope_paths", verbosity=0)
    assert mismatches() == []


# --- the lists return exactly the rows of the rule they replace ---------------------------------


def _before(model, user):
    """The scope rule as it was before the path columns: subqueries over the unit table."""
    from django.db.models import Exists, OuterRef

    from campaigns.scope import scope_paths, scope_q

    if model is Volunteer:
        return Volunteer.objects.filter(scope_q(user, "unit__path"))
    if model is HourEntry:
        return HourEntry.objects.filter(scope_q(user, "volunteer__unit__path"))
    if model is Point:
        if scope_paths(user) is None:
            return Point.objects.all()
        return Point.objects.filter(scope_q(user, "unit__path") | scope_q(user, "department__path"))
    if scope_paths(user) is None:
        return WorkItem.objects.all()
    shared = WorkItem.cooperating_units.through.objects.filter(scope_q(user, "unit__path"), workitem_id=OuterRef("pk"))
    return WorkItem.objects.filter(scope_q(user, "lead_unit__path") | Exists(shared))


@pytest.mark.parametrize("model", [WorkItem, Volunteer, HourEntry, Point])
def test_visible_to_returns_the_rows_of_the_subquery_rule_it_replaces(city, personas, loop, model):
    from campaigns.models import Membership
    from tests.factories import make_member

    dept_handler = make_member(Unit.objects.get(code="C-A-CG"), Membership.Role.HANDLER, "p_dept_a")
    street_b = make_member(city.street_b1, Membership.Role.HANDLER, "p_street_b")
    seen = []
    for user in (personas.supervisor, personas.leader, personas.handler_a, personas.handler_b, personas.outsider,
                 dept_handler, street_b, UserFactory(username="root", is_superuser=True)):
        now = set(model.objects.visible_to(user).values_list("pk", flat=True))
        assert now == set(_before(model, user).values_list("pk", flat=True)), (model.__name__, user.username)
        seen.append(len(now))
    assert 0 in seen and len(set(seen)) >= 3  # the scopes differ: the comparison has teeth


def test_scoped_lists_filter_on_their_own_path_column_not_a_unit_subquery(personas, loop):
    for qs in (Volunteer.objects.visible_to(personas.handler_a), HourEntry.objects.visible_to(personas.handler_a)):
        sql = str(qs.query)
        assert '"unit_path"::text LIKE' in sql and "campaigns_unit" not in sql, sql
    # Work items: the lead unit is the column; only the cooperating units go through their link table.
    sql = str(WorkItem.objects.visible_to(personas.handler_a).query)
    assert '"campaigns_workitem"."unit_path"::text LIKE' in sql and '"lead_unit_id" IN' not in sql, sql


def test_the_within_filters_match_the_subtree_rule(city, personas, loop):
    from django.db.models import Exists, OuterRef

    shared = WorkItem.cooperating_units.through.objects.filter(unit__path__startswith=city.street_b1.path,
                                                               workitem_id=OuterRef("pk"))
    before = WorkItem.objects.filter(Exists(shared) | Q(lead_unit__path__startswith=city.street_b1.path))
    assert set(WorkItem.objects.involving(city.street_b1)) == set(before) != set()
    from volunteers.filtersets import HourEntryFilterSet, VolunteerFilterSet

    for filterset, model, lookup in ((VolunteerFilterSet, Volunteer, "unit__path__startswith"),
                                     (HourEntryFilterSet, HourEntry, "volunteer__unit__path__startswith")):
        rows = filterset(queryset=model.objects.all()).filter_within(model.objects.all(), "within", city.district_a)
        assert set(rows) == set(model.objects.filter(**{lookup: city.district_a.path})) != set(model.objects.all())


# --- query counts of the lists that now read the columns ----------------------------------------

SCOPED_LISTS = {  # url → queries for a district handler: (session,) user, memberships, count, rows (+ prefetch)
    "/volunteers/": 5,
    "/volunteers/ledger/": 5,
    "/api/v1/volunteers/": 4,
    "/api/v1/work-items/": 5,
    "/campaigns/{campaign}/ledger/": 7,  # + the campaign, + the cooperating units of the page
}


@pytest.mark.parametrize("url", SCOPED_LISTS)
def test_scoped_lists_run_a_pinned_number_of_queries(personas, loop, login, api, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    w = loop[0]
    client = api(personas.handler_a) if url.startswith("/api/") else login(personas.handler_a)
    pinned, url = SCOPED_LISTS[url], url.format(campaign=w.campaign.pk)
    client.get(url)  # warm the per-process caches (permissions, content types)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    assert len(ctx.captured_queries) == pinned, "\n".join(q["sql"][:300] for q in ctx.captured_queries)
