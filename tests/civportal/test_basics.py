import os
import subprocess
import sys
import time

import pytest
from django.urls import reverse

from campaigns.models import Unit


def run_manage(project_root, *args, env_extra=None, timeout=120):
    env = {k: v for k, v in os.environ.items()
           if k not in {"DJANGO_SECRET_KEY", "DJANGO_DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=project_root, env=env, capture_output=True, text=True, timeout=timeout
    )


PROD_ENV = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "k3$Vq9#zL1mW8pR2tY6uE0oI4aS7dF5gH9jK2lZ3xC6vB1nM8qW4eR7tY0uI",
    "DJANGO_ALLOWED_HOSTS": "civportal.example.cn",
}


def test_production_refuses_the_development_secret_key(project_root):
    result = run_manage(project_root, "check", env_extra={"DJANGO_DEBUG": "0"})
    assert result.returncode != 0
    assert "refuses to start with the development secret key" in result.stderr


def test_check_deploy_is_clean_with_production_settings(project_root):
    result = run_manage(project_root, "check", "--deploy", "--fail-level", "WARNING", env_extra=PROD_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_security_headers_present(client, db):
    response = client.get(reverse("login"))
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp


def test_healthz_reports_database_and_broker(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["database"] == "ok"
    assert body["broker"] == "ok"


def test_healthz_answers_fast_when_broker_is_down(client, db, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # a closed port
    started = time.monotonic()
    response = client.get("/healthz")
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert response.json()["broker"].startswith("error")
    assert elapsed < 5


def test_home_requires_login(client, db):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_home_lists_my_roles(personas, login, city):
    response = login(personas.handler_a).get(reverse("home"))
    assert response.status_code == 200
    assert city.district_a.name in response.content.decode()


def test_load_demo_is_rerunnable(db):
    from django.core.management import call_command

    call_command("load_demo", quiet=True)
    units = Unit.objects.count()
    call_command("load_demo", quiet=True)
    assert Unit.objects.count() == units > 100
    assert Unit.objects.filter(kind=Unit.Kind.DEPARTMENT, name="市城市管理局").exists()
