"""docker-compose.yml, checked by parsing it (CI has no Docker engine): the
scaled-out stack has every service it needs, every file lives in a named
volume (none in a container layer), and the commands run what exists."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = ("migrate", "web", "worker", "beat")


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_the_stack_has_proxy_two_webs_pooler_object_store_and_two_beats(compose):
    services = compose["services"]
    assert {"db", "pgbouncer", "redis", "minio", "createbuckets", "certs", "migrate", "web", "proxy", "worker",
            "beat"} <= set(services)
    assert services["web"]["deploy"]["replicas"] == 2 and "ports" not in services["web"]  # only via the proxy
    assert services["beat"]["deploy"]["replicas"] == 2
    assert "redbeat.RedBeatScheduler" in services["beat"]["command"]
    assert services["proxy"]["ports"] == ["443:443", "80:80"]


def test_every_app_service_stores_files_in_the_bucket_and_talks_through_pgbouncer(compose):
    for name in APP_SERVICES:
        env = compose["services"][name]["environment"]
        assert env["AWS_STORAGE_BUCKET_NAME"] == "civportal" and env["AWS_S3_ENDPOINT_URL"] == "http://minio:9000"
        assert env["CACHE_URL"].startswith("redis://redis:6379/") and env["CELERY_BROKER_URL"] != env["CACHE_URL"]
        if name != "migrate":
            assert "@pgbouncer:6432/" in env["DATABASE_URL"] and env["DB_DISABLE_SERVER_SIDE_CURSORS"] == "1"
    assert "@db:5432/" in compose["services"]["migrate"]["environment"]["DATABASE_URL"]  # DDL bypasses the pooler


def test_no_file_lives_in_a_container_layer(compose):
    declared = set(compose["volumes"])
    stateful = {"db": "/var/lib/postgresql/data", "redis": "/data", "minio": "/data", "certs": "/certs"}
    for name, path in stateful.items():
        mounts = {v.split(":")[1]: v.split(":")[0] for v in compose["services"][name]["volumes"]}
        assert mounts.get(path) in declared, (name, path)
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):  # bind mounts are read-only configuration that exists in the repository
                assert volume.endswith(":ro") and (ROOT / source).is_file(), volume
            else:
                assert source in declared, (name, volume)
    # The bucket is created before anything that stores files starts.
    for name in APP_SERVICES:
        deps = compose["services"][name]["depends_on"]
        assert "migrate" in deps or deps["createbuckets"]["condition"] == "service_completed_successfully"
    assert "mc mb --ignore-existing local/civportal" in compose["services"]["createbuckets"]["command"][0]


def test_proxy_terminates_tls_serves_static_and_hides_metrics():
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    assert "listen 443 ssl" in conf and "ssl_certificate /etc/nginx/certs/civportal.crt" in conf
    assert "location /static/" in conf and "alias /srv/static/" in conf
    assert "location = /metrics" in conf and "proxy_set_header X-Forwarded-Proto https" in conf
    assert "X-Request-ID" in conf


def test_commands_run_what_the_image_has(compose):
    for name in APP_SERVICES:
        command = compose["services"][name]["command"]
        text = " ".join(command)
        assert "/app/.venv/bin/" in text
    assert "manage.py migrate" in " ".join(compose["services"]["migrate"]["command"])
    assert "collectstatic" in " ".join(compose["services"]["migrate"]["command"])


def test_web_and_worker_count_metrics_across_processes(compose):
    """Several gunicorn workers (and Celery pool processes) add up on /metrics: a
    PROMETHEUS_MULTIPROC_DIR on a tmpfs (empty at each start) and the project's
    gunicorn.conf.py (empties it again, marks exited workers dead)."""
    for name in ("web", "worker"):
        service = compose["services"][name]
        folder = service["environment"]["PROMETHEUS_MULTIPROC_DIR"]
        assert folder in service["tmpfs"], name
    assert "/app/gunicorn.conf.py" in compose["services"]["web"]["command"]
    conf = (ROOT / "gunicorn.conf.py").read_text()
    assert "def child_exit" in conf and "mark_process_dead" in conf and "def on_starting" in conf
