"""Journey of issue 19 (acceptance 7): a resident answers the public survey
on a phone, in Chinese, without an account; the page loads nothing from
other hosts (checked by the journey fixture); a second try on the same phone
is refused."""

import datetime as dt

import pytest
from django.utils import timezone

from campaigns.models import Campaign
from surveys import services
from surveys.models import SurveyResponse

from .conftest import PHONE

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_resident_answers_the_public_survey_on_a_phone(journey, personas, city):
    campaign = Campaign.objects.create(name="2026问卷", starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2027, 12, 31),
                                       status=Campaign.Status.ACTIVE)
    survey = services.survey_create(actor=personas.supervisor, name="文明城市创建问卷", standard=True)
    today = timezone.localdate()
    wave = services.wave_create(actor=personas.supervisor, survey=survey, campaign=campaign, name="第一轮",
                                starts_on=today, ends_on=today + dt.timedelta(days=7), units=[city.street_a1], quota=100)
    target = wave.targets.get()
    questions = {q.rate or q.kind: q for q in survey.questions.all()}

    j = journey(viewport=PHONE)
    j.goto(f"/s/{target.token}/")
    page = j.page
    assert "文明城市创建问卷" in page.title()
    assert "人民路街道" in page.inner_text("main")
    # Phone-first: the form fits the width, no sideways scrolling.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    j.screenshot("phone-survey")
    page.check(f"input[name=q{questions['awareness'].pk}][value=yes]")
    page.check(f"input[name=q{questions['support'].pk}][value=yes]")
    page.check(f"input[name=q{questions['satisfaction'].pk}][value='5']")
    page.fill(f"textarea[name=q{questions['text'].pk}]", "多种树")
    with page.expect_navigation():
        page.click("main button[type=submit]")
    assert "您的答卷已收到" in page.inner_text("main")
    answer = SurveyResponse.objects.get()
    assert answer.answers[questions["satisfaction"].key] == "5" and answer.target == target
    # The same phone cannot answer again.
    j.goto(f"/s/{target.token}/")
    assert "此设备已填写过本问卷" in page.inner_text("main")
    assert page.locator("form.survey-form").count() == 0
    assert SurveyResponse.objects.count() == 1
