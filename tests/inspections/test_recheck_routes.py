"""回头看 routes (issue 18, acceptance 5 and 8): /api/v1/rechecks/, /api/v1/recurrence/ and the
pages — scoped, translated errors, xlsx, pinned query counts."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from campaigns.models import Point
from inspections import rechecks, recurrence
from inspections.models import Finding, Recheck

from .helpers import jpeg, world

pytestmark = pytest.mark.django_db


def closed(w, point, days_ago: float, category=None):
    now = timezone.now()
    return Finding.objects.create(
        campaign=w.campaign, source=Finding.Source.INSPECTION, point=point, unit=point.unit,
        department=point.department, category=category or w.category, severity="moderate", description="问题",
        observed_at=now - dt.timedelta(days=days_ago + 3), status=Finding.Status.CLOSED,
        closed_at=now - dt.timedelta(days=days_ago))


@pytest.fixture
def w(city, personas):
    w = world(city, personas)
    w.fa, w.fb = closed(w, w.point_a, 20), closed(w, w.point_b, 21)
    w.rule = rechecks.rule_save(actor=personas.supervisor, campaign=w.campaign, name="全部", share_percent=100,
                                closed_min_days=15, closed_max_days=30)
    return w


def test_rechecks_api_draws_records_once_and_is_scoped(w, city, personas, api):
    office = api(personas.supervisor)
    drawn = office.post("/api/v1/rechecks/draw/", {"rule": w.rule.pk, "seed": 7}, format="json")
    assert drawn.status_code == 201 and drawn.json()["drawn_count"] == 2 and drawn.json()["seed"] == 7
    listed = office.get("/api/v1/rechecks/", {"status": "planned"}).json()["results"]
    assert {r["finding"] for r in listed} == {w.fa.pk, w.fb.pk}
    in_a = Recheck.objects.get(finding=w.fa)
    # District B's handler sees B's re-check only; A's answers 404.
    b = api(personas.handler_b)
    assert [r["finding"] for r in b.get("/api/v1/rechecks/").json()["results"]] == [w.fb.pk]
    assert b.get(f"/api/v1/rechecks/{in_a.pk}/").status_code == 404
    # Handlers neither draw nor record.
    assert b.post("/api/v1/rechecks/draw/", {"rule": w.rule.pk}, format="json").status_code == 403
    inspector = api(personas.inspector)
    answer = inspector.post(f"/api/v1/rechecks/{in_a.pk}/record/",
                            {"recurred": "true", "description": "又脏了", "photos": [jpeg()]}, format="multipart")
    assert answer.status_code == 200, answer.content
    new = Finding.objects.get(pk=answer.json()["recurrence"])
    assert new.recurrence_of == w.fa and new.is_repeat
    again = inspector.post(f"/api/v1/rechecks/{in_a.pk}/record/", {"recurred": "false"}, format="multipart")
    assert again.status_code == 409
    missing = inspector.post(f"/api/v1/rechecks/{Recheck.objects.get(finding=w.fb).pk}/record/",
                             {"recurred": "true", "description": ""}, format="multipart")
    assert missing.status_code == 400 and Finding.objects.filter(recurrence_of=w.fb).count() == 0
    assert office.post("/api/v1/rechecks/draw/", {"rule": 999999}, format="json").status_code == 400


def test_recurrence_api_rates_scope_errors_and_flat_query_count(w, city, personas, api,
                                                                django_assert_max_num_queries):
    # 55 points in community A1, each with a closed finding; every fifth came back after 10 days.
    points = [Point.objects.create(name=f"点{i}", point_type=w.point_type, unit=city.community_a1)
              for i in range(55)]
    for i, p in enumerate(points):
        f = closed(w, p, 100)
        if i % 5 == 0:
            Finding.objects.create(campaign=w.campaign, source=Finding.Source.INSPECTION, point=p, unit=p.unit,
                                   category=w.category, severity="minor", description="又出现",
                                   observed_at=f.closed_at + dt.timedelta(days=10))
    recurrence.refill()  # the rows above bypass the services that keep Finding.recurred_at
    office = api(personas.supervisor)
    units = {r["id"]: r for r in office.get("/api/v1/recurrence/", {"campaign": w.campaign.pk}).json()["results"]}
    a1 = units[city.community_a1.pk]
    assert (a1["closed"], a1["back_30"], a1["back_90"], a1["rate_30"]) == (56, 11, 11, "19.6")  # 11 / 56
    counts = []
    for size in (1, 50):
        with django_assert_max_num_queries(8) as ctx:
            r = office.get("/api/v1/recurrence/", {"campaign": w.campaign.pk, "group": "point", "limit": size})
        assert r.status_code == 200 and len(r.json()["results"]) == size
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]
    chronic = office.get("/api/v1/recurrence/", {"campaign": w.campaign.pk, "group": "point", "chronic": "true"})
    assert chronic.json()["count"] == 0  # one return per point is not chronic
    cats = office.get("/api/v1/recurrence/", {"campaign": w.campaign.pk, "group": "category"}).json()["results"]
    assert [(c["name"], c["closed"], c["back_30"]) for c in cats] == [("垃圾乱堆乱放", 57, 11)]
    # District B's handler sees only street B1's finding.
    b = api(personas.handler_b).get("/api/v1/recurrence/", {"campaign": w.campaign.pk}).json()["results"]
    assert city.community_a1.pk not in {r["id"] for r in b} and sum(r["closed"] for r in b if r["id"] ==
                                                                      city.street_b1.pk) == 1
    for bad in ({"campaign": w.campaign.pk, "group": "street"}, {"campaign": "x"}, {},
                {"campaign": w.campaign.pk, "closed_from": "2026-12-01", "closed_to": "2026-01-01"},
                {"campaign": w.campaign.pk, "bogus": "1"}, {"campaign": w.campaign.pk, "closed_from": "2026-13-01"},
                {"campaign": w.campaign.pk, "closed_to": "9999-12-31"}):
        answer = office.get("/api/v1/recurrence/", bad)
        assert answer.status_code == 400, (bad, answer.content)


def test_pages_list_record_export_and_draw(w, city, personas, login):
    client = login(personas.supervisor)
    page = client.get("/rechecks/")
    assert page.status_code == 200 and "data-rules" in page.content.decode()
    assert client.post("/rechecks/rules/new/", {
        "campaign": w.campaign.pk, "name": "两成", "share_percent": 20, "closed_min_days": 10,
        "closed_max_days": 40, "include_severe": "on", "active": "on"}).status_code == 302
    bad = client.post("/rechecks/rules/new/", {"campaign": w.campaign.pk, "name": "坏", "share_percent": 20,
                                                "closed_min_days": 40, "closed_max_days": 10})
    assert bad.status_code == 200 and bad.context["form"].errors
    assert client.post(f"/rechecks/rules/{w.rule.pk}/draw/").status_code == 302
    assert Recheck.objects.count() == 2
    xlsx = client.get("/rechecks/", {"format": "xlsx"})
    sheet = load_workbook(io.BytesIO(b"".join(xlsx.streaming_content))).active
    assert sheet.max_row == 3
    target = Recheck.objects.get(finding=w.fb)
    inspector = login(personas.inspector)
    assert inspector.get(f"/rechecks/{target.pk}/").status_code == 200
    done = inspector.post(f"/rechecks/{target.pk}/", {"recurred": "0", "note": "已保持"})
    assert done.status_code == 302
    target.refresh_from_db()
    assert target.status == Recheck.Status.FIXED and target.visit.is_clean
    # The recurrence page and its exports, each grouping.
    for group in ("unit", "point", "category"):
        assert login(personas.supervisor).get("/recurrence/", {"group": group}).status_code == 200
        sheet = load_workbook(io.BytesIO(b"".join(
            client.get("/recurrence/", {"group": group, "format": "xlsx"}).streaming_content))).active
        assert sheet.max_row >= 2
    assert client.get("/recurrence/", {"group": "nope"}).status_code == 302
    # Out of scope: district B's handler cannot open district A's re-check.
    a_recheck = Recheck.objects.get(finding=w.fa)
    assert login(personas.handler_b).get(f"/rechecks/{a_recheck.pk}/").status_code == 404
