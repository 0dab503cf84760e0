"""Recurring inspection schedules (issue 18, acceptance 4 in-process): the rule (dateutil rrule), due
occurrences becoming inspections exactly once (twice, in racing threads, after pause and edit), the
inspectors reminded once, the API and pages, scope and query counts."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from inspections.models import Inspection
from notifications.models import Notification
from rounds import services
from rounds.models import InspectionSchedule, PlannedVisit, ScheduleOccurrence

from ..campaigns.planning_helpers import read_xlsx

pytestmark = pytest.mark.django_db

MONDAY = dt.date(2026, 12, 7)


def schedule(world, personas, city, **kwargs):
    params = dict(actor=personas.supervisor, campaign=world.campaign, title="日常督查", kind="supervision",
                  unit=city.city, frequency="DAILY", interval=1, starts_on=MONDAY, duration_days=1, lead_days=0,
                  inspectors=[personas.inspector, world.inspector2])
    params.update(kwargs)
    return services.schedule_create(**params)


def test_rules_follow_rrule(rounds_world, city, personas):
    every_two_months = schedule(rounds_world, personas, city, title="全市实地测评", frequency="MONTHLY", interval=2,
                                starts_on=dt.date(2026, 1, 15), duration_days=5)
    assert every_two_months.occurrences_between(dt.date(2026, 1, 1), dt.date(2026, 12, 31)) == [
        dt.date(2026, m, 15) for m in (1, 3, 5, 7, 9, 11)]
    weekly = schedule(rounds_world, personas, city, title="街道自查", frequency="WEEKLY", weekdays=[3, 0],
                      unit=city.street_a1, kind="self_check", inspectors=[])
    assert weekly.next_occurrences(MONDAY, 4) == [MONDAY, MONDAY + dt.timedelta(days=3),
                                                  MONDAY + dt.timedelta(days=7), MONDAY + dt.timedelta(days=10)]
    until = schedule(rounds_world, personas, city, until=MONDAY + dt.timedelta(days=2))
    assert until.next_occurrences(MONDAY, 10) == [MONDAY + dt.timedelta(days=i) for i in range(3)]


def test_a_due_occurrence_becomes_one_inspection_and_reminds_once(rounds_world, city, personas):
    s = schedule(rounds_world, personas, city, points=[rounds_world.plan.point_a, rounds_world.plan.point_b],
                 duration_days=2, lead_days=1)
    # Today is Monday: Monday's round (running) and Tuesday's (one day ahead) are due.
    assert services.due_occurrences(MONDAY) == [(s.pk, MONDAY), (s.pk, MONDAY + dt.timedelta(days=1))]
    first = services.occurrence_materialize(schedule_id=s.pk, occurs_on=MONDAY, today=MONDAY)
    second = services.occurrence_materialize(schedule_id=s.pk, occurs_on=MONDAY, today=MONDAY)
    assert first is not None and second is None
    inspection = first.inspection
    assert (inspection.starts_on, inspection.ends_on) == (MONDAY, MONDAY + dt.timedelta(days=1))
    assert inspection.title == "日常督查 · 2026-12-07" and inspection.created_by == personas.supervisor
    assert set(inspection.inspectors.all()) == {personas.inspector, rounds_world.inspector2}
    assert list(PlannedVisit.objects.filter(inspection=inspection).values_list("inspector", flat=True)) == [
        personas.inspector.pk, rounds_world.inspector2.pk]
    notes = Notification.objects.filter(target_id=inspection.pk)
    assert sorted(notes.values_list("recipient__username", flat=True)) == ["p_inspector", "p_inspector2"]
    assert services.due_occurrences(MONDAY) == [(s.pk, MONDAY + dt.timedelta(days=1))]
    # An occurrence outside the rule or the window is refused.
    assert services.occurrence_materialize(schedule_id=s.pk, occurs_on=MONDAY + dt.timedelta(days=5),
                                           today=MONDAY) is None
    assert Inspection.objects.count() == 1 and Notification.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_racing_runs_create_one_inspection(rounds_world, city, personas):
    s = schedule(rounds_world, personas, city)
    barrier = threading.Barrier(4)
    results = []

    def run():
        try:
            barrier.wait()
            results.append(services.occurrence_materialize(schedule_id=s.pk, occurs_on=MONDAY, today=MONDAY))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r is not None for r in results) == 1
    assert ScheduleOccurrence.objects.count() == Inspection.objects.count() == 1
    assert Notification.objects.count() == 2


def test_the_database_refuses_a_second_row_for_an_occurrence(rounds_world, city, personas):
    from django.db import IntegrityError, transaction

    s = schedule(rounds_world, personas, city)
    occurrence = services.occurrence_materialize(schedule_id=s.pk, occurs_on=MONDAY, today=MONDAY)
    other = Inspection.objects.create(campaign=rounds_world.campaign, title="x", kind="supervision", unit=city.city,
                                      starts_on=MONDAY, ends_on=MONDAY)
    with pytest.raises(IntegrityError), transaction.atomic():
        ScheduleOccurrence.objects.create(schedule=s, occurs_on=occurrence.occurs_on, inspection=other)


def test_pausing_and_resuming_never_back_fills_or_duplicates(rounds_world, city, personas, time_machine):
    s = schedule(rounds_world, personas, city)
    time_machine.move_to(dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))))
    services.occurrence_materialize(schedule_id=s.pk, occurs_on=MONDAY, today=MONDAY)
    services.schedule_set_active(actor=personas.supervisor, schedule=s, active=False)
    assert services.due_occurrences(MONDAY + dt.timedelta(days=1)) == []
    assert services.occurrence_materialize(schedule_id=s.pk, occurs_on=MONDAY + dt.timedelta(days=1),
                                           today=MONDAY + dt.timedelta(days=1)) is None
    # Resumed on Thursday: Tuesday and Wednesday stay skipped, Thursday is due once.
    time_machine.move_to(dt.datetime(2026, 12, 10, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))))
    services.schedule_set_active(actor=personas.supervisor, schedule=s, active=True)
    s.refresh_from_db()
    assert s.not_before == dt.date(2026, 12, 10)
    thursday = dt.date(2026, 12, 10)
    assert services.due_occurrences(thursday) == [(s.pk, thursday)]
    # Pausing and resuming again the same day does not bring Thursday twice.
    services.occurrence_materialize(schedule_id=s.pk, occurs_on=thursday, today=thursday)
    services.schedule_set_active(actor=personas.supervisor, schedule=s, active=False)
    services.schedule_set_active(actor=personas.supervisor, schedule=s, active=True)
    assert services.due_occurrences(thursday) == []
    assert list(ScheduleOccurrence.objects.order_by("occurs_on").values_list("occurs_on", flat=True)) == [
        MONDAY, thursday]


def test_editing_the_rule_never_duplicates_an_occurrence(rounds_world, city, personas, time_machine):
    time_machine.move_to(dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))))
    s = schedule(rounds_world, personas, city, frequency="WEEKLY", weekdays=[0], lead_days=3)
    services.occurrence_materialize(schedule_id=s.pk, occurs_on=MONDAY, today=MONDAY)
    # Edited to daily the same day: Monday stays the one made; Tuesday to Thursday follow the new rule.
    services.schedule_update(actor=personas.supervisor, schedule=s, frequency="DAILY", title="每日督查")
    due = services.due_occurrences(MONDAY)
    assert due == [(s.pk, MONDAY + dt.timedelta(days=i)) for i in (1, 2, 3)]
    for _pk, day in due + due:
        services.occurrence_materialize(schedule_id=s.pk, occurs_on=day, today=MONDAY)
    assert ScheduleOccurrence.objects.count() == Inspection.objects.count() == 4
    # Moving the start back in time does not bring back passed days.
    services.schedule_update(actor=personas.supervisor, schedule=s, starts_on=dt.date(2026, 11, 1))
    assert services.due_occurrences(MONDAY) == []


def test_bad_schedules_are_refused(rounds_world, city, personas):
    for kwargs, field in [({"weekdays": [7]}, "weekdays"), ({"interval": 0}, "interval"),
                          ({"until": dt.date(2026, 1, 1)}, "until"), ({"frequency": "HOURLY"}, "frequency"),
                          ({"unit": city.district_b, "points": [rounds_world.plan.point_a]}, "points"),
                          ({"inspectors": [personas.handler_a]}, "inspectors"), ({"title": ""}, "title"),
                          ({"starts_on": dt.date(1, 1, 1)}, "starts_on")]:
        with pytest.raises(ValidationError) as caught:
            schedule(rounds_world, personas, city, **kwargs)
        assert field in caught.value.message_dict, (kwargs, caught.value.message_dict)
    with pytest.raises(PermissionDenied):
        schedule(rounds_world, personas, city, actor=personas.handler_a, unit=city.district_a)
    # A head schedules their own unit's self-check, not a supervision round.
    assert schedule(rounds_world, personas, city, actor=personas.head_a, unit=city.district_a, kind="self_check",
                    inspectors=[])
    with pytest.raises(PermissionDenied):
        schedule(rounds_world, personas, city, actor=personas.head_a, unit=city.district_a)
    assert InspectionSchedule.objects.count() == 1


def test_a_schedule_whose_creator_lost_the_role_skips_quietly(rounds_world, city, personas):
    s = schedule(rounds_world, personas, city)
    personas.supervisor.memberships.update(active=False)
    assert services.occurrence_materialize(schedule_id=s.pk, occurs_on=MONDAY, today=MONDAY) is None
    assert not Inspection.objects.exists()


# --- API and pages ---------------------------------------------------------------------------


def test_api_creates_edits_pauses_and_resumes(rounds_world, city, personas, api):
    client = api(personas.supervisor)
    payload = {"campaign": rounds_world.campaign.pk, "title": "每两个月全市实地测评", "kind": "field_evaluation",
               "unit": city.city.pk, "frequency": "MONTHLY", "interval": 2, "starts_on": "2027-01-10",
               "duration_days": 5, "inspectors": [personas.inspector.pk], "points": [rounds_world.plan.point_a.pk]}
    created = client.post("/api/v1/inspection-schedules/", payload, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["next_occurrences"] == ["2027-01-10", "2027-03-10", "2027-05-10"]
    assert body["inspectors"] == [personas.inspector.pk] and body["points"] == [rounds_world.plan.point_a.pk]
    pk = body["id"]
    edited = client.patch(f"/api/v1/inspection-schedules/{pk}/", {"interval": 1}, format="json")
    assert edited.status_code == 200 and edited.json()["next_occurrences"][1] == "2027-02-10"
    assert client.post(f"/api/v1/inspection-schedules/{pk}/pause/").json()["active"] is False
    assert client.post(f"/api/v1/inspection-schedules/{pk}/resume/").json()["active"] is True
    for bad in ({"weekdays": [9]}, {"interval": 0}, {"frequency": "HOURLY"}, {"unit": 999999},
                {"inspectors": [personas.handler_b.pk]}, {"starts_on": "someday"}):
        assert client.post("/api/v1/inspection-schedules/", {**payload, **bad}, format="json").status_code == 400
    assert client.delete(f"/api/v1/inspection-schedules/{pk}/").status_code == 405
    assert api(personas.handler_a).post(f"/api/v1/inspection-schedules/{pk}/pause/").status_code in (403, 404)
    assert InspectionSchedule.objects.count() == 1
    assert InspectionSchedule.history.filter(id=pk).count() >= 4


def test_schedules_are_scoped(rounds_world, city, personas, api, login):
    in_a = schedule(rounds_world, personas, city, unit=city.district_a, inspectors=[personas.inspector])
    city_wide = schedule(rounds_world, personas, city, title="全市")
    assert [r["id"] for r in api(personas.handler_a).get("/api/v1/inspection-schedules/").json()["results"]] == [
        in_a.pk]
    assert api(personas.handler_b).get(f"/api/v1/inspection-schedules/{in_a.pk}/").status_code == 404
    assert api(personas.outsider).get("/api/v1/inspection-schedules/").status_code == 403
    # An inspector assigned to a schedule sees it.
    assert {r["id"] for r in api(personas.inspector).get("/api/v1/inspection-schedules/").json()["results"]} == {
        in_a.pk, city_wide.pk}
    page = login(personas.handler_b)
    assert page.get(f"/rounds/schedules/{in_a.pk}/").status_code == 404
    assert len(read_xlsx(page.get("/rounds/schedules/export.xlsx").getvalue())) == 1


def test_schedule_pages(rounds_world, city, personas, login):
    client = login(personas.supervisor)
    assert client.get("/rounds/schedules/new/").status_code == 200
    response = client.post("/rounds/schedules/new/", {
        "campaign": rounds_world.campaign.pk, "title": "街道每周自查", "kind": "self_check", "unit": city.street_a1.code,
        "frequency": "WEEKLY", "interval": "1", "weekdays": ["0", "3"], "starts_on": "2027-01-04",
        "duration_days": "1", "lead_days": "1", "inspectors": [personas.inspector.pk]})
    assert response.status_code == 302, response.content.decode()[:3000]
    s = InspectionSchedule.objects.get()
    assert s.weekdays == [0, 3]
    detail = client.get(f"/rounds/schedules/{s.pk}/").content.decode()
    assert "街道每周自查" in detail and "2027-01-07" in detail
    assert client.post(f"/rounds/schedules/{s.pk}/edit/", {
        "title": "街道每周自查（改）", "kind": "self_check", "unit": city.street_a1.code, "frequency": "WEEKLY",
        "interval": "1", "weekdays": ["2"], "starts_on": "2027-01-04", "duration_days": "1", "lead_days": "1",
        "inspectors": [personas.inspector.pk]}).status_code == 302
    s.refresh_from_db()
    assert s.title == "街道每周自查（改）" and s.weekdays == [2]
    client.post(f"/rounds/schedules/{s.pk}/active/", {"active": "0"})
    s.refresh_from_db()
    assert s.active is False
    rows = read_xlsx(client.get("/rounds/schedules/export.xlsx").getvalue())
    assert rows[1][0] == "街道每周自查（改）" and rows[1][9] == personas.inspector.username
    bad = client.post("/rounds/schedules/new/", {"campaign": rounds_world.campaign.pk, "title": "x",
                                                 "kind": "self_check", "unit": "C", "frequency": "WEEKLY",
                                                 "interval": "0", "starts_on": "2027-01-04", "duration_days": "1",
                                                 "lead_days": "1"})
    assert bad.status_code == 400 and InspectionSchedule.objects.count() == 1


@pytest.mark.parametrize("size", [1, 50])
def test_schedule_list_holds_its_query_count(rounds_world, city, personas, api, login, size,
                                             django_assert_num_queries):
    for i in range(3):
        s = schedule(rounds_world, personas, city, title=f"督查{i}")
        services.occurrence_materialize(schedule_id=s.pk, occurs_on=MONDAY, today=MONDAY)
    client = api(personas.supervisor)
    client.get("/api/v1/inspection-schedules/")
    with django_assert_num_queries(6):
        assert len(client.get(f"/api/v1/inspection-schedules/?limit={size}").json()["results"]) == min(size, 3)
    page = login(personas.supervisor)
    page.get("/rounds/schedules/")
    with django_assert_num_queries(8):  # the HTML page adds the session to the API's reads
        page.get(f"/rounds/schedules/?page_size={size}")
