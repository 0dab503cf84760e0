"""Staff accounts (issue 20, acceptance 1): supervisors and heads manage the
accounts of their scope; imports are all-or-nothing; a reset password must be
changed; a disabled account can neither log in nor use its token; the
"forgot password" e-mail is translated and reveals nothing."""

from __future__ import annotations

import io
import re

import pytest
from django.core import mail
from openpyxl import Workbook, load_workbook
from rest_framework.authtoken.models import Token

from campaigns.models import Membership, User
from tests.factories import PASSWORD, make_member

Role = Membership.Role
HEADERS = ["姓名", "用户名", "手机", "邮箱", "单位编码", "角色"]


def sheet(rows, headers=HEADERS) -> io.BytesIO:
    workbook = Workbook()
    ws = workbook.active
    ws.append(["东湖区工作人员名单"])  # a title row above the header, as offices write them
    ws.append(headers)
    for row in rows:
        ws.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    buffer.name = "accounts.xlsx"
    return buffer


def three_hundred(city):
    units = [city.district_a.code, city.street_a1.code, city.community_a1.code, city.grid_a1.code]
    roles = ["经办人", "负责人", "测评员", "包保领导"]
    return [[f"张{i:03d}", f"staff{i:03d}", f"138{i:08d}", f"staff{i:03d}@example.invalid", units[i % 4], roles[i % 4]]
            for i in range(300)]


# --- import ---------------------------------------------------------------------------------------


def test_supervisor_imports_300_accounts_in_one_go(personas, city, login, django_assert_max_num_queries):
    client = login(personas.supervisor)
    with django_assert_max_num_queries(40):  # bulk: not one query per row
        response = client.post("/accounts/users/import/", {"file": sheet(three_hundred(city))})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert User.objects.filter(username__startswith="staff").count() == 300
    assert Membership.objects.filter(user__username__startswith="staff", active=True).count() == 300
    zhang = User.objects.get(username="staff007")
    assert (zhang.display_name, zhang.phone, zhang.email) == ("张007", "13800000007", "staff007@example.invalid")
    assert zhang.memberships.get().role == Role.LEADER
    assert not zhang.has_usable_password()
    assert zhang.history.first().history_user == personas.supervisor  # the import is on record


def test_a_bad_row_imports_nothing_and_is_named(personas, city, login):
    rows = three_hundred(city)
    rows[141][4] = "NO-SUCH-UNIT"  # sheet row 144: title, header, then data from row 3
    rows[200][5] = "队长"
    response = login(personas.supervisor).post("/accounts/users/import/", {"file": sheet(rows)})
    assert response.status_code == 400
    errors = response.context["errors"]
    assert [(e.row, e.message) for e in errors] == [
        (144, "未知的单位编码 NO-SUCH-UNIT。"), (203, "未知的角色 队长。")]
    assert not User.objects.filter(username__startswith="staff").exists()


def test_import_refuses_units_and_accounts_outside_the_actor(personas, city, login):
    rows = [["李四", "lisi", "", "", city.district_b.code, "经办人"],
            ["王五", personas.handler_b.username, "", "", city.district_a.code, "经办人"]]
    response = login(personas.head_a).post("/accounts/users/import/", {"file": sheet(rows)})
    assert response.status_code == 400
    assert {e.row for e in response.context["errors"]} == {3, 4}
    assert not User.objects.filter(username="lisi").exists()


def test_export_imports_back_unchanged(personas, city, login):
    client = login(personas.supervisor)
    assert client.post("/accounts/users/import/", {"file": sheet(three_hundred(city)[:20])}).status_code == 302
    response = client.get("/accounts/users/export.xlsx", {"q": "staff"})
    assert response.status_code == 200
    content = b"".join(response.streaming_content)
    rows = list(load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True))
    assert len(rows) == 21 and rows[0][:6] == ("姓名", "用户名", "手机", "邮箱", "单位编码", "角色")
    again = io.BytesIO(content)
    again.name = "accounts.xlsx"
    before = Membership.objects.count(), User.history.count()
    response = client.post("/accounts/users/import/", {"file": again}, follow=True)
    assert "新增 0 条，更新 0 条，未变 20 条" in response.content.decode()
    assert (Membership.objects.count(), User.history.count()) == before


def test_api_import_reports_rows_as_json(personas, city, api):
    rows = three_hundred(city)[:3]
    rows[1][1] = "bad name!"
    response = api(personas.supervisor).post("/api/v1/users/import/", {"file": sheet(rows)}, format="multipart")
    assert response.status_code == 400
    assert response.json()["errors"]["rows"][0]["row"] == 4
    rows[1][1] = "good_name"
    response = api(personas.supervisor).post("/api/v1/users/import/", {"file": sheet(rows)}, format="multipart")
    assert response.status_code == 201 and response.json()["created"] == 3


