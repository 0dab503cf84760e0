"""A real Celery worker process on the configured broker (Redis under bin/test)."""

import os
import subprocess
import sys
import time
import uuid

import pytest
from django.conf import settings

pytestmark = pytest.mark.worker


def test_real_worker_runs_a_task_sent_through_the_broker(project_root):
    queue = f"test-{uuid.uuid4().hex[:8]}"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "civportal", "worker", "--pool", "solo", "-Q", queue,
         "--without-gossip", "--without-mingle", "--loglevel", "INFO", "-n", f"{queue}@%h"],
        cwd=project_root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        from civportal.tasks import heartbeat

        heartbeat.apply_async(queue=queue)
        deadline = time.monotonic() + 60
        lines = []
        while time.monotonic() < deadline:
            line = worker.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "civportal.heartbeat" in line and "succeeded" in line:
                break
        else:
            pytest.fail("worker did not run the task in 60 s:\n" + "".join(lines[-30:]))
        assert any("succeeded" in line for line in lines), "".join(lines[-30:])
        assert settings.CELERY_BROKER_URL.split("://")[0] in "".join(lines)
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
