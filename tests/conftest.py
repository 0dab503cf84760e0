"""Shared fixtures: a small city and the personas every permission test uses.

City
├── District A ── Street A1 ── Community A1 ── Grid A1
├── District B ── Street B1
└── Department (城管局)
"""

from __future__ import annotations

import os
import re
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from campaigns.models import Membership, Unit

from .factories import PASSWORD, UserFactory, make_member, make_unit

Role = Membership.Role


def pytest_xdist_setupnodes(config, specs):
    """pytest-xdist (``bin/test`` on the whole suite): each worker process gets its own Redis database for
    the Celery broker (15, 14, … from ``CELERY_BROKER_URL``), set in its environment before Django reads
    its settings, so that a real worker started by a test in one process never takes the tasks of the
    other. Their test databases are apart already (``test_<name>_gw<n>``); ports: tests/ports.py."""
    match = re.fullmatch(r"(rediss?://.*/)(\d+)", os.environ.get("CELERY_BROKER_URL", ""))
    if match is None:
        return
    for index, spec in enumerate(specs):
        spec.env["CELERY_BROKER_URL"] = f"{match[1]}{(int(match[2]) - index) % 16}"


JOURNEYS: dict[str, float] = {}


def pytest_runtest_logreport(report):
    """The browser journeys' times (tests/e2e/conftest.py puts them on the test), from the reports: in the
    process that prints the summary, also when the journeys ran in xdist workers."""
    for name, value in report.user_properties:
        if name == "journey_seconds":
            JOURNEYS[report.nodeid] = value


def pytest_terminal_summary(terminalreporter):
    if JOURNEYS:
        terminalreporter.section("browser journeys (first page to end; each fails past its limit)")
        for nodeid, seconds in JOURNEYS.items():
            terminalreporter.write_line(f"{seconds:6.1f} s  {nodeid}")


def pytest_report_header(config):
    from django.conf import settings as s

    engine = s.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    broker = s.CELERY_BROKER_URL.split("://", 1)[0]
    storage = "s3" if s.AWS_STORAGE_BUCKET_NAME else "filesystem"
    return [f"civportal tests: database={engine} broker={broker} storage={storage} language={s.LANGUAGE_CODE}"]


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _clear_cache():
    """Rate-limit counters live in the cache: every test starts from zero."""
    from django.core.cache import cache

    _clear(cache)
    yield
    _clear(cache)


def _clear(cache) -> None:
    # A Redis cache may share its database with the broker: delete our keys only, never FLUSHDB.
    if cache.__class__.__name__ == "RedisCache":
        client = cache._cache.get_client(write=True)
        for key in client.scan_iter(match=cache.make_key("*")):
            client.delete(key)
    else:
        cache.clear()


@pytest.fixture
def city(db):
    city = make_unit(kind=Unit.Kind.CITY, name="明州市", code="C")
    district_a = make_unit(city, kind=Unit.Kind.DISTRICT, name="东湖区", code="C-A")
    street_a1 = make_unit(district_a, kind=Unit.Kind.STREET, name="人民路街道", code="C-A-1")
    community_a1 = make_unit(street_a1, kind=Unit.Kind.COMMUNITY, name="春晖社区", code="C-A-1-1")
    grid_a1 = make_unit(community_a1, kind=Unit.Kind.GRID, name="春晖社区第1网格", code="C-A-1-1-1")
    district_b = make_unit(city, kind=Unit.Kind.DISTRICT, name="西江区", code="C-B")
    street_b1 = make_unit(district_b, kind=Unit.Kind.STREET, name="解放街道", code="C-B-1")
    department = make_unit(city, kind=Unit.Kind.DEPARTMENT, name="市城市管理局", code="C-CGJ")
    return SimpleNamespace(
        city=city, district_a=district_a, street_a1=street_a1, community_a1=community_a1, grid_a1=grid_a1,
        district_b=district_b, street_b1=street_b1, department=department,
    )


@pytest.fixture
def personas(city):
    """supervisor (city), inspector (city), leader (A), head (A), handler_a (A), handler_b (B), outsider (no role)."""
    return SimpleNamespace(
        supervisor=make_member(city.city, Role.SUPERVISOR, "p_supervisor"),
        inspector=make_member(city.city, Role.INSPECTOR, "p_inspector"),
        leader=make_member(city.district_a, Role.LEADER, "p_leader"),
        head_a=make_member(city.district_a, Role.HEAD, "p_head_a"),
        handler_a=make_member(city.district_a, Role.HANDLER, "p_handler_a"),
        handler_b=make_member(city.district_b, Role.HANDLER, "p_handler_b"),
        outsider=UserFactory(username="p_outsider"),
    )


@pytest.fixture
def login(client):
    """Log the Django test client in as a user (a real password login)."""

    def _login(user):
        client.logout()
        response = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
        assert response.status_code == 302, response.content[:500]
        return client

    return _login


@pytest.fixture
def api():
    """An API client authenticated with a token for the given user (or anonymous)."""

    def _api(user=None):
        client = APIClient()
        if user is not None:
            token, _ = Token.objects.get_or_create(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return _api


@pytest.fixture
def api_key():
    """Create an API client (key) as ``actor`` and return (client, raw key)."""
    from campaigns import services

    def _api_key(actor, unit, role=Role.HANDLER, name="12345 hotline", **kwargs):
        return services.api_client_create(actor=actor, name=name, role=role, unit=unit, **kwargs)

    return _api_key


@pytest.fixture
def key_api():
    """An API client authenticated with ``Authorization: Api-Key <key>``."""

    def _key_api(key):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
        return client

    return _key_api


@pytest.fixture
def on_postgresql():
    if connection.vendor != "postgresql":
        pytest.fail("this test needs PostgreSQL: run the README test command (bin/test)")
    return True


@pytest.fixture(scope="session")
def broker_url():
    return settings.CELERY_BROKER_URL


@pytest.fixture(scope="session")
def project_root():
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def fresh_listcache():
    """civportal.listcache's per-process state (its outage pause, the bumps awaiting commit) reset
    around a test that turns one of the generation caches on."""
    from civportal import listcache

    listcache._down_until = 0.0
    listcache._pending.clear()
    yield
    listcache._down_until = 0.0
    listcache._pending.clear()


@pytest.fixture
def dead_cache(settings):
    """A second cache alias on a Redis port nobody listens on."""
    settings.CACHES = {**settings.CACHES, "dead": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:9/0",
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}}}
    return "dead"
