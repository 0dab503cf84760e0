"""Issue 20, acceptance 4: unit boxes and unit filters take a name or a code, suggest
only units in the user's scope, and an out-of-scope or unknown unit given to the API
filter is a 400 naming the parameter (never a silent full or empty list)."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns.models import Unit
from tests.factories import make_unit
from tests.inspections.helpers import dispatched, world

pytestmark = pytest.mark.django_db


def names(response):
    assert response.status_code == 200, response.content[:300]
    return [row["name"] for row in response.json()["results"]]


def test_lookup_offers_only_units_in_scope_by_name_and_by_code(login, city, personas):
    client = login(personas.handler_a)  # district A (东湖区) and below
    assert names(client.get("/units/lookup/", {"q": "街道"})) == ["人民路街道"]  # not 解放街道 of district B
    assert names(client.get("/units/lookup/", {"q": "西江"})) == []
    assert names(client.get("/units/lookup/", {"q": "C-B"})) == []  # codes of district B: none
    assert names(client.get("/units/lookup/", {"q": "c-a-1"})) == ["人民路街道", "春晖社区", "春晖社区第1网格"]
    row = client.get("/units/lookup/", {"q": "春晖社区"}).json()["results"][0]
    assert row == {"id": city.community_a1.pk, "code": "C-A-1-1", "name": "春晖社区", "kind": "社区",
                   "parent": "人民路街道", "active": True, "value": "春晖社区（C-A-1-1）"}  # exact match first

    office = login(personas.supervisor)
    assert names(office.get("/units/lookup/", {"q": "街道"})) == ["人民路街道", "解放街道"]
    assert names(login(personas.outsider).get("/units/lookup/", {"q": "街道"})) == []
    assert names(office.get("/units/lookup/", {"q": "  "})) == []


def test_lookup_needs_a_login_and_survives_garbage(client, login, personas):
    assert client.get("/units/lookup/", {"q": "街道"}).status_code == 302
    office = login(personas.supervisor)
    assert office.get("/units/lookup/", {"q": "\x00"}).status_code == 400  # refused before any view, as everywhere
    for garbage in ("%", "_", "'; drop table", "²", "x" * 5000):
        assert office.get("/units/lookup/", {"q": garbage}).status_code == 200


def test_lookup_runs_one_query_however_many_units_match(login, city, personas):
    office = login(personas.supervisor)

    def count(text):
        with CaptureQueriesContext(connection) as queries:
            found = names(office.get("/units/lookup/", {"q": text}))
        return len(queries), found

    few, found = count("网格")
    assert found == ["春晖社区第1网格"]
    for n in range(30):
        make_unit(city.community_a1, kind=Unit.Kind.GRID, name=f"春晖社区第{n + 2}网格", code=f"C-A-1-1-{n + 2}")
    many, found = count("网格")
    assert len(found) == 20 and few == many


def test_api_unit_filter_answers_400_naming_the_parameter_for_out_of_scope_or_unknown_units(api, city, personas):
    w = world(city, personas)
    mine = dispatched(w, personas)  # community A1
    client = api(personas.handler_a)
    for param in ("within", "unit"):
        for value in ("C-B", "西江区", str(city.district_b.pk), "解放街道（C-B-1）", "没有这个单位", "C-NOPE"):
            r = client.get("/api/v1/tasks/", {param: value})
            assert r.status_code == 400, (param, value, r.status_code)
            assert param in r.json().get("errors", r.json()) or param in r.content.decode(), r.content
    for value in ("东湖区", "C-A", str(city.district_a.pk), "东湖区（C-A）", " 东湖区 "):
        r = client.get("/api/v1/tasks/", {"within": value})
        assert r.status_code == 200, (value, r.content[:200])
        assert [row["id"] for row in r.json()["results"]] == [mine.pk]
    assert [row["id"] for row in client.get("/api/v1/tasks/", {"unit": "春晖社区"}).json()["results"]] == [mine.pk]


def test_a_name_two_units_share_asks_for_the_code(login, city, personas):
    make_unit(city.street_a1, kind=Unit.Kind.COMMUNITY, name="新村社区", code="C-A-1-2")
    make_unit(city.district_a, kind=Unit.Kind.STREET, name="新村社区", code="C-A-9")  # same name, other level
    page = login(personas.handler_a).get("/tasks/", {"within": "新村社区"})
    assert page.status_code == 200
    assert "请从列表中选择或输入其编码" in page.content.decode()
    assert login(personas.handler_a).get("/tasks/", {"within": "新村社区（C-A-9）"}).status_code == 200


def test_filter_forms_say_all_yes_no_and_never_ask_for_raw_ids(login, city, personas):
    world(city, personas)
    html = login(personas.supervisor).get("/tasks/", {"status": "dispatched"}).content.decode()
    assert "---------" not in html and "未知" not in html
    overdue = re.search(r'<select name="overdue"[^>]*>(.*?)</select>', html, re.S).group(1)
    assert re.findall(r">([^<]+)</option>", overdue) == ["全部", "是", "否"]
    campaign = re.search(r'<select name="campaign"[^>]*>(.*?)</select>', html, re.S).group(1)
    assert re.findall(r">([^<]+)</option>", campaign)[0] == "全部"
    within = re.search(r'<input[^>]*name="within"[^>]*>', html).group(0)
    assert 'data-unit-lookup="/units/lookup/"' in within and 'list="id_within-units"' in within
    assert '<datalist id="id_within-units"></datalist>' in html


def test_point_type_point_and_team_filters_take_names(login, api, city, personas):
    w = world(city, personas)
    with_point = dispatched(w, personas).finding
    client = login(personas.supervisor)
    listed = lambda params: [f["id"] for f in client.get("/findings/", params).context["page"]]  # noqa: E731
    assert listed({"point_type": "农贸市场"}) == [with_point.pk]
    assert listed({"point_type": "T-MKT"}) == [with_point.pk]
    assert listed({"point": "春晖农贸市场"}) == [with_point.pk]
    assert listed({"inspection": "十一月暗访"}) == [with_point.pk]
    assert listed({"point": "解放路菜场"}) == []
    assert "没有该名称或编号" in client.get("/findings/", {"point_type": "没有的类型"}).content.decode()
    office = api(personas.supervisor)
    assert [r["id"] for r in office.get("/api/v1/findings/", {"point_type": "null"}).json()["results"]] == []
    assert office.get("/api/v1/findings/", {"point": "春晖农贸市场"}).json()["results"][0]["id"] == with_point.pk
    assert office.get("/api/v1/findings/", {"point": "没有的点位"}).status_code == 400
    # Handler B cannot name district A's point.
    assert api(personas.handler_b).get("/api/v1/findings/", {"point": "春晖农贸市场"}).status_code == 400


def test_list_pages_open_at_the_active_campaign(login, city, personas):
    w = world(city, personas)
    html = login(personas.supervisor).get("/tasks/").content.decode()
    assert re.search(rf'<option value="{w.campaign.pk}" selected>', html)


def test_finding_form_starts_with_the_points_unit(login, city, personas):
    w = world(city, personas)
    html = login(personas.inspector).get(f"/findings/new/?visit={w.visit_a.pk}").content.decode()
    unit = re.search(r'<input[^>]*name="unit"[^>]*>', html).group(0)
    assert 'value="春晖社区（C-A-1-1）"' in unit
    assert '"春晖社区（C-A-1-1）"' in html and "point-units" in html  # the script's point → unit map
