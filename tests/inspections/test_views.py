"""The loop's pages: record, triage, act on tasks, exports, map data, calendar; bad input never a 500."""

from __future__ import annotations

import datetime as dt

import pytest

from inspections.models import CalendarOverride, Finding, FindingCategory, Inspection, RectificationTask, Visit

from .helpers import dispatched, finding, jpeg, png_bomb, submitted, text_as_jpeg, world

pytestmark = pytest.mark.django_db


@pytest.fixture
def w(city, personas):
    return world(city, personas)


def test_record_form_shows_camera_upload_and_gps_script(w, personas, login):
    body = login(personas.inspector).get("/findings/new/").content.decode()
    assert 'capture="environment"' in body and 'accept="image/' in body and "multiple" in body
    assert "js/finding-record.js" in body and 'id="point-positions"' in body
    assert "<script>" not in body.replace('<script src=', '')  # no inline scripts (CSP)


def test_inspector_records_a_finding_from_the_phone_form(w, personas, login):
    client = login(personas.inspector)
    r = client.post("/findings/new/", {
        "source": "inspection", "point": w.point_a.pk, "visit": w.visit_a.pk, "category": w.category.pk,
        "severity": "", "description": "垃圾桶满溢", "latitude": "29.870100", "longitude": "121.550100",
        "photos": [jpeg("a.jpg"), jpeg("b.jpg")]})
    assert r.status_code == 302, r.content.decode()[:2000]
    f = Finding.objects.get()
    assert (f.visit, f.unit, f.photos.count(), f.status) == (w.visit_a, w.point_a.unit, 2, "new")
    assert str(f.latitude) == "29.870100"


def test_bad_photo_on_the_form_is_a_form_error_not_a_500(w, personas, login):
    client = login(personas.inspector)
    for bad in (text_as_jpeg(), png_bomb()):
        r = client.post("/findings/new/", {"source": "inspection", "point": w.point_a.pk, "category": w.category.pk,
                                           "description": "x", "photos": [bad]})
        assert r.status_code == 200 and "error" in r.content.decode()
    assert not Finding.objects.exists()


def test_supervisor_can_record_and_dispatch_at_once(w, personas, login):
    r = login(personas.supervisor).post("/findings/new/", {
        "source": "inspection", "point": w.point_a.pk, "category": w.category.pk, "description": "占道",
        "photos": [jpeg()], "dispatch_now": "on"})
    assert r.status_code == 302
    assert RectificationTask.objects.get().unit == w.point_a.unit


def test_triage_queue_dispatches_and_voids(w, personas, login):
    first, second = finding(w, personas), finding(w, personas, visit=w.visit_b)
    client = login(personas.supervisor)
    page = client.get("/findings/triage/").content.decode()
    assert f"/findings/{first.pk}/" in page and f"/findings/{second.pk}/" in page
    assert client.post(f"/findings/{first.pk}/dispatch/", {"next": "triage"}).url == "/findings/triage/"
    client.post(f"/findings/{second.pk}/void/", {"reason": "误报"})
    assert Finding.objects.get(pk=first.pk).status == "dispatched"
    assert Finding.objects.get(pk=second.pk).status == "void"
    assert f"/findings/{first.pk}/" not in client.get("/findings/triage/").content.decode()


def test_unit_accepts_and_submits_from_the_task_page(w, personas, login):
    task = dispatched(w, personas)
    client = login(personas.handler_a)
    page = client.get(f"/tasks/{task.pk}/").content.decode()
    assert "accept" in page and f"/tasks/{task.pk}/accept/" in page
    client.post(f"/tasks/{task.pk}/accept/", {"expected_status": "assigned"})
    r = client.post(f"/tasks/{task.pk}/submit/", {"note": "已整改", "photos": [jpeg()],
                                                  "expected_status": "in_progress"})
    assert r.status_code == 302
    task.refresh_from_db()
    assert task.status == "submitted"


def test_stale_form_shows_a_message_not_an_error_page(w, personas, login):
    task = dispatched(w, personas)
    client = login(personas.handler_a)
    client.post(f"/tasks/{task.pk}/accept/", {"expected_status": "assigned"})
    r = client.post(f"/tasks/{task.pk}/accept/", {"expected_status": "assigned"}, follow=True)
    assert r.status_code == 200
    assert any(m.level_tag == "error" for m in r.context["messages"])
    assert task.events.filter(action="accept").count() == 1


