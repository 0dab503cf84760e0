"""/metrics (Prometheus) for the monitoring system only, request ids on
responses and log lines, JSON logs in production, /healthz reporting the
object store and the cache."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys

import pytest
from django.test import RequestFactory

from civportal import observability

OUTSIDE = "203.0.113.5"


def test_metrics_are_refused_to_anonymous_callers_from_other_hosts(client, db):
    assert client.get("/metrics", REMOTE_ADDR=OUTSIDE).status_code == 403
    # Through the proxy (a forwarded address) is never "local", even from loopback.
    assert client.get("/metrics", HTTP_X_FORWARDED_FOR=OUTSIDE).status_code == 403


def test_metrics_for_loopback_token_and_staff_not_for_other_users(client, db, settings, personas):
    settings.METRICS_TOKEN = "s3cret-metrics-token-for-tests"
    assert client.get("/metrics").status_code == 200  # the test client calls from 127.0.0.1
    assert client.get("/metrics", REMOTE_ADDR=OUTSIDE,
                      HTTP_AUTHORIZATION="Bearer s3cret-metrics-token-for-tests").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR=OUTSIDE, HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    client.force_login(personas.supervisor)
    assert client.get("/metrics", REMOTE_ADDR=OUTSIDE).status_code == 403  # a supervisor is not operations staff
    personas.supervisor.is_staff = True
    personas.supervisor.save(update_fields=["is_staff"])
    assert client.get("/metrics", REMOTE_ADDR=OUTSIDE).status_code == 200


def test_metrics_expose_request_latency_by_route_and_celery_tasks(client, db):
    from civportal.tasks import heartbeat

    client.get("/healthz")
    heartbeat.apply()  # runs the task in-process: prerun/postrun signals fire as in a worker
    body = client.get("/metrics").content.decode()
    assert 'civportal_http_request_duration_seconds_count{method="GET",route="healthz",status="2xx"}' in body
    assert 'civportal_celery_tasks_total{outcome="success",task="civportal.heartbeat"}' in body
    assert 'civportal_celery_task_duration_seconds_count{task="civportal.heartbeat"}' in body
    assert "civportal_reminder_scan_lag_seconds" in body and "civportal_celery_queue_depth" in body


def test_reminder_scan_lag_is_measured_from_the_last_successful_scan(client, db):
    from django.core.cache import cache

    cache.delete(observability.REMINDER_SCAN_KEY)
    assert "civportal_reminder_scan_lag_seconds -1.0" in client.get("/metrics").content.decode()
    observability.on_task_postrun(task_id="t1", task=type("T", (), {"name": "inspections.scan_task_reminders"}),
                                  state="SUCCESS")
    line = next(l for l in client.get("/metrics").content.decode().splitlines()
                if l.startswith("civportal_reminder_scan_lag_seconds "))
    assert 0 <= float(line.split()[1]) < 5


def test_request_id_is_made_or_propagated_and_returned(client, db):
    made = client.get("/healthz")["X-Request-ID"]
    assert len(made) == 32
    assert client.get("/healthz", HTTP_X_REQUEST_ID="proxy-abc-123456")["X-Request-ID"] == "proxy-abc-123456"
    assert client.get("/healthz", HTTP_X_REQUEST_ID="<script>")["X-Request-ID"] != "<script>"


def test_log_lines_of_a_request_carry_its_id_as_json():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(observability.JsonFormatter())
    handler.addFilter(observability.RequestIdFilter())
    log = logging.getLogger("civportal.test.json")
    log.addHandler(handler)
    log.setLevel(logging.INFO)

    def view(request):
        log.info("处理中 %s", "ok")
        from django.http import HttpResponse
        return HttpResponse("ok")

    try:
        response = observability.RequestObservabilityMiddleware(view)(
            RequestFactory().get("/x", HTTP_X_REQUEST_ID="req-0123456789"))
    finally:
        log.removeHandler(handler)
    line = json.loads(stream.getvalue().strip())
    assert line["message"] == "处理中 ok" and line["request_id"] == "req-0123456789" == response["X-Request-ID"]
    assert line["level"] == "INFO" and line["logger"] == "civportal.test.json" and "ts" in line


def test_production_mode_logs_json_lines(project_root):
    env = {**os.environ, "DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": "x" * 60, "LOG_FORMAT": ""}
    env.pop("LOG_FORMAT")
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", "import logging; logging.getLogger('civportal.x').warning('hi')"],
        cwd=project_root, env=env, capture_output=True, text=True, timeout=120,
    )
    lines = [l for l in out.stderr.splitlines() if l.startswith("{")]
    assert lines, out.stderr[-2000:]
    assert json.loads(lines[-1])["message"] == "hi" and json.loads(lines[-1])["request_id"] == "-"


def test_healthz_reports_object_store_and_cache(client, db, tmp_path, settings):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    body = client.get("/healthz").json()
    assert body["storage"] == "ok" and body["cache"] == "ok"
    assert "replicas" not in body  # none configured


@pytest.mark.parametrize("broken", ["cache"])
def test_healthz_reports_a_broken_cache_without_failing(client, db, settings, broken):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:1/0",
                                   "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}}}
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json()["cache"].startswith("error")


@pytest.mark.django_db(transaction=True)
def test_metrics_add_up_the_counters_of_every_gunicorn_worker(tmp_path, project_root):
    """Multiprocess mode with the project's gunicorn.conf.py: two worker processes
    answer requests, /metrics (whichever worker serves it) counts them all; stale
    files from an earlier run are cleared at start; a worker killed and replaced
    keeps its counts."""
    import signal
    import time
    import urllib.request
    from concurrent.futures import ThreadPoolExecutor

    from tests.civportal.test_shared_cache import database_url, get_health

    from tests.ports import worker_port

    port = worker_port(int(os.environ.get("CIVPORTAL_TEST_GUNICORN_PORT", "18530"))) + 7
    folder = tmp_path / "metrics"
    folder.mkdir()
    (folder / "counter_1.db").write_bytes(b"stale junk from an earlier run")  # would break the scrape
    env = {**os.environ, "DATABASE_URL": database_url(), "PROMETHEUS_MULTIPROC_DIR": str(folder),
           "CIVPORTAL_VAR_DIR": str(tmp_path), "CELERY_BROKER_URL": "filesystem://", "CACHE_URL": "locmem://"}
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "civportal.wsgi", "--bind", f"127.0.0.1:{port}",
                               "--workers", "2", "--graceful-timeout", "2"], cwd=project_root, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)

    def scrape() -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
            return response.read().decode()

    def healthz_count(body: str) -> float:
        prefix = 'civportal_http_request_duration_seconds_count{method="GET",route="healthz",status="2xx"}'
        return sum(float(l.split()[-1]) for l in body.splitlines() if l.startswith(prefix))

    try:
        deadline = time.monotonic() + 60
        while get_health(port) != 200:
            assert server.poll() is None, server.stderr.read().decode(errors="replace")[-2000:]
            assert time.monotonic() < deadline, "gunicorn did not come up in 60 s"
            time.sleep(0.3)
        assert not (folder / "counter_1.db").exists()
        # The start-up polls: some may have timed out on our side and still be answered; wait until still.
        before, previous = healthz_count(scrape()), -1.0
        while before != previous:
            time.sleep(1)
            before, previous = healthz_count(scrape()), before
        with ThreadPoolExecutor(8) as pool:  # concurrent requests: both sync workers take some
            assert set(pool.map(get_health, [port] * 60)) == {200}
        pids = {int(p.stem.rsplit("_", 1)[1]) for p in folder.glob("histogram_*.db")}
        assert len(pids) == 2, pids
        assert healthz_count(scrape()) == before + 60
        os.kill(min(pids), signal.SIGKILL)  # gunicorn replaces it; its counts stay in the sum
        time.sleep(1.5)
        while get_health(port) != 200:
            time.sleep(0.2)
        assert healthz_count(scrape()) == before + 61
    finally:
        server.terminate()
        server.wait(timeout=15)
