"""The checklist at a visit (issue 18, acceptance 1): the criteria of the edition that apply to the
visit's point type, 不达标 → findings linked to their criterion, idempotent resends, scope, API."""

from __future__ import annotations

import uuid

import pytest

from inspections.models import Finding, VisitCheck

from .checks_helpers import edition
from .helpers import jpeg, world

pytestmark = pytest.mark.django_db


@pytest.fixture
def w(city, personas):
    w = world(city, personas)
    w.ed = edition(w)
    return w


def _form(w, results: dict, **extra) -> dict:
    data = {"client_id": str(uuid.uuid4()), **extra}
    for code, result in results.items():
        pk = w.ed.by_code[code].pk
        data[f"c-{pk}-result"] = result
        if result == "failed":
            data[f"c-{pk}-category"] = str(w.category.pk)
            data[f"c-{pk}-note"] = f"{code} 不达标"
            data[f"c-{pk}-photos"] = jpeg(f"{code}.jpg")
    return data


def test_market_visit_lists_exactly_the_market_criteria_grouped(w, personas, login):
    body = login(personas.inspector).get(f"/visits/{w.visit_a.pk}/checks/").content.decode()
    shown = [code for code, ind in w.ed.by_code.items() if f'name="c-{ind.pk}-result"' in body]
    assert sorted(shown) == sorted(w.ed.market_codes)
    assert "公共环境 › 农贸市场" in body and "诚信建设 › 诚信宣传" in body
    assert "路面平整无坑洼" not in body and "诚信制度材料齐全" not in body
    assert 'capture="environment"' in body and 'name="client_id"' in body


def test_two_failed_criteria_become_two_linked_findings_and_a_resend_changes_nothing(w, personas, login):
    client = login(personas.inspector)
    data = _form(w, {"1.1.1.1": "failed", "1.1.1.2": "met", "1.1.1.3": "failed", "2.1.1.1": "na"})
    again = {k: (jpeg(v.name) if hasattr(v, "read") else v) for k, v in data.items()}
    r = client.post(f"/visits/{w.visit_a.pk}/checks/", data)
    assert r.status_code == 302, r.content.decode()[:2000]
    findings = Finding.objects.filter(visit=w.visit_a).order_by("indicator__code")
    assert [f.indicator.code for f in findings] == ["1.1.1.1", "1.1.1.3"]
    assert all(f.photos.count() == 1 and f.category == w.category for f in findings)
    checks = {c.indicator.code: c for c in VisitCheck.objects.filter(visit=w.visit_a).select_related("indicator")}
    assert {k: c.result for k, c in checks.items()} == {"1.1.1.1": "failed", "1.1.1.2": "met", "1.1.1.3": "failed",
                                                        "2.1.1.1": "na"}
    assert checks["1.1.1.1"].finding.indicator_id == w.ed.by_code["1.1.1.1"].pk
    assert checks["1.1.1.1"].finding.description == "1.1.1.1 不达标"
    r = client.post(f"/visits/{w.visit_a.pk}/checks/", again)  # the outbox sends it twice
    assert r.status_code == 302
    assert Finding.objects.filter(visit=w.visit_a).count() == 2 and VisitCheck.objects.filter(visit=w.visit_a).count() == 4


def test_api_resend_answers_the_same_body(w, personas, api):
    client = api(personas.inspector)
    cid = str(uuid.uuid4())
    items = [{"indicator": w.ed.by_code[c].pk, "result": "met"} for c in ("1.1.1.1", "1.1.1.2")]
    first = client.post(f"/api/v1/visits/{w.visit_a.pk}/checks/", {"client_id": cid, "items": items}, format="json")
    second = client.post(f"/api/v1/visits/{w.visit_a.pk}/checks/", {"client_id": cid, "items": items}, format="json")
    assert first.status_code == second.status_code == 200, first.content
    assert first.json() == second.json() and second["Idempotent-Replayed"] == "true"
    assert first.json()["counts"] == {"total": 4, "met": 2, "failed": 0, "na": 0, "open": 2, "score": "100.00"}
    assert VisitCheck.objects.filter(visit=w.visit_a).count() == 2
    history = VisitCheck.history.filter(visit_id=w.visit_a.pk)
    assert history.count() == 2 and all(h.history_user_id == personas.inspector.pk for h in history)