def test_supervisor_verifies_returns_escalates_and_decides_from_the_page(w, personas, login):
    task = submitted(w, personas)
    client = login(personas.supervisor)
    page = client.get(f"/tasks/{task.pk}/").content.decode()
    assert f"/photos/submission/" in page and f"/photos/finding/" in page  # before and after side by side
    client.post(f"/tasks/{task.pk}/return/", {"note": "不合格"})
    task.refresh_from_db()
    assert (task.status, task.rework_count) == ("returned", 1)
    client.post(f"/tasks/{task.pk}/escalate/", {"note": "督办"})
    task.refresh_from_db()
    assert task.supervision == "supervised"
    unit = login(personas.handler_a)
    unit.post(f"/tasks/{task.pk}/extension/", {"requested_due_at": (task.due_at + dt.timedelta(days=3))
                                               .strftime("%Y-%m-%dT%H:%M"), "reason": "下雨"})
    request = task.extension_requests.get()
    client = login(personas.supervisor)
    client.post(f"/tasks/{task.pk}/decide/", {"request": request.pk, "approve": "1", "note": "同意"})
    request.refresh_from_db()
    assert request.status == "approved"


def test_finding_detail_shows_timeline_and_both_photo_sets(w, personas, login):
    task = submitted(w, personas)
    body = login(personas.handler_a).get(f"/findings/{task.finding_id}/").content.decode()
    assert 'class="compare"' in body and "/photos/finding/" in body and "/photos/submission/" in body
    assert 'class="timeline"' in body


def test_findings_export_has_the_scoped_rows(w, personas, login):
    from tests.campaigns.planning_helpers import read_xlsx

    a, b = finding(w, personas), finding(w, personas, visit=w.visit_b)
    rows = read_xlsx(b"".join(login(personas.handler_a).get("/findings/export.xlsx").streaming_content))
    assert [r[0] for r in rows[1:]] == [a.pk]
    rows = read_xlsx(b"".join(login(personas.supervisor).get("/findings/export.xlsx").streaming_content))
    assert sorted(r[0] for r in rows[1:]) == sorted([a.pk, b.pk])


def test_tasks_export_and_map_data(w, personas, login):
    from tests.campaigns.planning_helpers import read_xlsx

    task = dispatched(w, personas)
    client = login(personas.supervisor)
    rows = read_xlsx(b"".join(client.get("/tasks/export.xlsx").streaming_content))
    assert rows[1][0] == task.pk and rows[1][7]  # light column filled
    data = client.get("/findings/map.json?status=dispatched").json()["findings"]
    assert [f["id"] for f in data] == [task.finding_id] and data[0]["lat"] == float(w.point_a.latitude)


def test_filter_with_out_of_scope_unit_matches_nothing(w, personas, login):
    finding(w, personas, visit=w.visit_b)
    r = login(personas.handler_a).get(f"/findings/?within={w.point_b.unit.code}")
    assert r.status_code == 200 and r.context["page"].paginator.count == 0


def test_workbench_lists_open_tasks_of_my_units_most_urgent_first(w, personas, login):
    first, second = dispatched(w, personas), dispatched(w, personas)
    from django.utils import timezone

    past = timezone.now() - dt.timedelta(hours=2)
    RectificationTask.objects.filter(pk=second.pk).update(dispatched_at=past, due_at=past + dt.timedelta(hours=1),
                                                          warn_at=past + dt.timedelta(minutes=48))
    dispatched(w, personas, visit=w.visit_b)
    r = login(personas.handler_a).get("/workbench/")
    assert [t["id"] for t in r.context["page"]] == [second.pk, first.pk]
    assert r.context["counts"] == {"red": 1, "yellow": 0, "green": 1}


def test_calendar_and_rules_pages_for_the_office(w, personas, login):
    client = login(personas.supervisor)
    r = client.post("/calendar/", {"form": "override", "o-date": "2026-12-31", "o-is_workday": "", "o-reason": "跨年"})
    assert r.status_code == 302 and not CalendarOverride.objects.get().is_workday
    r = client.post("/calendar/", {"form": "rule", "r-category": w.category.pk, "r-severity": "severe",
                                   "r-amount": "5", "r-measure": "working_days"})
    assert r.status_code == 302
    r = client.post("/finding-categories/", {"code": "NEW", "name": "新类别", "default_severity": "minor",
                                             "deduction": "1", "sort_order": "1", "active": "on"})
    assert r.status_code == 302 and FindingCategory.objects.filter(code="NEW").exists()
    assert login(personas.handler_a).post("/finding-categories/", {"code": "X"}).status_code == 403


