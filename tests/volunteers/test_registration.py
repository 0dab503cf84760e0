"""Acceptance 3: a citizen's self-registration with bad data is refused with
clear messages and creates nothing."""

import pytest
from django.urls import reverse

from campaigns.models import Unit
from volunteers.models import Volunteer

URL = reverse("volunteers:register")


def _post(client, **overrides):
    data = {"name": "赵市民", "phone": "13712345678", "unit": "", "gender": "", "birth_year": "", "skills": ""}
    data.update(overrides)
    return client.post(URL, data)


def test_registration_page_is_open_to_anonymous_citizens(client, city):
    response = client.get(URL)
    assert response.status_code == 200
    assert city.community_a1.name in response.content.decode()
    assert city.street_a1.name not in response.content.decode()  # only communities are offered


def test_valid_registration_creates_an_application_for_review(client, city):
    response = _post(client, unit=city.community_a1.pk, phone="+86 137-1234-5678")
    assert response.status_code == 302
    volunteer = Volunteer.objects.get()
    assert (volunteer.phone, volunteer.status, volunteer.source) == ("13712345678", "applied", "self")


@pytest.mark.parametrize("phone", ["12345", "23812345678", "1381234567a", "138123456789", ""])
def test_invalid_phone_is_refused_and_nothing_is_created(client, city, phone):
    response = _post(client, unit=city.community_a1.pk, phone=phone)
    assert response.status_code == 400
    body = response.content.decode()
    assert "手机号" in body or "mobile" in body
    assert Volunteer.objects.count() == 0


def test_duplicate_phone_is_refused_and_nothing_is_created(client, city):
    Volunteer.objects.create(name="已注册", phone="13712345678", unit=city.community_a1, status="active",
                             registered_on="2026-01-01")
    response = _post(client, unit=city.community_a1.pk, phone="137 1234 5678")
    assert response.status_code == 400
    assert "已注册为志愿者" in response.content.decode() or "already registered" in response.content.decode()
    assert Volunteer.objects.count() == 1


def test_missing_community_is_refused_and_nothing_is_created(client, city):
    response = _post(client, unit="")
    assert response.status_code == 400
    assert "请选择您所在的社区" in response.content.decode() or "Choose your community" in response.content.decode()
    assert Volunteer.objects.count() == 0


def test_non_community_unit_is_refused(client, city):
    response = _post(client, unit=city.street_a1.pk)
    assert response.status_code == 400
    assert Volunteer.objects.count() == 0


def test_all_problems_are_reported_at_once(client, city):
    response = _post(client, name="", phone="123", unit="")
    assert response.status_code == 400
    form = response.context["form"]
    assert {"name", "phone", "unit"} <= set(form.errors)
    assert Volunteer.objects.count() == 0


def test_inactive_community_is_not_offered(client, city):
    Unit.objects.filter(pk=city.community_a1.pk).update(active=False)
    response = _post(client, unit=city.community_a1.pk)
    assert response.status_code == 400
    assert Volunteer.objects.count() == 0


def test_rejected_application_frees_the_phone_for_a_new_one(client, city, personas):
    from volunteers import services

    first = services.volunteer_register_self(name="赵市民", phone="13712345678", unit=city.community_a1)
    services.volunteer_review(actor=personas.handler_a, volunteer=first, approve=False, note="信息不实")
    assert _post(client, unit=city.community_a1.pk).status_code == 302
    assert Volunteer.objects.filter(phone="13712345678").count() == 2