# --- create, reset, disable ---------------------------------------------------------------------


def test_created_account_logs_in_once_with_the_temporary_password_then_must_change_it(personas, city, login, client):
    response = login(personas.head_a).post("/accounts/users/new/", {
        "display_name": "赵六", "username": "zhaoliu", "phone": "13900000000", "email": "zl@example.invalid",
        "unit": city.district_a.code, "role": Role.HANDLER})
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    password = response.context["password"]
    assert password in response.content.decode()
    client.logout()
    assert client.post("/accounts/login/", {"username": "zhaoliu", "password": password}).status_code == 302
    assert client.get("/").url == "/accounts/password/?forced=1"
    assert client.get("/tasks/").status_code == 302
    response = client.post("/accounts/password/", {
        "old_password": password, "new_password1": "Another-pass-2026", "new_password2": "Another-pass-2026"})
    assert response.status_code == 302
    assert client.get("/").status_code in (200, 302) and client.get("/").get("Location") != "/accounts/password/?forced=1"
    user = User.objects.get(username="zhaoliu")
    assert not user.must_change_password
    assert [h.history_change_reason for h in user.history.order_by("history_id")][0] == "账号已创建"


def test_head_manages_only_handlers_of_their_own_unit(personas, city, login, api):
    client = login(personas.head_a)
    response = client.post("/accounts/users/new/", {
        "display_name": "钱七", "username": "qianqi", "unit": city.street_a1.code, "role": Role.HANDLER})
    assert response.status_code == 400  # not their own unit
    response = client.post("/accounts/users/new/", {
        "display_name": "钱七", "username": "qianqi", "unit": city.district_a.code, "role": Role.HEAD})
    assert response.status_code == 400  # not a handler role
    listed = {a.username for a in client.get("/accounts/users/").context["page"]}
    assert listed == {personas.handler_a.username}
    assert client.get(f"/accounts/users/{personas.leader.pk}/").status_code == 404
    assert client.get(f"/accounts/users/{personas.handler_b.pk}/").status_code == 404
    assert api(personas.head_a).post(f"/api/v1/users/{personas.handler_b.pk}/disable/").status_code == 404


def test_reset_password_forces_a_change_and_withdraws_the_token(personas, city, api, client):
    Token.objects.create(user=personas.handler_a)
    response = api(personas.supervisor).post(f"/api/v1/users/{personas.handler_a.pk}/reset-password/")
    assert response.status_code == 200
    password = response.json()["temporary_password"]
    assert response.json()["must_change_password"] is True
    assert not Token.objects.filter(user=personas.handler_a).exists()
    # The old password is gone; the token route refuses until the password is changed.
    assert api().post("/api/v1/auth/token/", {"username": personas.handler_a.username, "password": PASSWORD}).status_code == 401
    refused = api().post("/api/v1/auth/token/", {"username": personas.handler_a.username, "password": password})
    assert refused.status_code == 403 and refused.json()["code"] == "password_change_required"
    client.post("/accounts/login/", {"username": personas.handler_a.username, "password": password})
    assert client.get("/notifications/").status_code == 302
    history = personas.handler_a.history.first()
    assert history.history_user == personas.supervisor and "重置" in history.history_change_reason


def test_disabled_account_cannot_log_in_nor_use_its_token(personas, city, api, client, login):
    token = Token.objects.create(user=personas.handler_a)
    logged_in = login(personas.handler_a)
    assert api(personas.supervisor).post(f"/api/v1/users/{personas.handler_a.pk}/disable/").status_code == 200
    assert logged_in.get("/tasks/").status_code == 302  # the running session ends
    response = client.post("/accounts/login/", {"username": personas.handler_a.username, "password": PASSWORD})
    assert response.status_code == 200  # the form again, not a redirect
    from rest_framework.test import APIClient

    with_token = APIClient()
    with_token.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert with_token.get("/api/v1/tasks/").status_code == 401
    assert api().post("/api/v1/auth/token/", {"username": personas.handler_a.username, "password": PASSWORD}).status_code == 401
    assert User.objects.filter(pk=personas.handler_a.pk).exists()  # never deleted
    reasons = list(personas.handler_a.history.values_list("history_change_reason", flat=True))
    assert "账号已停用" in reasons
    assert api(personas.supervisor).post(f"/api/v1/users/{personas.handler_a.pk}/enable/").status_code == 200
    assert client.post("/accounts/login/", {"username": personas.handler_a.username, "password": PASSWORD}).status_code == 302