def test_inspection_pages_walk_through_visits(w, personas, login):
    client = login(personas.supervisor)
    r = client.post("/inspections/new/", {"campaign": w.campaign.pk, "title": "十二月督查", "kind": "supervision",
                                          "unit": "C-A", "starts_on": "2026-12-01", "ends_on": "2026-12-03"})
    assert r.status_code == 302
    inspection = Inspection.objects.get(title="十二月督查")
    r = client.post(f"/inspections/{inspection.pk}/visits/new/", {"point": w.point_a.pk, "is_clean": "on"})
    assert r.status_code == 302 and Visit.objects.get(inspection=inspection).is_clean
    r = client.post(f"/inspections/{inspection.pk}/visits/new/", {"point": w.point_a.pk})
    assert r.url.startswith("/findings/new/?visit=")
    body = client.get(f"/inspections/{inspection.pk}/").content.decode()
    assert w.point_a.name in body


def test_nav_links_follow_permissions(w, personas, login):
    supervisor = login(personas.supervisor).get("/findings/").content.decode()
    assert "/findings/triage/" in supervisor and "/workbench/" in supervisor
    handler = login(personas.handler_a).get("/findings/").content.decode()
    assert "/findings/triage/" not in handler and "/findings/new/" not in handler


def test_task_lists_flag_a_pending_extension(w, personas, login):
    from inspections import services

    task = dispatched(w, personas)
    client = login(personas.handler_a)
    assert "延期" not in client.get("/workbench/").content.decode().split('<table class="table')[1]
    services.task_request_extension(actor=personas.handler_a, task=task, requested_due_at=task.due_at +
                                    dt.timedelta(days=2), reason="材料未到")
    row = client.get("/workbench/").content.decode().split('<table class="table')[1]
    assert "申请延期" in row


def _ids_and_label_targets(body: str):
    """All id attributes of a page, and (form index, label for) / (form index, id) pairs."""
    from html.parser import HTMLParser

    class Parser(HTMLParser):
        def __init__(self):
            super().__init__()
            self.ids, self.labels, self.form_ids, self.form = [], [], set(), -1

        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            if tag == "form":
                self.form += 1
            if attrs.get("id"):
                self.ids.append(attrs["id"])
                self.form_ids.add((self.form, attrs["id"]))
            if tag == "label" and attrs.get("for"):
                self.labels.append((self.form, attrs["for"]))

    parser = Parser()
    parser.feed(body)
    return parser.ids, parser.labels, parser.form_ids


def test_task_page_forms_have_unique_ids_so_each_label_names_its_own_field(w, personas, login):
    """A returned task shows the accept, report and extension forms at once; the
    office sees verify, escalate and void: every label must point at the field
    of its own form (found by a browser journey: "what was done" focused the
    accept form's note, and the report could not be sent)."""
    task = submitted(w, personas)
    office = login(personas.supervisor)
    office_page = office.get(f"/tasks/{task.pk}/").content.decode()
    office.post(f"/tasks/{task.pk}/return/", {"note": "不合格"})
    handler_page = login(personas.handler_a).get(f"/tasks/{task.pk}/").content.decode()
    assert "/accept/" in handler_page and "/submit/" in handler_page and "/extension/" in handler_page
    assert "/verify/" in office_page and "/escalate/" in office_page and "/void/" in office_page
    for body in (handler_page, office_page):
        ids, labels, form_ids = _ids_and_label_targets(body)
        assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
        assert labels and all(pair in form_ids for pair in labels), labels
    assert 'id="id_submit_note"' in handler_page and 'id="id_accept_note"' in handler_page
    assert 'id="id_verify_note"' in office_page and 'id="id_escalate_note"' in office_page


def test_supervision_levels_have_no_chinese_in_english():
    """The English labels carried the Chinese term in brackets ("supervised (督办)"),
    so the English workbench filter showed Chinese (found by the language journey)."""
    from django.utils import translation

    levels = [RectificationTask.Supervision.SUPERVISED, RectificationTask.Supervision.LISTED]
    with translation.override("en"):
        assert [str(level.label) for level in levels] == ["supervised", "listed supervision"]
    with translation.override("zh-hans"):
        assert [str(level.label) for level in levels] == ["督办", "挂牌督办"]
