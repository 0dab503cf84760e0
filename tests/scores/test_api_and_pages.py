"""API and pages: scope (drafts for supervisors, published ranks for staff),
recompute/publish actions, the bulletin page, xlsx and API agreeing
(acceptance 4), entry/import, schemes, and pinned query counts."""

import io
from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook

from scores import services
from scores.models import MaterialsScore, MonthlyScore, ScoreAdjustment, ScoreMonth, ScoringScheme, SurveyScore

from . import example
from .helpers import OCT


@pytest.fixture
def ex(city, personas):
    ex = example.build(city, personas)
    services.scores_recompute(actor=personas.supervisor, campaign=ex.campaign, month=OCT)
    return ex


def _publish(ex, personas):
    services.scores_publish(actor=personas.supervisor, campaign=ex.campaign, month=OCT)


def _list(client, **params):
    response = client.get("/api/v1/scores/", {"campaign": params.pop("campaign"), "month": "2026-10", **params})
    assert response.status_code == 200, response.content
    return response.json()


# --- scope ---------------------------------------------------------------------------------


def test_drafts_are_visible_to_supervisors_only(api, ex, personas):
    assert _list(api(personas.supervisor), campaign=ex.campaign.pk)["count"] == 9
    for user in (personas.handler_a, personas.head_a, personas.leader, personas.inspector):
        assert _list(api(user), campaign=ex.campaign.pk)["count"] == 0


def test_published_scores_of_peers_are_visible_to_staff_but_not_to_outsiders(api, ex, personas):
    _publish(ex, personas)
    data = _list(api(personas.handler_a), campaign=ex.campaign.pk, kind="street")
    assert [(r["unit_code"], r["rank"], r["total"]) for r in data["results"]] == [
        ("C-A-2", 1, "100.00"), ("C-A-1", 2, "86.95"), ("C-B-1", 3, "83.00"), ("C-B-2", 4, "64.50")]
    assert api(personas.outsider).get("/api/v1/scores/").status_code == 403
    assert api().get("/api/v1/scores/").status_code == 401


def test_an_out_of_scope_draft_answers_404(api, ex, personas):
    row = MonthlyScore.objects.get(campaign=ex.campaign, unit__code="C-B-1")
    assert api(personas.handler_b).get(f"/api/v1/scores/{row.pk}/").status_code == 404
    assert api(personas.supervisor).get(f"/api/v1/scores/{row.pk}/").status_code == 200


def test_filters_by_list_flag_unit_and_subtree(api, ex, personas):
    client = api(personas.supervisor)
    assert {r["unit_code"] for r in _list(client, campaign=ex.campaign.pk, list_flag="red")["results"]} == {
        "C-A-2", "C-A-1-1", "C-CGJ"}
    assert [r["unit_code"] for r in _list(client, campaign=ex.campaign.pk, list_flag="black")["results"]] == ["C-B-2"]
    assert [r["unit_code"] for r in _list(client, campaign=ex.campaign.pk, unit="C-B-1")["results"]] == ["C-B-1"]
    assert {r["unit_code"] for r in _list(client, campaign=ex.campaign.pk, within="C-B")["results"]} == {
        "C-B", "C-B-1", "C-B-2"}
    bad = client.get("/api/v1/scores/", {"month": "2026-13"})
    assert bad.status_code == 400 and "month" in bad.json()["errors"]


# --- actions -------------------------------------------------------------------------------