def test_api_multipart_failed_item_and_clean_in_one_tap(w, personas, api):
    client = api(personas.inspector)
    data = _form(w, {"1.1.1.3": "failed"})
    r = client.post(f"/api/v1/visits/{w.visit_a.pk}/checks/", data, format="multipart")
    assert r.status_code == 200, r.content
    assert r.json()["counts"]["failed"] == 1
    r = client.post(f"/api/v1/visits/{w.visit_b.pk}/checks/", {"client_id": str(uuid.uuid4()), "all_met": True},
                    format="json")
    assert r.status_code == 200 and r.json()["counts"]["met"] == 4 and r.json()["counts"]["score"] == "100.00"
    w.visit_b.refresh_from_db()
    assert w.visit_b.is_clean


@pytest.mark.parametrize("body, field", [
    ({"items": [{"indicator": 999999, "result": "met"}]}, "c-999999-result"),
    ({"items": [{"indicator": "x", "result": "met"}]}, "items[0]"),
    ({"items": [{"indicator": 1, "result": "maybe"}]}, "items[0]"),
    ({"items": "nope"}, "items"),
    ({"client_id": "not-a-uuid", "all_met": True}, "client_id"),
    ({}, "items"),
    ({"all_met": True, "latitude": "north"}, "latitude"),
])
def test_api_bad_input_is_a_400_and_changes_nothing(w, personas, api, body, field):
    r = api(personas.inspector).post(f"/api/v1/visits/{w.visit_a.pk}/checks/", body, format="json")
    assert r.status_code == 400, r.content
    assert field in str(r.json())
    assert not VisitCheck.objects.exists()


def test_failed_without_photo_or_category_is_refused(w, personas, api):
    pk = w.ed.by_code["1.1.1.1"].pk
    r = api(personas.inspector).post(f"/api/v1/visits/{w.visit_a.pk}/checks/", {
        "items": [{"indicator": pk, "result": "failed", "category": str(w.category.pk)},
                  {"indicator": w.ed.by_code["1.1.1.2"].pk, "result": "met"}]}, format="json")
    assert r.status_code == 400 and f"c-{pk}-result" in r.json()["errors"]
    assert not VisitCheck.objects.exists() and not Finding.objects.exists()


def test_a_failed_criterion_with_a_finding_cannot_silently_turn_met(w, personas, api):
    client = api(personas.inspector)
    assert client.post(f"/api/v1/visits/{w.visit_a.pk}/checks/", _form(w, {"1.1.1.1": "failed"}),
                       format="multipart").status_code == 200
    pk = w.ed.by_code["1.1.1.1"].pk
    r = client.post(f"/api/v1/visits/{w.visit_a.pk}/checks/", {"items": [{"indicator": pk, "result": "met"}]},
                    format="json")
    assert r.status_code == 400
    assert VisitCheck.objects.get(indicator_id=pk).result == "failed"


def test_scope_out_of_scope_visit_is_404_and_handlers_cannot_record(w, personas, api, login):
    # handler_b (district B) cannot see the visit in district A.
    assert api(personas.handler_b).get(f"/api/v1/visits/{w.visit_a.pk}/checks/").status_code == 404
    assert login(personas.handler_b).get(f"/visits/{w.visit_a.pk}/checks/").status_code == 404
    # handler_a sees it but may not record.
    assert api(personas.handler_a).get(f"/api/v1/visits/{w.visit_a.pk}/checks/").status_code == 200
    r = api(personas.handler_a).post(f"/api/v1/visits/{w.visit_a.pk}/checks/", {"all_met": True}, format="json")
    assert r.status_code == 403 and not VisitCheck.objects.exists()


def test_checklist_queries_do_not_grow_with_results(w, personas, api, django_assert_num_queries):
    client = api(personas.inspector)
    client.get(f"/api/v1/visits/{w.visit_a.pk}/checks/")  # warm the caches (token, roles)
    with django_assert_num_queries(7):
        assert client.get(f"/api/v1/visits/{w.visit_a.pk}/checks/").status_code == 200
    client.post(f"/api/v1/visits/{w.visit_a.pk}/checks/", {"all_met": True}, format="json")
    with django_assert_num_queries(7):
        body = client.get(f"/api/v1/visits/{w.visit_a.pk}/checks/").json()
    assert body["counts"]["met"] == 4
