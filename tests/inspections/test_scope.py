"""Scope and roles (acceptance 5): every persona × in/out of scope over the endpoints and pages."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from inspections import services
from inspections.models import Inspection

from .helpers import dispatched, finding, jpeg, world

pytestmark = pytest.mark.django_db

PERSONAS = ["supervisor", "inspector", "leader", "head_a", "handler_a", "handler_b", "outsider"]
SEES_A = {"supervisor", "inspector", "leader", "head_a", "handler_a"}
SEES_B = {"supervisor", "inspector", "handler_b"}
UNIT_A = {"head_a", "handler_a"}


@pytest.fixture
def objs(city, personas):
    w = world(city, personas)
    insp = {}
    for key, unit in (("a", city.district_a), ("b", city.district_b)):
        insp[key] = Inspection.objects.create(campaign=w.campaign, title=f"自查{key}", kind=Inspection.Kind.SELF_CHECK,
                                              unit=unit, starts_on=dt.date(2026, 11, 1), ends_on=dt.date(2026, 11, 2))
    visit_a = services.visit_create(actor=personas.inspector, inspection=insp["a"], point=w.point_a)
    visit_b = services.visit_create(actor=personas.inspector, inspection=insp["b"], point=w.point_b)
    task_a = dispatched(w, personas, visit=visit_a)
    task_b = dispatched(w, personas, visit=visit_b)
    return SimpleNamespace(w=w, a=SimpleNamespace(inspection=insp["a"], visit=visit_a, task=task_a,
                                                    finding=task_a.finding, photo=task_a.finding.photos.get()),
                           b=SimpleNamespace(inspection=insp["b"], visit=visit_b, task=task_b,
                                             finding=task_b.finding, photo=task_b.finding.photos.get()))


def expected_read(who: str, side: str) -> int:
    if who == "outsider":
        return 403
    return 200 if who in (SEES_A if side == "a" else SEES_B) else 404


@pytest.mark.parametrize("who", PERSONAS)
@pytest.mark.parametrize("side", ["a", "b"])
def test_api_details_answer_by_scope(objs, personas, api, who, side):
    client = api(getattr(personas, who))
    o = getattr(objs, side)
    urls = [f"/api/v1/findings/{o.finding.pk}/", f"/api/v1/tasks/{o.task.pk}/", f"/api/v1/visits/{o.visit.pk}/",
            f"/api/v1/inspections/{o.inspection.pk}/", f"/api/v1/tasks/{o.task.pk}/events/",
            f"/api/v1/tasks/{o.task.pk}/submissions/", f"/api/v1/findings/{o.finding.pk}/duplicates/"]
    assert {url: client.get(url).status_code for url in urls} == {url: expected_read(who, side) for url in urls}


@pytest.mark.parametrize("who", PERSONAS)
def test_api_lists_show_only_the_scope(objs, personas, api, who):
    client = api(getattr(personas, who))
    lists = {"findings": "finding", "tasks": "task", "visits": "visit", "inspections": "inspection"}
    for resource, attr in lists.items():
        response = client.get(f"/api/v1/{resource}/")
        if who == "outsider":
            assert response.status_code == 403
            continue
        seen = {row["id"] for row in response.json()["results"]}
        a_id, b_id = getattr(objs.a, attr).pk, getattr(objs.b, attr).pk
        assert (a_id in seen, b_id in seen) == (who in SEES_A, who in SEES_B), resource


@pytest.mark.parametrize("who", PERSONAS)
def test_photo_urls_by_scope(objs, personas, api, who):
    client = api(getattr(personas, who))
    for side in ("a", "b"):
        photo = getattr(objs, side).photo
        expected = 404 if expected_read(who, side) != 200 else 200
        assert client.get(f"/photos/finding/{photo.pk}/thumb/").status_code == expected


def unit_action_expected(who: str, side: str) -> set[int]:
    if who not in UNIT_A | {"handler_b"}:
        return {403}
    mine = (side == "a" and who in UNIT_A) or (side == "b" and who == "handler_b")
    return {200, 201, 400, 409} if mine else {404}


def office_action_expected(who: str) -> set[int]:
    return {200, 201, 400, 409} if who == "supervisor" else {403}


@pytest.mark.parametrize("who", PERSONAS)
@pytest.mark.parametrize("side", ["a", "b"])
def test_task_actions_by_role_and_scope(objs, personas, api, who, side):
    client = api(getattr(personas, who))
    task = getattr(objs, side).task
    later = (task.due_at + dt.timedelta(days=3)).isoformat()
    unit_calls = {
        "accept": {}, "submit": {"note": "x", "photos": [jpeg()]},
        "request-extension": {"requested_due_at": later, "reason": "x"},
    }
    office_calls = {"verify": {}, "return": {"note": "x"}, "escalate": {}, "decide-extension": {"approve": False,
                                                                                             "note": "x"},
                    "void": {"reason": "x"}}
    got = {}
    for name, body in unit_calls.items():
        got[name] = client.post(f"/api/v1/tasks/{task.pk}/{name}/", body, format="multipart").status_code
        assert got[name] in unit_action_expected(who, side), (name, got[name])
    for name, body in office_calls.items():
        got[name] = client.post(f"/api/v1/tasks/{task.pk}/{name}/", body, format="multipart").status_code
        assert got[name] in office_action_expected(who), (name, got[name])


@pytest.mark.parametrize("who", PERSONAS)
@pytest.mark.parametrize("side", ["a", "b"])
def test_finding_triage_actions_by_role_and_scope(objs, personas, api, who, side):
    w = objs.w
    visit = getattr(objs, side).visit
    new = finding(w, personas, visit=visit)
    client = api(getattr(personas, who))
    expected = office_action_expected(who)
    for name, body in (("mark-duplicate", {"original": getattr(objs, side).finding.pk}),
                       ("void", {"reason": "x"}), ("dispatch", {})):
        code = client.post(f"/api/v1/findings/{new.pk}/{name}/", body, format="json").status_code
        assert code in expected, (name, code)
    code = client.post(f"/api/v1/findings/{new.pk}/photos/", {"photos": [jpeg()]}, format="multipart").status_code
    assert code in ({201, 403} if who in ("supervisor", "inspector") else {403}), code


@pytest.mark.parametrize("who", PERSONAS)
def test_recording_findings_and_visits_is_for_inspectors_and_the_office(objs, personas, api, who):
    client = api(getattr(personas, who))
    w = objs.w
    r = client.post("/api/v1/findings/", {"visit": objs.a.visit.pk, "category": w.category.pk,
                                          "description": "x", "photos": [jpeg()]}, format="multipart")
    assert r.status_code == (201 if who in ("supervisor", "inspector") else 403), r.content
    r = client.post("/api/v1/visits/", {"inspection": objs.a.inspection.pk, "point": w.point_a.pk}, format="json")
    assert r.status_code == (201 if who in ("supervisor", "inspector") else 403), r.content
    r = client.post("/api/v1/inspections/", {"campaign": w.campaign.pk, "title": "t", "kind": "supervision",
                                             "unit": objs.a.inspection.unit_id, "starts_on": "2026-11-01",
                                             "ends_on": "2026-11-02"}, format="json")
    assert r.status_code == (201 if who == "supervisor" else 403), r.content
    r = client.post("/api/v1/inspections/", {"campaign": w.campaign.pk, "title": "自查", "kind": "self_check",
                                             "unit": objs.a.inspection.unit_id, "starts_on": "2026-11-01",
                                             "ends_on": "2026-11-02"}, format="json")
    assert r.status_code == (201 if who in ("supervisor", "head_a") else 403), r.content
    r = client.post("/api/v1/finding-categories/", {"code": f"X-{who}", "name": "新类别"}, format="json")
    assert r.status_code == (201 if who == "supervisor" else 403)


def test_no_delete_anywhere(objs, personas, api):
    client = api(personas.supervisor)
    for url in (f"/api/v1/findings/{objs.a.finding.pk}/", f"/api/v1/tasks/{objs.a.task.pk}/",
                f"/api/v1/visits/{objs.a.visit.pk}/", f"/api/v1/inspections/{objs.a.inspection.pk}/"):
        assert client.delete(url).status_code in (403, 405)
        assert client.get(url).status_code == 200


# --- pages -------------------------------------------------------------------------------------

LIST_PAGES = ["/findings/", "/findings/?view=map", "/findings/map.json", "/findings/export.xlsx", "/tasks/",
              "/tasks/export.xlsx", "/workbench/", "/inspections/", "/finding-categories/"]


@pytest.mark.parametrize("who", PERSONAS)
def test_list_pages_for_every_role_and_403_for_the_outsider(objs, personas, login, who):
    client = login(getattr(personas, who))
    for url in LIST_PAGES:
        assert client.get(url).status_code == (403 if who == "outsider" else 200), url


@pytest.mark.parametrize("who", PERSONAS)
def test_office_pages_only_for_supervisors(objs, personas, login, who):
    client = login(getattr(personas, who))
    for url in ("/findings/triage/", "/calendar/"):
        assert client.get(url).status_code == (200 if who == "supervisor" else 403), url
    assert client.get("/findings/new/").status_code == (200 if who in ("supervisor", "inspector") else 403)
    assert client.get("/inspections/new/").status_code == (200 if who in ("supervisor", "head_a") else 403)


@pytest.mark.parametrize("who", PERSONAS)
@pytest.mark.parametrize("side", ["a", "b"])
def test_detail_pages_by_scope(objs, personas, login, who, side):
    client = login(getattr(personas, who))
    o = getattr(objs, side)
    urls = [f"/findings/{o.finding.pk}/", f"/tasks/{o.task.pk}/", f"/inspections/{o.inspection.pk}/"]
    assert {u: client.get(u).status_code for u in urls} == {u: expected_read(who, side) for u in urls}


@pytest.mark.parametrize("who", PERSONAS)
def test_out_of_scope_rows_never_appear_in_lists_or_exports(objs, personas, login, who):
    if who == "outsider":
        return
    client = login(getattr(personas, who))
    body = client.get("/findings/?per_page=200").content.decode()
    assert (f"/findings/{objs.b.finding.pk}/" in body) == (who in SEES_B)
    data = client.get("/findings/map.json").json()["findings"]
    assert (objs.b.finding.pk in {f["id"] for f in data}) == (who in SEES_B)
    from tests.campaigns.planning_helpers import read_xlsx

    rows = read_xlsx(b"".join(client.get("/tasks/export.xlsx").streaming_content))
    assert (objs.b.task.pk in {r[0] for r in rows[1:]}) == (who in SEES_B)


@pytest.mark.parametrize("who", PERSONAS)
def test_page_task_actions_by_role_and_scope(objs, personas, login, who):
    client = login(getattr(personas, who))
    task = objs.a.task
    accept = client.post(f"/tasks/{task.pk}/accept/", {"note": ""})
    verify = client.post(f"/tasks/{task.pk}/verify/", {"note": ""})
    if who == "outsider":
        assert (accept.status_code, verify.status_code) == (403, 403)
    elif who not in SEES_A:
        assert (accept.status_code, verify.status_code) == (404, 404)
    else:
        assert accept.status_code == (302 if who in UNIT_A else 403)
        assert verify.status_code == (302 if who == "supervisor" else 403)
    void = client.post(f"/findings/{objs.b.finding.pk}/void/", {"reason": "x"})
    assert void.status_code == (302 if who == "supervisor" else 403)


@pytest.mark.parametrize("who", PERSONAS)
def test_scope_covers_is_visible_to_in_python(objs, personas, city, who):
    """``Scope.covers`` (the finding page keeps its tasks in scope in Python) answers what
    ``TaskQuerySet.visible_to`` answers in SQL, for every task: one with no supervising department,
    one in district B whose finding a department in district A supervises."""
    from campaigns.scope import scope_of
    from inspections.models import RectificationTask

    RectificationTask.objects.filter(pk=objs.a.task.pk).update(department_path="")
    RectificationTask.objects.filter(pk=objs.b.task.pk).update(department_path=city.district_a.path)
    user = type(getattr(personas, who)).objects.get(pk=getattr(personas, who).pk)
    visible = set(RectificationTask.objects.visible_to(user).values_list("pk", flat=True))
    scope = scope_of(user)
    assert {t.pk for t in RectificationTask.objects.all() if scope.covers(t.unit_path, t.department_path)} == visible
    assert (objs.b.task.pk in visible) == (who in SEES_A | SEES_B)  # through district A's department, or B itself
    assert (objs.a.task.pk in visible) == (who in SEES_A)
