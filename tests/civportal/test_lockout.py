"""Login lockout: 5 failures per username + address, 15 minutes (TARGETS S2)."""

from datetime import timedelta

import time_machine
from django.urls import reverse
from django.utils import timezone

from tests.factories import PASSWORD, UserFactory


def _login(client, username, password, ip="10.0.0.1"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_sixth_attempt_refused_even_with_right_password_then_allowed_after_cooloff(client, db):
    user = UserFactory(username="zhang")
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        for _ in range(5):
            response = _login(client, "zhang", "wrong-password")
            assert response.status_code in (200, 429)
        response = _login(client, "zhang", PASSWORD)
        assert response.status_code == 429
        assert "登录失败次数过多" in response.content.decode()
        assert "_auth_user_id" not in client.session

        traveller.shift(timedelta(minutes=15, seconds=1))
        response = _login(client, "zhang", PASSWORD)
        assert response.status_code == 302
        assert client.session["_auth_user_id"] == str(user.pk)


def test_lockout_is_per_address(client, db):
    UserFactory(username="li")
    for _ in range(5):
        _login(client, "li", "wrong-password", ip="10.0.0.1")
    assert _login(client, "li", PASSWORD, ip="10.0.0.1").status_code == 429
    assert _login(client, "li", PASSWORD, ip="10.0.0.2").status_code == 302


def test_four_failures_do_not_lock(client, db):
    UserFactory(username="wang")
    for _ in range(4):
        assert _login(client, "wang", "wrong-password").status_code == 200
    assert _login(client, "wang", PASSWORD).status_code == 302


def test_api_token_route_has_the_same_lockout(api, db):
    user = UserFactory(username="zhao")
    client = api()
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        for attempt in range(5):
            response = client.post("/api/v1/auth/token/", {"username": "zhao", "password": "nope"}, REMOTE_ADDR="10.0.0.9")
            assert response.status_code == (401 if attempt < 4 else 429)
        response = client.post("/api/v1/auth/token/", {"username": "zhao", "password": PASSWORD}, REMOTE_ADDR="10.0.0.9")
        assert response.status_code == 429
        assert response.json()["code"] == "locked_out"
        traveller.shift(timedelta(minutes=16))
        response = client.post("/api/v1/auth/token/", {"username": "zhao", "password": PASSWORD}, REMOTE_ADDR="10.0.0.9")
        assert response.status_code == 200
        token = response.json()["token"]
    me = api()
    me.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = me.get("/api/v1/units/")
    assert response.status_code == 403  # authenticated (not 401), but holds no role
    assert response.json()["code"] == "permission_denied"
    assert user.auth_token.key == token


def test_token_route_rejects_bad_input_cleanly(api, db):
    response = api().post("/api/v1/auth/token/", {"username": "\x00" * 5}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
