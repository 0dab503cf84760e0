"""Who may open which dashboard, home's redirects, scope, and bad filter input."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import make_member

from .conftest import october

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name", ["dashboards:supervisor", "dashboards:unit"])
def test_anonymous_goes_to_login(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("who,supervisor,unit", [
    ("supervisor", 200, 200), ("head_a", 403, 200), ("leader", 403, 200),
    ("handler_a", 403, 403), ("inspector", 403, 403), ("outsider", 403, 403),
])
def test_roles(login, personas, city, who, supervisor, unit):
    client = login(getattr(personas, who))
    assert client.get(reverse("dashboards:supervisor")).status_code == supervisor
    assert client.get(reverse("dashboards:unit")).status_code == unit


def test_superuser_sees_the_supervisor_dashboard(client, city):
    from tests.factories import PASSWORD, UserFactory

    admin = UserFactory(username="root_admin", is_superuser=True, is_staff=True)
    client.post("/accounts/login/", {"username": admin.username, "password": PASSWORD})
    response = client.get(reverse("dashboards:supervisor"))
    assert response.status_code == 200 and response.context["fig"].root == city.city


def test_home_redirects_supervisors_to_the_dashboard(login, personas):
    response = login(personas.supervisor).get(reverse("home"))
    assert response.status_code == 302 and response["Location"] == reverse("dashboards:supervisor")


@pytest.mark.parametrize("who", ["head_a", "leader"])
def test_heads_and_leaders_start_on_the_workbench_with_their_dashboard_one_click_away(login, personas, who):
    response = login(getattr(personas, who)).get(reverse("home"))
    assert response.status_code == 200
    html = response.content.decode()
    # In the navigation and as the first quick link.
    assert html.count(f'href="{reverse("dashboards:unit")}"') == 2


@pytest.mark.parametrize("who", ["handler_a", "inspector"])
def test_no_dashboard_link_for_handlers_and_inspectors(login, personas, who):
    html = login(getattr(personas, who)).get(reverse("home")).content.decode()
    assert "/dashboard/" not in html


def test_home_stays_for_handlers(login, personas):
    assert login(personas.handler_a).get(reverse("home")).status_code == 200


def test_head_of_a_sees_nothing_of_b(login, personas, city, facts):
    client = login(personas.head_a)
    response = client.get(reverse("dashboards:unit"), october(facts.camp, unit=city.district_b.code))
    assert response.status_code == 200
    assert "unit" in response.context["form"].errors  # out of scope: refused, the own unit is shown
    fig = response.context["fig"]
    assert fig.root == city.district_a
    html = response.content.decode()
    assert city.district_b.name not in html and city.street_b1.name not in html
    assert f"#{facts.f5.pk} " not in html
    assert [s.unit for s in fig.ranking] == [city.district_a]


def test_head_of_several_units_chooses_among_them(login, personas, city, facts):
    make_member(city.district_b, "head", personas.head_a.username)
    client = login(personas.head_a)
    response = client.get(reverse("dashboards:unit"), october(facts.camp))
    units = [code for code, _label in response.context["form"].fields["unit"].widget.choices]
    assert units == [city.district_a.code, city.district_b.code]
    response = client.get(reverse("dashboards:unit"), october(facts.camp, unit=city.district_b.code))
    assert response.context["fig"].root == city.district_b
    assert response.context["score"] == facts.scores.b_oct


def test_supervisor_opens_any_unit_dashboard_in_scope(login, personas, city, facts):
    client = login(personas.supervisor)
    response = client.get(reverse("dashboards:unit"), october(facts.camp, unit=city.street_b1.pk))
    assert response.status_code == 200 and response.context["fig"].root == city.street_b1


def test_district_supervisor_cannot_widen_the_scope(login, city, facts):
    sup_b = make_member(city.district_b, "supervisor", "p_sup_b")
    response = login(sup_b).get(reverse("dashboards:supervisor"), october(facts.camp, unit=city.city.code))
    assert response.status_code == 200 and "unit" in response.context["form"].errors
    assert response.context["fig"].root == city.district_b
    assert response.context["fig"].findings["open"] == 1


@pytest.mark.parametrize("params,field", [
    ({"month": "garbage"}, "month"), ({"month": "2026-13"}, "month"),
    ({"month": "9" * 5000}, "month"), ({"campaign": "abc"}, "campaign"), ({"campaign": "999999"}, "campaign"),
    ({"campaign": "9" * 30}, "campaign"),
    ({"unit": "nope"}, "unit"), ({"unit": "9" * 30}, "unit"),
])
@pytest.mark.parametrize("name", ["dashboards:supervisor", "dashboards:unit"])
def test_bad_filters_are_reported_not_fatal(login, personas, facts, params, field, name):
    response = login(personas.supervisor).get(reverse(name), params)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors and errors[field][0]
    assert 'class="error" role="alert"' in response.content.decode()
    assert response.context["fig"] is not None


def test_bad_month_falls_back_to_this_month(login, personas, facts):
    from django.utils import timezone

    response = login(personas.supervisor).get(reverse("dashboards:supervisor"), {"month": "2026/10"})
    assert response.context["fig"].month == timezone.localdate().replace(day=1)


@pytest.mark.parametrize("params", [{"month": "2026-10\x00"}, {"campaign": "1\x00"}, {"unit": "\x00"}])
@pytest.mark.parametrize("name", ["dashboards:supervisor", "dashboards:unit"])
def test_nul_bytes_get_the_portal_s_clear_400(login, personas, facts, params, name):
    response = login(personas.supervisor).get(reverse(name), params)
    assert response.status_code == 400
    assert "NUL" in response.content.decode() or "空字符" in response.content.decode()
