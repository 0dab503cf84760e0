"""Workers and the web stay up when the broker misbehaves (issue 14,
acceptance 4): /healthz answers within 2.5 s with a hung broker (a
SIGSTOP'd redis-server on a spare port: it still accepts TCP connections but
never answers), the first publish from a web process gives up within that
bound too, and under bin/run a worker that exits is started again."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.ports import worker_port

PORT = worker_port(int(os.environ.get("HUNG_REDIS_PORT", "18311")))
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def hung_redis(tmp_path):
    server = shutil.which("redis-server")
    if server is None:
        pytest.fail("redis-server is needed for this test (apt-get install redis-server)")
    proc = subprocess.Popen([server, "--port", str(PORT), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", PORT), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("redis-server did not start")
    proc.send_signal(signal.SIGSTOP)
    try:
        yield f"redis://127.0.0.1:{PORT}/0"
    finally:
        proc.send_signal(signal.SIGCONT)
        proc.terminate()
        proc.wait(10)


def test_healthz_answers_within_2_5_s_with_a_hung_broker(hung_redis, client, settings, db):
    client.get("/favicon.ico")  # a first request loads the URL conf and views: not part of the bound
    settings.CELERY_BROKER_URL = hung_redis
    started = time.monotonic()
    response = client.get("/healthz")
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert response.json()["broker"].startswith("error"), response.json()
    assert elapsed < 2.5, elapsed


def test_first_publish_to_a_hung_broker_gives_up_within_the_bound(hung_redis):
    # In a fresh process, as the first publish of a web process would be (and without touching this
    # process's Celery connection pools, which the other tests use).
    code = (
        "import os, time, django; django.setup()\n"
        "from civportal.tasks import heartbeat\n"
        "from notifications import queueing\n"
        "t = time.monotonic(); ok = queueing.publish(heartbeat); print(ok, time.monotonic() - t)\n"
    )
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="civportal.settings", CELERY_BROKER_URL=hung_redis)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    ok, elapsed = out.stdout.split()[-2:]
    assert ok == "False", out.stdout + out.stderr[-2000:]
    assert float(elapsed) < 5, elapsed  # was 5 s per attempt with one retry before


def test_keep_running_restarts_a_process_that_exits_and_stops_on_sigterm(tmp_path):
    counter = tmp_path / "starts"
    script = f"echo start >> {counter}; exit 3"
    proc = subprocess.Popen([str(ROOT / "bin" / "keep-running"), "demo", "bash", "-c", script],
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (not counter.exists() or counter.read_text().count("start") < 2):
            time.sleep(0.1)
        assert counter.read_text().count("start") >= 2  # exited with 3, was started again
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
    assert proc.returncode == 0
    assert "demo exited with status 3; restarting it in 2 s" in proc.stderr.read()


def test_keep_running_passes_sigterm_to_a_long_running_process(tmp_path):
    marker = tmp_path / "stopped"
    script = f"trap 'echo bye > {marker}; exit 0' TERM; while :; do sleep 0.1; done"
    proc = subprocess.Popen([str(ROOT / "bin" / "keep-running"), "demo", "bash", "-c", script],
                            start_new_session=True)
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(10) == 0
    assert marker.read_text().strip() == "bye"


def test_compose_restarts_web_worker_and_beat():
    text = (ROOT / "docker-compose.yml").read_text()
    for service in ("web", "worker", "beat"):
        block = text.split(f"\n  {service}:\n", 1)[1].split("\n\n", 1)[0]
        assert "restart: unless-stopped" in block, service
    procfile = (ROOT / "Procfile").read_text()
    assert "worker: bin/keep-running worker " in procfile and "beat: bin/keep-running beat " in procfile