def test_api_keys_cannot_manage_accounts(personas, city, api_key, key_api):
    _client, key = api_key(personas.supervisor, city.city, role=Role.SUPERVISOR)
    assert key_api(key).get("/api/v1/users/").status_code == 403
    assert key_api(key).post(f"/api/v1/users/{personas.handler_a.pk}/disable/").status_code == 403


@pytest.mark.parametrize("persona,status", [("handler_a", 403), ("inspector", 403), ("leader", 403), ("outsider", 403)])
def test_people_without_account_rights_are_refused(personas, city, login, api, persona, status):
    user = getattr(personas, persona)
    assert login(user).get("/accounts/users/").status_code == status
    assert api(user).get("/api/v1/users/").status_code == status


def test_api_lists_the_scope_and_creates_with_a_temporary_password(personas, city, api):
    other = make_member(city.district_b, Role.HEAD, "b_head")
    rows = api(personas.supervisor).get("/api/v1/users/", {"limit": 200}).json()["results"]
    assert other.username in {r["username"] for r in rows}
    assert personas.supervisor.username in {r["username"] for r in rows}
    district_supervisor = make_member(city.district_a, Role.SUPERVISOR, "a_sup")
    rows = api(district_supervisor).get("/api/v1/users/", {"limit": 200}).json()["results"]
    assert other.username not in {r["username"] for r in rows}
    assert api(district_supervisor).get(f"/api/v1/users/{other.pk}/").status_code == 404
    response = api(district_supervisor).post("/api/v1/users/", {
        "username": "sunba", "display_name": "孙八", "unit": city.street_a1.pk, "role": Role.HANDLER})
    assert response.status_code == 201 and len(response.json()["temporary_password"]) == 12
    assert response.json()["roles"][0]["unit_code"] == city.street_a1.code
    response = api(district_supervisor).post("/api/v1/users/", {
        "username": "sunjiu", "display_name": "孙九", "unit": city.street_b1.pk, "role": Role.HANDLER})
    assert response.status_code == 400


@pytest.mark.parametrize("page_size", [1, 50])
def test_account_list_queries_do_not_grow(personas, city, login, api, page_size, django_assert_max_num_queries):
    for i in range(60):
        make_member(city.street_a1, Role.HANDLER, f"many{i:02d}")
    client = login(personas.supervisor)
    with django_assert_max_num_queries(8):
        assert client.get("/accounts/users/", {"per_page": page_size}).status_code == 200
    token_client = api(personas.supervisor)
    with django_assert_max_num_queries(8):
        assert token_client.get("/api/v1/users/", {"limit": page_size}).status_code == 200


# --- forgot password ------------------------------------------------------------------------------


def test_forgot_password_sends_a_translated_email_and_the_link_sets_the_password(personas, city, client):
    assert "/accounts/password/reset/" in client.get("/accounts/login/").content.decode()
    response = client.post("/accounts/password/reset/", {"email": personas.handler_a.email})
    assert response.status_code == 302 and response.url == "/accounts/password/reset/sent/"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [personas.handler_a.email]
    assert "新密码" in message.subject and "如果不是您本人" in message.body
    link = re.search(r"http://testserver(/accounts/password/reset/\S+/)", message.body).group(1)
    form_url = client.get(link).url
    response = client.post(form_url, {"new_password1": "Fresh-pass-2026", "new_password2": "Fresh-pass-2026"})
    assert response.status_code == 302
    assert client.post("/accounts/login/", {"username": personas.handler_a.username,
                                            "password": "Fresh-pass-2026"}).status_code == 302


def test_forgot_password_in_english_mode_sends_english(personas, city, client):
    client.cookies["django_language"] = "en"
    client.post("/accounts/password/reset/", {"email": personas.handler_a.email})
    assert mail.outbox[0].subject == "Choose a new password for the civilized-city portal"


def test_forgot_password_reveals_nothing_about_unknown_addresses_and_is_throttled(personas, city, client, settings):
    known = client.post("/accounts/password/reset/", {"email": personas.handler_a.email})
    unknown = client.post("/accounts/password/reset/", {"email": "nobody@example.invalid"})
    assert (known.status_code, known.url) == (unknown.status_code, unknown.url)
    assert len(mail.outbox) == 1
    for _ in range(5):
        response = client.post("/accounts/password/reset/", {"email": personas.handler_a.email})
        assert response.url == "/accounts/password/reset/sent/"
    assert len(mail.outbox) == settings.PASSWORD_RESET_PER_HOUR


def test_disabled_accounts_get_no_reset_email(personas, city, client):
    User.objects.filter(pk=personas.handler_a.pk).update(is_active=False)
    client.post("/accounts/password/reset/", {"email": personas.handler_a.email})
    assert mail.outbox == []
