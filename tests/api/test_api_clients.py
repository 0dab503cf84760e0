"""API clients (keys): creation shown once, hashed storage, scope, revocation,
expiry, last-used bookkeeping, pages and the api-clients endpoint."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns import api_keys, services
from campaigns.models import ApiClient, Membership, Unit


Role = Membership.Role
pytestmark = pytest.mark.django_db


def test_raw_key_is_not_stored_only_its_hash(city, personas, api_key):
    client, key = api_key(personas.supervisor, city.district_a)
    stored = ApiClient.objects.filter(pk=client.pk).values().get()
    assert key not in {str(v) for v in stored.values()}
    assert stored["key_hash"] == api_keys.hash_key(key) != key
    assert key.startswith(stored["prefix"] + "_")
    history_rows = client.history.values_list("key_hash", flat=True)
    assert key not in list(history_rows)


def test_key_authenticates_as_service_user_with_the_keys_role_and_unit(city, personas, api_key, key_api):
    client, key = api_key(personas.supervisor, city.district_a, role=Role.HANDLER)
    assert not client.user.has_usable_password()
    membership = Membership.objects.get(user=client.user)
    assert (membership.unit, membership.role, membership.active) == (city.district_a, Role.HANDLER, True)
    response = key_api(key).get("/api/v1/units/")
    assert response.status_code == 200
    codes = {row["code"] for row in response.json()["results"]}
    assert codes == {"C-A", "C-A-1", "C-A-1-1", "C-A-1-1-1"}


def test_district_key_gets_404_outside_its_district_for_reads_and_writes(city, personas, api_key, key_api):
    _client, key = api_key(personas.supervisor, city.district_a, role=Role.SUPERVISOR)
    api = key_api(key)
    assert api.get(f"/api/v1/units/{city.district_b.pk}/").status_code == 404
    assert api.patch(f"/api/v1/units/{city.district_b.pk}/", {"name": "x"}, format="json").status_code == 404
    assert api.post(f"/api/v1/units/{city.street_b1.pk}/deactivate/").status_code == 404
    # Creating under a unit outside the scope is refused as an unknown parent.
    response = api.post("/api/v1/units/", {"parent": city.district_b.pk, "code": "X", "name": "X", "kind": "street"},
                        format="json")
    assert response.status_code == 400
    assert not Unit.objects.filter(code="X").exists()
    assert api.get(f"/api/v1/units/{city.street_a1.pk}/").status_code == 200


def test_revoked_key_gets_401_in_the_json_error_format(city, personas, api_key, key_api):
    client, key = api_key(personas.supervisor, city.district_a)
    services.api_client_revoke(actor=personas.supervisor, client=client)
    response = key_api(key).get("/api/v1/units/")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"
    assert response.json()["detail"]
    assert response["WWW-Authenticate"]
    client.user.refresh_from_db()
    assert client.user.is_active is False
    assert not Membership.objects.filter(user=client.user, active=True).exists()


def test_expired_key_gets_401(city, personas, api_key, key_api):
    _client, key = api_key(personas.supervisor, city.district_a, expires_at=timezone.now() + timedelta(days=1))
    assert key_api(key).get("/api/v1/units/").status_code == 200
    with time_machine.travel(timezone.now() + timedelta(days=1, seconds=1)):
        response = key_api(key).get("/api/v1/units/")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


@pytest.mark.parametrize("header", [
    "Api-Key civ_00000000_" + "a" * 43,  # well-formed, unknown
    "Api-Key nonsense",
    "Api-Key",
    "Api-Key a b",
    # A WSGI server hands over header bytes decoded as latin-1.
    "Api-Key " + "密钥".encode().decode("latin-1"),
])
def test_bad_keys_get_401(db, header):
    from rest_framework.test import APIClient

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=header)
    response = api.get("/api/v1/units/")
    assert response.status_code == 401
    assert set(response.json()) >= {"code", "detail"}


def test_a_key_with_the_right_prefix_and_a_wrong_secret_is_refused(city, personas, api_key, key_api):
    _client, key = api_key(personas.supervisor, city.district_a)
    forged = key[:-1] + ("A" if key[-1] != "A" else "B")
    assert key_api(forged).get("/api/v1/units/").status_code == 401


def test_last_used_is_written_at_most_once_a_minute(city, personas, api_key, key_api):
    client, key = api_key(personas.supervisor, city.district_a)
    api = key_api(key)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        api.get("/api/v1/units/")
    client.refresh_from_db()
    assert client.last_used_at == start
    with time_machine.travel(start + timedelta(seconds=30), tick=False):
        with CaptureQueriesContext(connection) as queries:
            api.get("/api/v1/units/")
    assert not any(q["sql"].startswith("UPDATE") for q in queries.captured_queries)
    client.refresh_from_db()
    assert client.last_used_at == start
    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        api.get("/api/v1/units/")
    client.refresh_from_db()
    assert client.last_used_at == start + timedelta(seconds=61)


def test_only_supervisors_over_the_unit_create_keys(city, personas):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.api_client_create(actor=personas.head_a, name="x", role=Role.HANDLER, unit=city.district_a)
    district_supervisor = Membership.objects.create(
        user=personas.outsider, unit=city.district_a, role=Role.SUPERVISOR).user
    with pytest.raises(PermissionDenied):
        services.api_client_create(actor=district_supervisor, name="x", role=Role.HANDLER, unit=city.district_b)


def test_expiry_in_the_past_is_refused(city, personas):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.api_client_create(actor=personas.supervisor, name="x", role=Role.HANDLER, unit=city.district_a,
                                   expires_at=timezone.now() - timedelta(minutes=1))
    assert not ApiClient.objects.exists()


# --- the api-clients endpoint -------------------------------------------------------------------


def test_supervisor_creates_a_key_over_the_api_and_sees_it_once(city, personas, api, key_api):
    response = api(personas.supervisor).post(
        "/api/v1/api-clients/", {"name": "12345", "role": "handler", "unit": city.district_a.pk}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    key = body["key"]
    assert body["state"] == "active" and key.startswith(body["prefix"])
    assert key_api(key).get("/api/v1/units/").status_code == 200
    detail = api(personas.supervisor).get(f"/api/v1/api-clients/{body['id']}/").json()
    assert "key" not in detail and key not in str(detail)
    listing = api(personas.supervisor).get("/api/v1/api-clients/").json()
    assert key not in str(listing) and listing["count"] == 1


def test_supervisor_revokes_a_key_over_the_api(city, personas, api, api_key, key_api):
    client, key = api_key(personas.supervisor, city.district_a)
    response = api(personas.supervisor).post(f"/api/v1/api-clients/{client.pk}/revoke/")
    assert response.status_code == 200
    assert response.json()["state"] == "revoked"
    assert key_api(key).get("/api/v1/units/").status_code == 401
    again = api(personas.supervisor).post(f"/api/v1/api-clients/{client.pk}/revoke/")
    assert again.status_code == 400


@pytest.mark.parametrize("persona", ["head_a", "handler_a", "inspector", "leader"])
def test_other_roles_cannot_use_the_api_clients_endpoint(city, personas, api, persona):
    user = getattr(personas, persona)
    assert api(user).get("/api/v1/api-clients/").status_code == 403
    response = api(user).post("/api/v1/api-clients/", {"name": "x", "role": "handler", "unit": city.district_a.pk},
                              format="json")
    assert response.status_code == 403
    assert not ApiClient.objects.exists()


def test_out_of_scope_key_is_404_for_a_district_supervisor(city, personas, api, api_key):
    client, _key = api_key(personas.supervisor, city.district_b)
    district_supervisor = Membership.objects.create(
        user=personas.outsider, unit=city.district_a, role=Role.SUPERVISOR).user
    assert api(district_supervisor).get(f"/api/v1/api-clients/{client.pk}/").status_code == 404
    assert api(district_supervisor).post(f"/api/v1/api-clients/{client.pk}/revoke/").status_code == 404
    assert api(district_supervisor).get("/api/v1/api-clients/").json()["count"] == 0
    response = api(district_supervisor).post(
        "/api/v1/api-clients/", {"name": "x", "role": "handler", "unit": city.district_b.pk}, format="json")
    assert response.status_code == 400


def test_a_key_cannot_manage_keys_even_a_supervisor_key(city, personas, api_key, key_api):
    client, key = api_key(personas.supervisor, city.city, role=Role.SUPERVISOR)
    api = key_api(key)
    assert api.get("/api/v1/api-clients/").status_code == 403
    assert api.post(f"/api/v1/api-clients/{client.pk}/revoke/").status_code == 403
    assert api.post("/api/v1/api-clients/", {"name": "x", "role": "handler", "unit": city.city.pk},
                    format="json").status_code == 403


def test_api_clients_list_runs_the_same_queries_at_page_size_1_and_50(city, personas, api, api_key,
                                                                      django_assert_num_queries):
    for i in range(3):
        api_key(personas.supervisor, city.district_a, name=f"k{i}")
    client = api(personas.supervisor)
    client.get("/api/v1/api-clients/?limit=1")  # token and memberships warm-up
    counts = []
    for limit in (1, 50):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/api/v1/api-clients/?limit={limit}").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 8


# --- pages ---------------------------------------------------------------------------------------


def test_page_creates_a_key_and_shows_it_once(city, personas, login):
    client = login(personas.supervisor)
    response = client.post("/api-clients/new/", {"name": "城管系统", "role": "handler", "unit": city.district_a.code})
    assert response.status_code == 200
    key = response.context["key"]
    assert key.encode() in response.content
    assert "no-cache" in response["Cache-Control"] or "no-store" in response["Cache-Control"]
    listing = client.get("/api-clients/")
    assert listing.status_code == 200
    assert "城管系统".encode() in listing.content and key.encode() not in listing.content


def test_page_rejects_an_out_of_scope_unit(city, personas, login):
    district_supervisor = Membership.objects.create(
        user=personas.outsider, unit=city.district_a, role=Role.SUPERVISOR).user
    client = login(district_supervisor)
    response = client.post("/api-clients/new/", {"name": "x", "role": "handler", "unit": city.district_b.code})
    assert response.status_code == 200 and "key" not in response.context
    assert not ApiClient.objects.exists()


def test_page_revokes_a_key(city, personas, login, api_key):
    client_obj, _key = api_key(personas.supervisor, city.district_a)
    response = login(personas.supervisor).post(f"/api-clients/{client_obj.pk}/revoke/")
    assert response.status_code == 302
    client_obj.refresh_from_db()
    assert client_obj.revoked_at is not None and client_obj.revoked_by == personas.supervisor


@pytest.mark.parametrize("persona", ["head_a", "handler_a", "outsider"])
def test_pages_refuse_roles_without_permission(city, personas, login, api_key, persona):
    client_obj, _key = api_key(personas.supervisor, city.district_a)
    client = login(getattr(personas, persona))
    assert client.get("/api-clients/").status_code == 403
    assert client.get("/api-clients/new/").status_code == 403
    assert client.post(f"/api-clients/{client_obj.pk}/revoke/").status_code == 403
    client_obj.refresh_from_db()
    assert client_obj.revoked_at is None


def test_revoke_page_is_404_outside_scope(city, personas, login, api_key):
    client_obj, _key = api_key(personas.supervisor, city.district_b)
    district_supervisor = Membership.objects.create(
        user=personas.outsider, unit=city.district_a, role=Role.SUPERVISOR).user
    assert login(district_supervisor).post(f"/api-clients/{client_obj.pk}/revoke/").status_code == 404


def test_api_clients_page_runs_the_same_queries_at_page_size_1_and_50(city, personas, login, api_key):
    for i in range(3):
        api_key(personas.supervisor, city.district_a, name=f"k{i}")
    client = login(personas.supervisor)
    counts = []
    for size in (1, 50):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/api-clients/?per_page={size}").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 8


def test_schema_documents_the_api_key_scheme_and_error_responses(client):
    schema = client.get("/api/v1/schema/?format=json").json()
    scheme = schema["components"]["securitySchemes"]["apiKeyAuth"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "Authorization")
    units = schema["paths"]["/api/v1/units/"]
    assert {"apiKeyAuth": []} in units["get"]["security"]
    for code in ("400", "401", "403", "404", "429"):
        assert units["get"]["responses"][code]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Error"}
    assert "409" in units["post"]["responses"] and "413" in units["post"]["responses"]
    assert set(schema["paths"]) >= {"/api/v1/api-clients/", "/api/v1/api-clients/{id}/revoke/"}


def test_a_clashing_prefix_is_drawn_again(city, personas, api_key, monkeypatch):
    first, first_key = api_key(personas.supervisor, city.district_a)
    fresh = api_keys.generate()
    draws = iter([(first_key, first.prefix), fresh])
    monkeypatch.setattr(api_keys, "generate", lambda: next(draws))
    second, second_key = api_key(personas.supervisor, city.district_a, name="second")
    assert (second.prefix, second_key) == (fresh[1], fresh[0])
