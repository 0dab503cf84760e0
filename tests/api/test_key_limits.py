"""API keys act on domain records only (issue 14, acceptance 1).

Memberships, API keys and scoring schemes decide who holds power; they are
managed by people (session or personal token), never by a key. This walks
every write route of the URL conf with a key of every role and checks the
matrix: people-only routes answer 403 ``people_only``, every other route
answers as it would without that rule (never ``people_only``, never 5xx)."""

from __future__ import annotations

import pytest
from drf_spectacular.generators import EndpointEnumerator

from campaigns import services
from campaigns.models import ApiClient, Membership
from tests.factories import make_member

from .world import add_owned, build_world, resource_of

Role = Membership.Role
PEOPLE_ONLY = {"memberships", "api-clients", "score-schemes"}
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def write_routes() -> list[tuple[str, str]]:
    routes = set()
    for path, _regex, method, _callback in EndpointEnumerator().get_api_endpoints():
        if method in WRITE_METHODS and path.startswith("/api/v1/") and resource_of(path) not in {"auth", "schema"}:
            routes.add((method, path))
    return sorted(routes)


def test_route_walk_covers_the_people_only_resources():
    resources = {resource_of(path) for _method, path in write_routes()}
    assert PEOPLE_ONLY <= resources
    assert {"findings", "tasks", "units", "points"} <= resources
    assert len(write_routes()) > 40


@pytest.mark.django_db
@pytest.mark.parametrize("role", list(Role.values))
def test_a_key_of_any_role_cannot_write_people_only_resources(role, city, personas, api_key, key_api, settings):
    settings.API_RATE_PER_MINUTE = 0
    world = build_world(city, personas)
    client, key = api_key(personas.supervisor, city.city, role=role, name=f"key {role}")
    add_owned(world, client.user)
    api = key_api(key)
    seen = {"people_only": 0, "other": 0}
    for method, path in write_routes():
        url = path.replace("{id}", str(world.ids.get(resource_of(path), 999999)))
        response = getattr(api, method.lower())(url, {}, format="json")
        assert response.status_code < 500, (method, url, response.status_code)
        body = response.json() if response.content else {}
        if resource_of(path) in PEOPLE_ONLY:
            assert response.status_code == 403, (method, url, response.status_code, body)
            assert body["code"] == "people_only", (method, url, body)
            seen["people_only"] += 1
        else:
            assert body.get("code") != "people_only", (method, url, body)
            seen["other"] += 1
    assert seen["people_only"] >= 4 and seen["other"] >= 30


@pytest.mark.django_db
def test_people_with_a_token_still_manage_people_only_resources(city, personas, api, api_key):
    supervisor = api(personas.supervisor)
    created = supervisor.post("/api/v1/memberships/", {"user": personas.outsider.pk, "unit": city.district_a.pk,
                                                        "role": Role.HANDLER}, format="json")
    assert created.status_code == 201, created.content
    assert supervisor.post(f"/api/v1/memberships/{created.json()['id']}/end/").status_code == 200
    key = supervisor.post("/api/v1/api-clients/", {"name": "hotline", "role": Role.HANDLER,
                                                   "unit": city.district_a.pk}, format="json")
    assert key.status_code == 201, key.content


@pytest.mark.django_db
def test_acceptance_supervisor_key_cannot_promote_end_or_mint(city, personas, api_key, key_api):
    _client, key = api_key(personas.supervisor, city.city, role=Role.SUPERVISOR, name="hotline")
    api = key_api(key)
    membership = Membership.objects.get(user=personas.supervisor, unit=city.city)
    promote = api.post("/api/v1/memberships/", {"user": personas.handler_a.pk, "unit": city.city.pk,
                                                "role": Role.SUPERVISOR}, format="json")
    end = api.post(f"/api/v1/memberships/{membership.pk}/end/")
    mint = api.post("/api/v1/api-clients/", {"name": "x", "role": Role.SUPERVISOR, "unit": city.city.pk},
                    format="json")
    assert [promote.status_code, end.status_code, mint.status_code] == [403, 403, 403]
    assert not Membership.objects.filter(user=personas.handler_a, unit=city.city).exists()
    assert Membership.objects.get(pk=membership.pk).active


@pytest.mark.django_db
def test_the_last_supervisor_of_the_city_cannot_be_ended(city, personas, api, api_key):
    api_key(personas.supervisor, city.city, role=Role.SUPERVISOR, name="a key does not count as a person")
    membership = Membership.objects.get(user=personas.supervisor, unit=city.city)
    response = api(personas.supervisor).post(f"/api/v1/memberships/{membership.pk}/end/",
                                             HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400, response.content
    assert "last supervisor" in response.json()["errors"]["non_field_errors"][0]
    assert Membership.objects.get(pk=membership.pk).active
    # With a second supervisor the first may go.
    make_member(city.city, Role.SUPERVISOR, "second_supervisor")
    assert api(personas.supervisor).post(f"/api/v1/memberships/{membership.pk}/end/").status_code == 200


@pytest.mark.django_db
def test_the_last_supervisor_page_shows_a_translated_error(city, personas, login):
    membership = Membership.objects.get(user=personas.supervisor, unit=city.city)
    page = login(personas.supervisor).post(f"/memberships/{membership.pk}/end/", follow=True)
    assert "最后一位" in page.content.decode()
    assert Membership.objects.get(pk=membership.pk).active


@pytest.mark.django_db
def test_a_key_whose_membership_ended_shows_as_disabled_and_answers_401(city, personas, api, api_key, key_api):
    client, key = api_key(personas.supervisor, city.district_a, role=Role.HANDLER, name="hotline")
    assert key_api(key).get("/api/v1/findings/").status_code == 200
    membership = Membership.objects.get(user=client.user)
    services.membership_end(actor=personas.supervisor, membership=membership)
    response = key_api(key).get("/api/v1/findings/")
    assert response.status_code == 401 and response.json()["code"] == "authentication_failed"
    listed = api(personas.supervisor).get("/api/v1/api-clients/").json()["results"]
    assert {row["name"]: row["state"] for row in listed}["hotline"] == "disabled"
    disabled = api(personas.supervisor).get("/api/v1/api-clients/?state=disabled").json()["results"]
    assert [row["name"] for row in disabled] == ["hotline"]
    assert ApiClient.objects.get(pk=client.pk).state() == "disabled"
