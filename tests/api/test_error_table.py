"""The error table of docs/integrating.md is what the code answers (issue 14,
acceptance 7): every row is triggered for real and must answer its status and
``code`` in the one JSON shape; a row without a trigger here, or a trigger
whose row is gone, fails. Plus the token route's 401/429 and the per-address
sign-in throttle, and CSRF-free JSON 404s for any method under /api/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client
from rest_framework.test import APIClient

from campaigns.models import Membership
from tests.factories import PASSWORD, UserFactory

from .world import build_world

Role = Membership.Role
DOC = Path(__file__).resolve().parents[2] / "docs" / "integrating.md"
pytestmark = pytest.mark.django_db


def error_table() -> list[tuple[int, str, str]]:
    text = DOC.read_text()
    start = text.index("| status | `code` | when |")
    rows = []
    for line in text[start:].splitlines()[2:]:
        if not line.startswith("|"):
            break
        status, code, when = [c.strip() for c in line.strip("|").split("|", 2)]
        rows.append((int(status), code.strip("`"), when))
    return rows


def json_error(response, status, code):
    assert response.status_code == status, (status, code, response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert body["code"] == code and isinstance(body["detail"], str) and body["detail"], body
    assert set(body) <= {"code", "detail", "errors"}
    if status == 429:
        assert int(response["Retry-After"]) >= 1
    if status == 401:
        assert response.has_header("WWW-Authenticate")
    return body


@pytest.fixture
def ctx(city, personas, api, api_key, key_api, settings):
    settings.API_RATE_PER_MINUTE = 0
    world = build_world(city, personas)
    _c, key = api_key(personas.supervisor, city.city, role=Role.SUPERVISOR, name="table")
    return {"world": world, "sup": api(personas.supervisor), "key": key_api(key), "personas": personas,
            "city": city, "settings": settings, "api": api}


def boom(request):
    raise RuntimeError("boom")


def trigger(when: str, code: str, ctx):
    """One real request per table row, keyed by its code and the start of its text."""
    sup, key, w, settings = ctx["sup"], ctx["key"], ctx["world"], ctx["settings"]
    if code == "invalid" and when.startswith("bulk intake"):
        return key.post("/api/v1/findings/bulk/", {"items": "not a list"}, format="json")
    if code == "invalid" and when.startswith("an unknown query parameter"):
        return sup.get("/api/v1/findings/?colour=red")
    if code == "invalid":
        return sup.post("/api/v1/units/", {"name": ""}, format="json")
    if code == "parse_error":
        return sup.generic("POST", "/api/v1/units/", '{"name": ', content_type="application/json")
    if code == "bad_request":
        return Client(raise_request_exception=False).get("/api/v1/units/", HTTP_HOST="evil.example")
    if code == "not_authenticated":
        return APIClient().get("/api/v1/units/")
    if code == "authentication_failed":
        return APIClient().post("/api/v1/auth/token/", {"username": "nobody", "password": "wrong"}, format="json")
    if code == "permission_denied":
        return ctx["api"](ctx["personas"].handler_a).post("/api/v1/units/", {"name": "x"}, format="json")
    if code == "people_only":
        return key.post("/api/v1/memberships/", {}, format="json")
    if code == "not_found":
        return Client(enforce_csrf_checks=True).post("/api/v1/nope/")
    if code == "method_not_allowed":
        return sup.delete("/api/v1/units/")
    if code == "conflict":
        return sup.post(f"/api/v1/tasks/{w.task.pk}/verify/", {"passed": True}, format="json")  # not submitted
    if code == "too_large":
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
        return sup.post("/api/v1/units/", {"name": "x" * 5000}, format="multipart")
    if code == "unsupported_media_type":
        return sup.generic("POST", "/api/v1/units/", "x", content_type="text/csv")
    if code == "throttled":
        settings.API_RATE_PER_MINUTE = 1
        sup.get("/api/v1/units/")
        return sup.get("/api/v1/units/")
    if code == "locked_out":
        UserFactory(username="locked")
        client = APIClient()
        for _ in range(5):
            client.post("/api/v1/auth/token/", {"username": "locked", "password": "no"}, REMOTE_ADDR="10.9.9.9")
        return client.post("/api/v1/auth/token/", {"username": "locked", "password": PASSWORD}, REMOTE_ADDR="10.9.9.9")
    if code == "server_error":
        settings.ROOT_URLCONF = __name__
        return Client(raise_request_exception=False).get("/api/v1/boom/")
    raise AssertionError(f"no trigger for the documented row {code!r}: {when}")


urlpatterns = []  # filled below; the 500 row swaps ROOT_URLCONF to this module


def _patterns():
    from django.urls import path

    return [path("api/v1/boom/", boom)]


urlpatterns = _patterns()
handler500 = "civportal.views.server_error"


def test_the_table_covers_the_codes_the_code_uses():
    codes = {code for _s, code, _w in error_table()}
    assert {"invalid", "parse_error", "not_authenticated", "authentication_failed", "permission_denied",
            "people_only", "not_found", "method_not_allowed", "conflict", "too_large", "throttled", "locked_out",
            "server_error"} <= codes


@pytest.mark.parametrize("status,code,when", error_table(), ids=lambda v: str(v)[:30])
def test_every_documented_error_answers_as_documented(status, code, when, ctx):
    json_error(trigger(when, code, ctx), status, code)


# --- the token route and sign-in throttles -----------------------------------------------------------


def test_token_route_answers_401_for_bad_credentials(db):
    UserFactory(username="chen")
    response = APIClient().post("/api/v1/auth/token/", {"username": "chen", "password": "wrong"}, format="json")
    json_error(response, 401, "authentication_failed")


def test_token_lockout_is_429_with_retry_after_in_the_api_shape(db):
    UserFactory(username="sun")
    client = APIClient()
    for _ in range(5):
        client.post("/api/v1/auth/token/", {"username": "sun", "password": "no"}, REMOTE_ADDR="10.1.1.1")
    response = client.post("/api/v1/auth/token/", {"username": "sun", "password": PASSWORD}, REMOTE_ADDR="10.1.1.1")
    json_error(response, 429, "locked_out")
    assert int(response["Retry-After"]) == 15 * 60
    assert "登录".encode() in response.content  # UTF-8, not \\u escapes: the same encoding as every API error


def test_sixty_usernames_from_one_address_are_throttled(db):
    client = APIClient()
    answers = [client.post("/api/v1/auth/token/", {"username": f"user{n}", "password": "Spring2026!"},
                           REMOTE_ADDR="10.2.2.2").status_code for n in range(60)]
    assert answers.count(401) == 20 and answers.count(429) == 40, answers
    throttled = client.post("/api/v1/auth/token/", {"username": "user99", "password": "x"}, REMOTE_ADDR="10.2.2.2")
    json_error(throttled, 429, "throttled")
    # Another address has its own budget.
    other = client.post("/api/v1/auth/token/", {"username": "user0", "password": "x"}, REMOTE_ADDR="10.2.2.3")
    assert other.status_code == 401


def test_login_page_is_throttled_per_address_too(db):
    client = Client()
    answers = [client.post("/accounts/login/", {"username": f"user{n}", "password": "Spring2026!"},
                           REMOTE_ADDR="10.3.3.3").status_code for n in range(30)]
    assert answers.count(200) == 20 and answers.count(429) == 10, answers
    page = client.post("/accounts/login/", {"username": "x", "password": "y"}, REMOTE_ADDR="10.3.3.3")
    assert page.status_code == 429 and int(page["Retry-After"]) >= 1
    assert page["Content-Type"].startswith("text/html")
    assert client.get("/accounts/login/", REMOTE_ADDR="10.3.3.3").status_code == 200  # showing the form is free


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete", "options"])
@pytest.mark.parametrize("url", ["/api/v1/nope/", "/api/v1/units", "/api/v2/anything"])
def test_unknown_api_urls_answer_json_404_for_any_method_without_csrf(method, url, db):
    client = Client(enforce_csrf_checks=True)
    response = getattr(client, method)(url)
    json_error(response, 404, "not_found")