def test_supervisor_recomputes_and_publishes_through_the_api_and_a_second_publish_is_409(api, ex, personas):
    client = api(personas.supervisor)
    r = client.post("/api/v1/scores/recompute/", {"campaign": ex.campaign.pk, "month": "2026-10"}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "draft"
    r = client.post("/api/v1/scores/publish/", {"campaign": ex.campaign.pk, "month": "2026-10"}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "published"
    r = client.post("/api/v1/scores/recompute/", {"campaign": ex.campaign.pk, "month": "2026-10"}, format="json")
    assert r.status_code == 409
    assert "已冻结" in r.json()["detail"]  # zh-hans is the default language


def test_units_may_not_recompute_or_publish(api, ex, personas):
    for user in (personas.handler_a, personas.head_a, personas.leader):
        for action in ("recompute", "publish"):
            r = api(user).post(f"/api/v1/scores/{action}/", {"campaign": ex.campaign.pk, "month": "2026-10"},
                               format="json")
            assert r.status_code == 403
    assert ScoreMonth.objects.get(campaign=ex.campaign).status == "draft"


def test_bad_month_in_an_action_is_a_400(api, ex, personas):
    r = api(personas.supervisor).post("/api/v1/scores/recompute/", {"campaign": ex.campaign.pk, "month": "oct"},
                                      format="json")
    assert r.status_code == 400 and "month" in r.json()["errors"]


def test_score_schemes_list_and_create_a_version(api, ex, personas):
    client = api(personas.supervisor)
    current = client.get("/api/v1/score-schemes/").json()["results"][0]
    payload = {k: current[k] for k in ("weights", "severity_factors", "repeat_window_days", "repeat_factor",
                                       "list_share", "red_min_total", "black_below_total",
                                       "black_bottom_min_group", "grade_bands", "ranked_kinds")}
    payload["name"] = "2027版"
    r = client.post("/api/v1/score-schemes/", payload, format="json")
    assert r.status_code == 201, r.content
    assert r.json()["version"] == current["version"] + 1
    assert api(personas.handler_a).post("/api/v1/score-schemes/", payload, format="json").status_code == 403
    payload["weights"] = {"street": {"F": "0", "R": "1", "S": "0", "M": "0"}}
    payload["ranked_kinds"] = ["street"]
    assert client.post("/api/v1/score-schemes/", payload, format="json").status_code == 400


# --- acceptance 4: the bulletin page, its xlsx and the API agree ------------------------------


def test_bulletin_page_xlsx_and_api_show_the_same_numbers(api, login, ex, personas):
    _publish(ex, personas)
    user = personas.handler_a
    api_rows = {(r["unit_name"], r["rank"], r["total"], r["field_score"], r["rectification_score"], r["list_flag"])
                for r in _list(api(user), campaign=ex.campaign.pk, ranked="true", limit=200)["results"]}
    client = login(user)
    page = client.get("/scores/bulletin/", {"campaign": ex.campaign.pk, "month": "2026-10"})
    assert page.status_code == 200
    html = page.content.decode()
    response = client.get("/scores/bulletin.xlsx", {"campaign": ex.campaign.pk, "month": "2026-10"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))[1:]

    def fmt(v):
        return None if v is None else f"{Decimal(str(v)):.2f}"

    flags = {"红榜": "red", "黑榜": "black", "red list": "red", "black list": "black", "": "", None: ""}
    xlsx_rows = {(r[3], r[1], fmt(r[4]), fmt(r[5]), fmt(r[6]), flags[r[12]]) for r in rows}
    assert xlsx_rows == api_rows
    assert len(api_rows) == 8  # every ranked unit (交警支队 has no total)
    for name, rank, total, f, r, _flag in api_rows:
        assert f"<td>{name}</td><td class=\"num\">{total}</td>" in html.replace(f"<td class=\"num\">{rank}</td>", "")
    assert "64.50" in html.split("黑榜" if "黑榜" in html else "Black list")[1].split("</p>")[0]


def test_bulletin_heading_and_lists_follow_the_language(login, ex, personas):
    """The month and the red/black list punctuation are localised: no Chinese
    punctuation or 年/月 in the English bulletin (found by the language journey)."""
    _publish(ex, personas)
    client = login(personas.supervisor)
    query = {"campaign": ex.campaign.pk, "month": "2026-10"}
    zh = client.get("/scores/bulletin/", query).content.decode()
    assert "2026年10月" in zh and "湖滨街道（100.00）" in zh and "）、" in zh
    client.post("/i18n/setlang/", {"language": "en"})
    en = client.get("/scores/bulletin/", query).content.decode()
    assert "civility index bulletin for October 2026" in en
    assert "市城市管理局 (100.00), 湖滨街道 (100.00)" in en and "江北街道 (64.50)" in en
    assert not any(mark in en for mark in ("年", "（", "）", "、"))


# --- pages ---------------------------------------------------------------------------------


def test_ranking_page_shows_draft_to_the_office_with_actions(login, ex, personas):
    page = login(personas.supervisor).get("/scores/", {"campaign": ex.campaign.pk, "month": "2026-10",
                                                       "kind": "street"})
    assert page.status_code == 200
    body = page.content.decode()
    assert "86.95" in body and "/scores/month/publish/" in body


def test_ranking_page_shows_nothing_of_a_draft_to_units(login, ex, personas):
    page = login(personas.handler_a).get("/scores/", {"campaign": ex.campaign.pk, "month": "2026-10"})
    assert page.status_code == 200
    assert "86.95" not in page.content.decode()


def test_trend_arrows_compare_with_the_previous_month(login, ex, personas, city):
    sep = MonthlyScore.objects.get(campaign=ex.campaign, unit=city.street_a1)
    MonthlyScore.objects.filter(pk=sep.pk).update(month=OCT.replace(month=9), rank=1)
    services.scores_recompute(actor=personas.supervisor, campaign=ex.campaign, month=OCT)
    body = login(personas.supervisor).get("/scores/", {"campaign": ex.campaign.pk, "month": "2026-10",
                                                       "kind": "street"}).content.decode()
    assert "▼ 1→2" in body


def test_score_page_explains_itself_with_links_to_findings(login, ex, personas, city):
    row = MonthlyScore.objects.get(campaign=ex.campaign, unit=city.street_a1)
    body = login(personas.supervisor).get(f"/scores/{row.pk}/").content.decode()
    for text in ("97.83", "56.25", "背街小巷", "93.50", "设施破损", "8.00", f"/findings/{ex.f2.pk}/"):
        assert text in body, text


def test_outsider_and_out_of_scope_users_get_403_or_404_on_pages(login, ex, personas, city):
    row = MonthlyScore.objects.get(campaign=ex.campaign, unit=city.street_b1)
    assert login(personas.outsider).get("/scores/").status_code == 403
    assert login(personas.outsider).get(f"/scores/{row.pk}/").status_code == 403
    assert login(personas.handler_b).get(f"/scores/{row.pk}/").status_code == 404  # a draft
    assert login(personas.handler_a).get("/scores/entries/").status_code == 403
    assert login(personas.handler_a).get("/scores/schemes/new/").status_code == 403
    assert login(personas.handler_a).post("/scores/month/publish/", {"campaign": ex.campaign.pk,
                                                                     "month": "2026-10"}).status_code == 403
    assert login(personas.handler_a).get("/scores/bulletin/", {"campaign": ex.campaign.pk,
                                                               "month": "2026-10"}).status_code == 404


def test_publish_from_the_page_and_recompute_refused_message(login, ex, personas):
    client = login(personas.supervisor)
    client.post("/scores/month/publish/", {"campaign": ex.campaign.pk, "month": "2026-10"})
    assert ScoreMonth.objects.get(campaign=ex.campaign).status == "published"
    r = client.post("/scores/month/recompute/", {"campaign": ex.campaign.pk, "month": "2026-10"}, follow=True)
    assert r.status_code == 200
    assert any("2026-10" in str(m) for m in r.context["messages"])


def _xlsx(rows):
    wb = Workbook()
    ws = wb.active
    ws.append(["单位编码", "单位名称", "得分", "备注"])
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    out.seek(0)
    out.name = "scores.xlsx"
    return out


def test_import_survey_scores_with_row_errors_imports_nothing(login, ex, personas):
    client = login(personas.supervisor)
    r = client.post("/scores/entries/", {"form": "import", "i-kind": "survey", "i-campaign": ex.campaign.pk,
                                         "i-month": "2026-10",
                                         "i-file": _xlsx([["C-B-1", "", "88分", ""], ["NOPE", "", "80", ""],
                                                          ["C-B-2", "", "120", ""]])})
    assert r.status_code == 200
    assert [e.row for e in r.context["errors"]] == [3, 4]
    assert not SurveyScore.objects.filter(unit__code="C-B-1").exists()
    r = client.post("/scores/entries/", {"form": "import", "i-kind": "materials", "i-campaign": ex.campaign.pk,
                                         "i-month": "2026-10", "i-file": _xlsx([["C-B-1", "", "88分", "好"]])})
    assert r.status_code == 302
    assert MaterialsScore.objects.get(unit__code="C-B-1").score == Decimal(88)


def test_garbage_upload_is_a_clear_error(login, ex, personas):
    junk = io.BytesIO(b"not a spreadsheet")
    junk.name = "x.xlsx"
    r = login(personas.supervisor).post("/scores/entries/", {
        "form": "import", "i-kind": "survey", "i-campaign": ex.campaign.pk, "i-month": "2026-10", "i-file": junk})
    assert r.status_code == 200
    assert r.context["errors"] or r.context["import_form"].errors


def test_entry_and_adjustment_forms(login, ex, personas, city):
    client = login(personas.supervisor)
    r = client.post("/scores/entries/", {"form": "entry", "e-kind": "survey", "e-campaign": ex.campaign.pk,
                                         "e-unit": "C-B-2", "e-month": "2026-10", "e-score": "77.5"})
    assert r.status_code == 302
    assert SurveyScore.objects.get(unit__code="C-B-2").score == Decimal("77.5")
    r = client.post("/scores/entries/", {"form": "adjust", "a-campaign": ex.campaign.pk, "a-unit": "C-B-2",
                                         "a-month": "2026-10", "a-kind": "penalty", "a-points": "2",
                                         "a-reason": "12345集中投诉"})
    assert r.status_code == 302
    assert ScoreAdjustment.objects.filter(unit__code="C-B-2", kind="penalty").count() == 1
    r = client.post("/scores/entries/", {"form": "adjust", "a-campaign": ex.campaign.pk, "a-unit": "C-B-2",
                                         "a-month": "2026-10", "a-kind": "penalty", "a-points": "-2",
                                         "a-reason": "x"})
    assert r.status_code == 200 and r.context["adjust_form"].errors


def test_scheme_form_creates_a_new_version(login, ex, personas):
    client = login(personas.supervisor)
    page = client.get("/scores/schemes/new/")
    assert page.status_code == 200
    data = {k: ("" if v is None else v) for k, v in page.context["form"].initial.items() if k != "ranked_kinds"}
    data["ranked_kinds"] = page.context["form"].initial["ranked_kinds"]
    data["name"] = "2027版"
    data["repeat_factor"] = "3"
    r = client.post("/scores/schemes/new/", data)
    assert r.status_code == 302, r.context["form"].errors if r.context else r
    assert ScoringScheme.objects.current().repeat_factor == Decimal(3)
    assert client.get("/scores/schemes/").status_code == 200


# --- query counts (P1) -----------------------------------------------------------------------


def _more_streets(city, ex, n):
    from tests.factories import make_unit

    rows = []
    for i in range(n):
        unit = make_unit(city.district_b, kind="street", code=f"C-B-X{i}")
        rows.append(MonthlyScore(campaign=ex.campaign, unit=unit, month=OCT, score_month=ex.month, scheme=ex.scheme,
                                 kind="street", total=Decimal(80), field_score=Decimal(80), rank=5 + i))
    MonthlyScore.objects.bulk_create(rows)


@pytest.mark.parametrize("size", [1, 50])
def test_score_api_list_query_count_is_flat(api, ex, personas, city, django_assert_num_queries, size):
    ex.month = ScoreMonth.objects.get(campaign=ex.campaign)
    ex.scheme = ex.month.scheme
    _more_streets(city, ex, 55)
    client = api(personas.supervisor)
    client.get("/api/v1/scores/")  # warm the token lookup path
    with django_assert_num_queries(4):
        r = client.get("/api/v1/scores/", {"limit": size})
    assert len(r.json()["results"]) == size


@pytest.mark.parametrize("size", [1, 50])
def test_ranking_page_query_count_is_flat(login, ex, personas, city, django_assert_num_queries, size):
    ex.month = ScoreMonth.objects.get(campaign=ex.campaign)
    ex.scheme = ex.month.scheme
    _more_streets(city, ex, 55)
    client = login(personas.supervisor)
    with django_assert_num_queries(8):  # 7 + the scored quarters, half-years and years to choose from
        r = client.get("/scores/", {"campaign": ex.campaign.pk, "month": "2026-10", "kind": "street",
                                    "per_page": size})
    assert len(r.context["page"].object_list) == size


@pytest.mark.parametrize("size", [1, 50])
def test_scheme_list_query_count_is_flat(api, login, personas, django_assert_num_queries, size):
    for v in range(1, 56):
        ScoringScheme.objects.create(version=v, **ScoringScheme.defaults())
    client = login(personas.supervisor)
    with django_assert_num_queries(5):
        r = client.get("/scores/schemes/", {"per_page": size})
    assert len(r.context["page"].object_list) == size
    token_client = api(personas.supervisor)
    with django_assert_num_queries(4):
        r = token_client.get("/api/v1/score-schemes/", {"limit": size})
    assert len(r.json()["results"]) == size


@pytest.mark.parametrize("size", [1, 50])
def test_score_page_query_count_is_flat(login, ex, personas, city, django_assert_num_queries, size):
    from . import helpers as h

    v = h.visit(ex.insp, ex.pb1, h.at(10, 29))
    for _ in range(55):
        h.finding(ex.campaign, ex.c1, "minor", visit_=v)
    services.scores_recompute(actor=personas.supervisor, campaign=ex.campaign, month=OCT)
    row = MonthlyScore.objects.get(campaign=ex.campaign, unit=city.street_b1)
    client = login(personas.supervisor)
    with django_assert_num_queries(10):  # 7 + the unit's appeals of the month + recurrence rates and 顽疾点位
        r = client.get(f"/scores/{row.pk}/", {"per_page": size})
    assert len(r.context["findings"].object_list) == size
