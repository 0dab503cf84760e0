"""One JSON error format under /api/ (unknown URLs, wrong methods, bad JSON,
too-large bodies, throttling), HTML error pages elsewhere, and the per-client
rate limit."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import path
from rest_framework.test import APIClient

from campaigns.models import Membership

Role = Membership.Role
pytestmark = pytest.mark.django_db


def assert_json_error(response, status, code=None):
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) >= {"code", "detail"} and body["detail"]
    if code:
        assert body["code"] == code
    return body


@pytest.mark.parametrize("url", ["/api/v1/nothing-here/", "/api/v2/units/", "/api/", "/api/v1/units/999999999/"])
def test_unknown_api_urls_answer_json_404(personas, api, url):
    assert_json_error(api(personas.supervisor).get(url), 404, "not_found")


def test_api_url_without_final_slash_answers_json_404_with_a_hint(personas, api):
    body = assert_json_error(api(personas.supervisor).post("/api/v1/units", {}, format="json"), 404, "not_found")
    assert "/api/v1/units/" in body["detail"]


def test_unknown_api_url_is_json_also_with_debug_on(personas, api, settings):
    settings.DEBUG = True
    assert_json_error(api(personas.supervisor).get("/api/v1/nothing-here/"), 404, "not_found")


def test_wrong_method_answers_json_405(personas, api):
    assert_json_error(api(personas.supervisor).delete("/api/v1/units/"), 405, "method_not_allowed")


def test_malformed_json_answers_json_400(personas, api):
    response = api(personas.supervisor).generic("POST", "/api/v1/units/", '{"name": ', content_type="application/json")
    assert_json_error(response, 400, "parse_error")


def test_unsupported_media_type_answers_json_415(personas, api):
    response = api(personas.supervisor).generic("POST", "/api/v1/units/", "x", content_type="text/csv")
    assert_json_error(response, 415, "unsupported_media_type")


def test_too_large_form_body_answers_json_413(personas, api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = api(personas.supervisor).post("/api/v1/units/", {"name": "x" * 5000}, format="multipart")
    assert_json_error(response, 413, "too_large")


def test_unauthenticated_call_answers_json_401(db):
    assert_json_error(APIClient().get("/api/v1/units/"), 401, "not_authenticated")


def test_html_pages_keep_html_error_pages_in_chinese(personas, login):
    response = login(personas.handler_a).get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert "页面不存在".encode() in response.content
    forbidden = login(personas.outsider).get("/api-clients/")
    assert forbidden.status_code == 403 and "text/html" in forbidden["Content-Type"]
    assert "无权".encode() in forbidden.content


def boom(request):
    raise RuntimeError("boom")


urlpatterns = [path("api/v1/boom/", boom), path("boom/", boom)]
handler500 = "civportal.views.server_error"


def test_server_errors_are_json_under_api_and_html_elsewhere(db, settings):
    settings.ROOT_URLCONF = __name__
    client = Client(raise_request_exception=False)
    body = assert_json_error(client.get("/api/v1/boom/"), 500, "server_error")
    assert "boom" not in body["detail"]
    page = client.get("/boom/")
    assert page.status_code == 500 and page["Content-Type"].startswith("text/html")
    assert "服务器".encode() in page.content


def test_nul_byte_in_query_answers_json_400(personas, api):
    assert_json_error(api(personas.supervisor).get("/api/v1/units/?q=a%00b"), 400, "invalid")


# --- rate limiting ---------------------------------------------------------------------------------


def test_each_key_has_its_own_budget_and_gets_a_translated_429(city, personas, api_key, key_api, settings):
    settings.API_RATE_PER_MINUTE = 3
    _a, key_a = api_key(personas.supervisor, city.district_a, name="a")
    _b, key_b = api_key(personas.supervisor, city.district_b, name="b")
    for _ in range(3):
        assert key_api(key_a).get("/api/v1/units/").status_code == 200
    response = key_api(key_a).get("/api/v1/units/")
    body = assert_json_error(response, 429, "throttled")
    assert int(response["Retry-After"]) >= 1
    assert "请求过于频繁" in body["detail"]
    english = key_api(key_a).get("/api/v1/units/", HTTP_ACCEPT_LANGUAGE="en")
    assert "Too many requests" in english.json()["detail"]
    # Another client is not affected.
    assert key_api(key_b).get("/api/v1/units/").status_code == 200


def test_users_are_limited_per_user_too(personas, api, settings):
    settings.API_RATE_PER_MINUTE = 2
    for _ in range(2):
        assert api(personas.supervisor).get("/api/v1/units/").status_code == 200
    assert_json_error(api(personas.supervisor).get("/api/v1/units/"), 429, "throttled")
    assert api(personas.handler_a).get("/api/v1/units/").status_code == 200


def test_budget_refills_after_a_minute(personas, api, settings):
    import time_machine
    from django.utils import timezone
    from datetime import timedelta

    settings.API_RATE_PER_MINUTE = 1
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        assert api(personas.supervisor).get("/api/v1/units/").status_code == 200
        assert api(personas.supervisor).get("/api/v1/units/").status_code == 429
    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        assert api(personas.supervisor).get("/api/v1/units/").status_code == 200


def test_zero_turns_the_limit_off(personas, api, settings):
    settings.API_RATE_PER_MINUTE = 0
    for _ in range(5):
        assert api(personas.supervisor).get("/api/v1/units/").status_code == 200


def test_redis_cache_is_chosen_by_cache_url(monkeypatch):
    import importlib

    from civportal import settings as project_settings

    monkeypatch.setenv("CACHE_URL", "redis://127.0.0.1:6379/9")
    try:
        reloaded = importlib.reload(project_settings)
        assert reloaded.CACHES["default"]["BACKEND"] == "civportal.cache.RedisCache"
        assert reloaded.CACHES["default"]["LOCATION"] == "redis://127.0.0.1:6379/9"
        monkeypatch.setenv("CACHE_URL", "locmem://")
        assert importlib.reload(project_settings).CACHES["default"]["BACKEND"].endswith("LocMemCache")
        # No CACHE_URL: a Redis broker is shared as the cache, else the database cache (one budget for
        # every process of bin/run).
        monkeypatch.setenv("CACHE_URL", "")
        monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:6379/8")
        reloaded = importlib.reload(project_settings)
        assert reloaded.CACHES["default"]["LOCATION"] == "redis://127.0.0.1:6379/8"
        assert reloaded.SESSION_ENGINE == "django.contrib.sessions.backends.cached_db"
        monkeypatch.setenv("CELERY_BROKER_URL", "filesystem://")
        reloaded = importlib.reload(project_settings)
        assert reloaded.CACHES["default"]["BACKEND"].endswith("DatabaseCache")
        assert reloaded.SESSION_ENGINE == "django.contrib.sessions.backends.db"
    finally:
        monkeypatch.undo()
        importlib.reload(project_settings)


def test_throttling_works_against_redis(personas, api, settings):
    from django.core.cache import cache

    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        pytest.skip("needs the Redis of the test command (bin/test)")
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": settings.CELERY_BROKER_URL, "KEY_PREFIX": "civportal-test-throttle"}}
    settings.API_RATE_PER_MINUTE = 1
    cache.clear()
    try:
        assert api(personas.supervisor).get("/api/v1/units/").status_code == 200
        assert api(personas.supervisor).get("/api/v1/units/").status_code == 429
        assert any(b"throttle_client" in key for key in cache._cache.get_client().keys("*"))
    finally:
        cache.clear()


def test_on_redis_the_window_is_a_sorted_set_that_refills_and_refusals_do_not_use_it_up(personas, api, settings):
    import time_machine
    from datetime import timedelta

    from django.core.cache import cache
    from django.utils import timezone

    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        pytest.skip("needs the Redis of the test command (bin/test)")
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": settings.CELERY_BROKER_URL, "KEY_PREFIX": "civportal-test-window"}}
    settings.API_RATE_PER_MINUTE = 3
    cache.clear()
    start = timezone.now()
    try:
        with time_machine.travel(start, tick=False):
            assert [api(personas.supervisor).get("/api/v1/units/").status_code for _ in range(3)] == [200] * 3
        with time_machine.travel(start + timedelta(seconds=30), tick=False):
            for _ in range(3):  # refused: these do not count
                response = api(personas.supervisor).get("/api/v1/units/")
                assert response.status_code == 429 and 29 <= int(response["Retry-After"]) <= 30
            assert api(personas.handler_a).get("/api/v1/units/").status_code == 200  # another user's budget
        with time_machine.travel(start + timedelta(seconds=60.5), tick=False):
            assert api(personas.supervisor).get("/api/v1/units/").status_code == 200
            assert api(personas.supervisor).get("/api/v1/units/").status_code == 200
            assert api(personas.supervisor).get("/api/v1/units/").status_code == 200
            assert api(personas.supervisor).get("/api/v1/units/").status_code == 429
        client = cache._cache.get_client()
        keys = client.keys("civportal-test-window:*throttle_client_user-*")
        assert keys and all(client.type(key) == b"zset" for key in keys)
        assert max(client.zcard(key) for key in keys) == 3  # the window's requests, not every request made
    finally:
        cache.clear()


def test_the_redis_cache_reuses_one_client_and_works(settings):
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache

    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        pytest.skip("needs the Redis of the test command (bin/test)")
    settings.CACHES = {"default": {"BACKEND": "civportal.cache.RedisCache", "LOCATION": settings.CELERY_BROKER_URL,
                                   "KEY_PREFIX": "civportal-test-client"}}
    cache = caches["default"]
    try:
        assert isinstance(cache, RedisCache)  # the rate limit's and list cache's Redis paths apply
        assert cache._cache.get_client("a") is cache._cache.get_client("b", write=True)
        cache.set("k", {"a": 1}, 10)
        assert cache.get("k") == {"a": 1} and cache.get_many(["k", "nope"]) == {"k": {"a": 1}}
        assert cache.add("n", 1) and cache.incr("n") == 2
        assert cache.delete("k") and cache.get("k") is None
    finally:
        cache.clear()
