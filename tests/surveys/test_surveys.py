"""Resident surveys: the public page, abuse limits, rates with margins, S (acceptance 5)."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook

from campaigns.models import Campaign
from surveys import selectors, services
from surveys.models import SurveyResponse


@pytest.fixture
def wave(city, personas):
    campaign = Campaign.objects.create(name="2026问卷", starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2027, 12, 31),
                                       status=Campaign.Status.ACTIVE)
    survey = services.survey_create(actor=personas.supervisor, name="文明城市创建问卷", name_en="Campaign survey",
                                    standard=True)
    today = timezone.localdate()
    return services.wave_create(actor=personas.supervisor, survey=survey, campaign=campaign, name="第一轮",
                                starts_on=today - dt.timedelta(days=1), ends_on=today + dt.timedelta(days=10),
                                units=[city.street_a1, city.street_b1], quota=120)


def q(wave):
    return {x.rate or x.kind: x for x in wave.survey.questions.all()}


def post(client, target, answers, **extra):
    return client.post(f"/s/{target.token}/", answers, **extra)


def answers_for(wave, i):
    """Answer i of 120: 102 aware, 108 supporting, 96 rating 4–5 (of which 60 a 5)."""
    qs = q(wave)
    return {f"q{qs['awareness'].pk}": "yes" if i < 102 else "no",
            f"q{qs['support'].pk}": "yes" if i >= 12 else "no",
            f"q{qs['satisfaction'].pk}": "5" if i < 60 else "4" if i < 96 else "2" if i < 110 else "1",
            f"q{qs['single'].pk}": "30_60", f"q{qs['text'].pk}": "多种树" if i % 10 == 0 else ""}


def test_120_answers_give_the_hand_computed_rates_margins_and_s(wave, city, settings, personas, api):
    settings.SURVEY_RATE_PER_MINUTE = 0
    target = wave.targets.get(unit=city.street_a1)
    for i in range(120):
        r = post(Client(), target, answers_for(wave, i))
        assert r.status_code == 200, r.content[:300]
    assert SurveyResponse.objects.filter(target=target).count() == 120
    result = {r.target.pk: r for r in selectors.results(wave)}[target.pk]
    rates = result.rates
    # awareness 102/120 = 85 %, ± 1.96·√(.85·.15/120) = 6.39; support 108/120 = 90 % ± 5.37;
    # satisfaction 96/120 = 80 % ± 7.16.
    assert (rates["awareness"].percent, rates["awareness"].margin) == (Decimal("85.00"), Decimal("6.39"))
    assert (rates["support"].percent, rates["support"].margin) == (Decimal("90.00"), Decimal("5.37"))
    assert (rates["satisfaction"].percent, rates["satisfaction"].margin) == (Decimal("80.00"), Decimal("7.16"))
    # S = 100 × (0.3·0.85 + 0.3·0.90 + 0.4·0.80) = 84.50, final: the quota (120) is reached.
    assert result.n == 120 and result.final and result.score == Decimal("84.50")
    month = wave.ends_on.replace(day=1)
    assert selectors.survey_scores(wave.campaign, month) == {city.street_a1.path: Decimal("84.50")}
    # The quota is reached: the 121st answer is refused.
    r = post(Client(), target, answers_for(wave, 0))
    assert r.status_code == 409
    assert "本地区问卷已收集足够样本" in r.content.decode()
    # The results page shows each question's answers (120 answered the satisfaction question: 60 gave a 5).
    from django.test import Client as C

    office = C()
    office.force_login(personas.supervisor)
    dist = {x[0].rate or x[0].kind: x for x in selectors.distribution(wave, SurveyResponse.objects.filter(wave=wave))}
    assert dist["satisfaction"][1] == 120
    assert [c for _l, c, _p in dist["satisfaction"][2]] == [10, 14, 0, 36, 60]
    assert [c for _l, c, _p in dist["awareness"][2]] == [102, 18]
    assert "(n = 120)" in office.get(f"/surveys/waves/{wave.pk}/").content.decode()
    # The API gives the same figures.
    body = api(personas.supervisor).get(f"/api/v1/survey-results/?wave={wave.pk}").json()["results"]
    row = next(x for x in body if x["unit"] == city.street_a1.pk)
    assert row["score"] == "84.50" and row["final"] and row["n"] == 120
    assert {x["rate"]: x["margin"] for x in row["rates"]} == {"awareness": "6.39", "support": "5.37",
                                                              "satisfaction": "7.16"}
    # Voiding one (kept, with the reason) drops it from the rates; S becomes provisional.
    one = SurveyResponse.objects.filter(target=target).first()
    services.response_void(actor=personas.supervisor, response=one, reason="乱填")
    one.refresh_from_db()
    assert one.voided_at and one.void_reason == "乱填"
    result = {r.target.pk: r for r in selectors.results(wave)}[target.pk]
    assert result.n == 119 and not result.final
    assert selectors.survey_scores(wave.campaign, month) == {}


def test_a_second_answer_from_the_same_device_is_refused_with_a_clear_message(wave, city):
    target = wave.targets.get(unit=city.street_a1)
    phone = Client()
    assert phone.get(f"/s/{target.token}/").status_code == 200
    assert post(phone, target, answers_for(wave, 0)).status_code == 200
    again = post(phone, target, answers_for(wave, 1))
    assert again.status_code == 409
    assert "此设备已填写过本问卷" in again.content.decode()
    # Even in the other unit of the same wave.
    other = wave.targets.get(unit=city.street_b1)
    assert post(phone, other, answers_for(wave, 1)).status_code == 409
    assert SurveyResponse.objects.count() == 1
    # Opening the page again says so straight away.
    page = phone.get(f"/s/{target.token}/").content.decode()
    assert "此设备已填写过本问卷" in page and 'class="stack survey-form"' not in page


def test_rate_limit_per_address_answers_429_with_retry_after(wave, city, settings):
    settings.SURVEY_RATE_PER_MINUTE = 3
    target = wave.targets.get(unit=city.street_a1)
    codes = [post(Client(), target, answers_for(wave, i)).status_code for i in range(4)]
    assert codes == [200, 200, 200, 429]
    r = post(Client(), target, answers_for(wave, 5))
    assert r.status_code == 429 and 1 <= int(r["Retry-After"]) <= 60
    assert SurveyResponse.objects.count() == 3
    # Another address still gets through.
    assert post(Client(REMOTE_ADDR="10.9.8.7"), target, answers_for(wave, 6)).status_code == 200


def test_missing_required_answers_and_bad_values_are_refused_and_nothing_stored(wave, city):
    target = wave.targets.get(unit=city.street_a1)
    qs = q(wave)
    r = post(Client(), target, {f"q{qs['awareness'].pk}": "maybe"})
    assert r.status_code == 400
    assert "请选择一个给定选项" in r.content.decode() and "请回答" in r.content.decode()
    assert SurveyResponse.objects.count() == 0


def test_check_question_failures_are_kept_but_void(wave, city, personas):
    services.question_add(actor=personas.supervisor, survey=wave.survey, kind="single", text="请选择“二”",
                          choices=[{"value": "1", "zh": "一"}, {"value": "2", "zh": "二"}], check_answer="2")
    check = wave.survey.questions.get(check_answer="2")
    target = wave.targets.get(unit=city.street_a1)
    assert post(Client(), target, {**answers_for(wave, 0), f"q{check.pk}": "1"}).status_code == 200
    assert post(Client(), target, {**answers_for(wave, 1), f"q{check.pk}": "2"}).status_code == 200
    assert SurveyResponse.objects.valid().count() == 1
    assert SurveyResponse.objects.filter(voided_at__isnull=False).count() == 1


def test_office_pages_exports_scope_and_query_counts(wave, city, personas, login, settings, api):
    settings.SURVEY_RATE_PER_MINUTE = 0
    target = wave.targets.get(unit=city.street_a1)
    for i in range(30):
        post(Client(), target, answers_for(wave, i))
    client = login(personas.handler_a)
    html = client.get(f"/surveys/waves/{wave.pk}/").content.decode()
    assert city.street_a1.name in html and city.street_b1.name not in html
    book = load_workbook(io.BytesIO(b"".join(client.get(f"/surveys/waves/{wave.pk}/answers.xlsx").streaming_content)))
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert len(rows) == 31 and "'=1+1" not in str(rows)
    for url in (f"/surveys/waves/{wave.pk}/answers/?per_page={{n}}", "/surveys/waves/?per_page={n}"):
        counts = []
        for n in (1, 50):
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(url.format(n=n)).status_code == 200
            counts.append(len(ctx.captured_queries))
        assert counts[0] == counts[1] <= 8, (url, counts)
    for resource in ("surveys", "survey-waves", f"survey-results"):
        extra = f"?wave={wave.pk}&" if resource == "survey-results" else "?"
        small = api(personas.handler_a)
        with CaptureQueriesContext(connection) as a:
            assert small.get(f"/api/v1/{resource}/{extra}limit=1").status_code == 200
        with CaptureQueriesContext(connection) as b:
            assert small.get(f"/api/v1/{resource}/{extra}limit=50").status_code == 200
        assert len(a.captured_queries) == len(b.captured_queries) <= 8, resource
    # District B's clerk sees neither street A1's results nor its answers.
    client = login(personas.handler_b)
    html = client.get(f"/surveys/waves/{wave.pk}/").content.decode()
    assert city.street_a1.name not in html
    answer = SurveyResponse.objects.first()
    assert client.post(f"/surveys/answers/{answer.pk}/void/", {"reason": "x"}).status_code in (403, 404)
    assert client.get(f"/surveys/targets/{target.pk}/poster/").status_code == 404
    login(personas.outsider)
    assert client.get(f"/surveys/waves/{wave.pk}/").status_code in (403, 404)
    assert api(personas.outsider).get("/api/v1/survey-waves/").status_code == 403
    assert api(personas.handler_a).get("/api/v1/survey-results/").status_code == 400


def test_poster_and_qr_code_are_served_to_the_office(wave, city, personas, login):
    target = wave.targets.get(unit=city.street_a1)
    client = login(personas.supervisor)
    poster = client.get(f"/surveys/targets/{target.pk}/poster/")
    assert poster.status_code == 200 and target.token in poster.content.decode()
    svg = client.get(f"/surveys/targets/{target.pk}/qr.svg")
    assert svg.status_code == 200 and svg["Content-Type"] == "image/svg+xml" and b"<svg" in svg.content


def test_public_answer_api_is_anonymous_throttled_and_one_per_device(wave, city, settings):
    from rest_framework.test import APIClient

    settings.SURVEY_RATE_PER_MINUTE = 2
    target = wave.targets.get(unit=city.street_a1)
    client = APIClient()
    form = client.get(f"/api/v1/survey-answers/{target.token}/").json()
    assert [x["kind"] for x in form["questions"]][:3] == ["yesno", "yesno", "rating"]
    answers = {x["key"]: x["options"][0]["value"] for x in form["questions"] if x["required"]}
    r = client.post(f"/api/v1/survey-answers/{target.token}/", {"device": "kiosk-0001", "answers": answers},
                    format="json")
    assert r.status_code == 201 and r.json()["counted"] is True
    again = client.post(f"/api/v1/survey-answers/{target.token}/", {"device": "kiosk-0001", "answers": answers},
                        format="json")
    assert again.status_code == 409 and again.json()["code"] == "conflict"
    limited = client.post(f"/api/v1/survey-answers/{target.token}/", {"device": "kiosk-0002", "answers": answers},
                          format="json")
    assert limited.status_code == 429 and int(limited["Retry-After"]) >= 1
    assert SurveyResponse.objects.count() == 1
    settings.SURVEY_RATE_PER_MINUTE = 0
    bad = client.post(f"/api/v1/survey-answers/{target.token}/", {"device": "kiosk-0003", "answers": {}},
                      format="json")
    assert bad.status_code == 400 and "answers" in bad.json()["errors"]
    assert client.get("/api/v1/survey-answers/nope/").status_code == 404


def test_multiple_choice_answers_are_counted_per_option(wave, city, personas, settings):
    settings.SURVEY_RATE_PER_MINUTE = 0
    question = services.question_add(actor=personas.supervisor, survey=wave.survey, kind="multiple", text="您参加过哪些活动？",
                                     choices=[{"value": "1", "zh": "植树"}, {"value": "2", "zh": "清扫"},
                                              {"value": "10", "zh": "其他"}], required=False)
    target = wave.targets.get(unit=city.street_a1)
    for picks in (["1", "2"], ["10"], ["2"]):
        assert post(Client(), target, {**answers_for(wave, 0), question.key: picks}).status_code == 200
    dist = {q.pk: options for q, _n, options in selectors.distribution(wave, SurveyResponse.objects.all())}
    assert [c for _l, c, _p in dist[question.pk]] == [1, 2, 1]
