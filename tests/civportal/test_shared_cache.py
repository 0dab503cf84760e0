"""Two real gunicorn processes share one API rate-limit budget: with the
embedded default (the database cache) and with Redis. The in-process cache is
the control: there each process counts on its own, which is what the shared
cache is for."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid

import pytest
from django.db import connection
from rest_framework.authtoken.models import Token

from tests.factories import UserFactory
from tests.ports import worker_port

PORTS = (worker_port(int(os.environ.get("CIVPORTAL_TEST_GUNICORN_PORT", "18530"))),
         worker_port(int(os.environ.get("CIVPORTAL_TEST_GUNICORN_PORT", "18530"))) + 1)
LIMIT = 6


def database_url() -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST']}:{s['PORT']}/{s['NAME']}"


def start(port: int, env: dict, root: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "civportal.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1",
         "--graceful-timeout", "2"],
        cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )


def get(port: int, token: str) -> int:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/units/",
                                     headers={"Authorization": f"Token {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def statuses_from_two_processes(tmp_path, project_root, cache_env: dict) -> list[int]:
    user = UserFactory(username=f"rate-{uuid.uuid4().hex[:6]}", is_superuser=True, is_staff=True)
    token = Token.objects.create(user=user).key
    env = {k: v for k, v in os.environ.items() if k not in ("CACHE_URL", "CELERY_BROKER_URL")}
    env.update(DATABASE_URL=database_url(), API_RATE_PER_MINUTE=str(LIMIT), CIVPORTAL_VAR_DIR=str(tmp_path),
               CACHE_KEY_PREFIX=f"ratetest-{uuid.uuid4().hex}", CELERY_BROKER_URL="filesystem://")
    env.update(cache_env)
    servers = [start(port, env, project_root) for port in PORTS]
    try:
        deadline = time.monotonic() + 60
        for port, server in zip(PORTS, servers):
            while get_health(port) != 200:
                assert server.poll() is None, server.stderr.read().decode(errors="replace")[-2000:]
                assert time.monotonic() < deadline, "gunicorn did not come up in 60 s"
                time.sleep(0.3)
        # Alternate between the processes: LIMIT + 4 requests within the same minute.
        return [get(PORTS[i % 2], token) for i in range(LIMIT + 4)]
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()


def get_health(port: int) -> int | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=3) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


@pytest.fixture
def db_cache_table(transactional_db):
    # The embedded default's table (migrate's post_migrate hook creates it where that cache is configured).
    from django.test import override_settings

    with override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache",
                                               "LOCATION": "civportal_cache"}}):
        from django.core.management import call_command

        call_command("createcachetable", verbosity=0)


@pytest.mark.django_db(transaction=True)
def test_embedded_default_database_cache_gives_two_processes_one_budget(db_cache_table, tmp_path, project_root):
    statuses = statuses_from_two_processes(tmp_path, project_root, {})  # no CACHE_URL, no Redis broker
    assert statuses[:LIMIT] == [200] * LIMIT and statuses[LIMIT:] == [429] * 4, statuses


@pytest.mark.django_db(transaction=True)
def test_redis_cache_from_the_broker_url_gives_two_processes_one_budget(tmp_path, project_root, broker_url):
    if not broker_url.startswith("redis://"):
        pytest.fail("this test needs the Redis broker: run it with bin/test")
    statuses = statuses_from_two_processes(tmp_path, project_root, {"CELERY_BROKER_URL": broker_url})
    assert statuses[:LIMIT] == [200] * LIMIT and statuses[LIMIT:] == [429] * 4, statuses


@pytest.mark.django_db(transaction=True)
def test_control_in_process_cache_counts_per_process(tmp_path, project_root):
    statuses = statuses_from_two_processes(tmp_path, project_root, {"CACHE_URL": "locmem://"})
    assert statuses == [200] * (LIMIT + 4), statuses  # each process allows LIMIT on its own
