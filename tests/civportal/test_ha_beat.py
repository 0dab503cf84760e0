"""Two real beat processes on the Redis broker (celery-redbeat): exactly one
holds the lock and schedules; SIGKILL it and the other takes over within the
lock timeout plus one loop (docs/operations.md). Bounded: ~1-2 minutes."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid

import pytest

LOCK_TIMEOUT = 6
SCAN_SECONDS = 2
SEND = "Sending due task task-reminders"
STAMP = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})")


def start_beat(name: str, env: dict, root: str, logdir) -> tuple[subprocess.Popen, object]:
    log = logdir / f"{name}.log"
    handle = log.open("wb")
    process = subprocess.Popen([sys.executable, "-m", "celery", "-A", "civportal", "beat", "-l", "INFO",
                                "--pidfile="], cwd=root, env=env, stdout=handle, stderr=subprocess.STDOUT,
                               start_new_session=True)
    return process, log


def wait_for(log, text: str, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in log.read_text(errors="replace"):
            return time.monotonic()
        time.sleep(0.2)
    raise AssertionError(f"{log.name}: no {text!r} within {timeout} s:\n{log.read_text(errors='replace')[-3000:]}")


def sends(log) -> list[str]:
    return [STAMP.match(line).group(1) for line in log.read_text(errors="replace").splitlines()
            if SEND in line and STAMP.match(line)]


def test_two_beats_one_schedules_and_the_other_takes_over_when_it_dies(broker_url, project_root, tmp_path):
    if not broker_url.startswith("redis://"):
        pytest.fail("this test needs the Redis broker: run it with bin/test")
    prefix = f"beattest-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "CELERY_BROKER_URL": broker_url, "CACHE_KEY_PREFIX": prefix,
           "BEAT_LOCK_TIMEOUT": str(LOCK_TIMEOUT), "REMINDER_SCAN_SECONDS": str(SCAN_SECONDS),
           # Beat's messages go to a queue no worker of the suite reads; dropped at the end.
           "CELERY_QUEUE": prefix}
    a, a_log = start_beat("a", env, project_root, tmp_path)
    b = None
    try:
        wait_for(a_log, "beat: Acquired lock", 120)
        b, b_log = start_beat("b", env, project_root, tmp_path)
        wait_for(b_log, "beat: Starting", 120)
        time.sleep(3 * SCAN_SECONDS + 1)  # b is up and waiting for the lock; a keeps scheduling
        assert len(sends(a_log)) >= 2 and sends(b_log) == [], (a_log.read_text()[-2000:], b_log.read_text()[-2000:])
        assert "Acquired lock" not in b_log.read_text()

        killed_at = time.monotonic()
        os.killpg(a.pid, signal.SIGKILL)  # no clean release: the lock must expire
        a.wait(timeout=10)
        a_sent = len(sends(a_log))
        took_over = wait_for(b_log, SEND, LOCK_TIMEOUT + 4 * SCAN_SECONDS + 10)
        assert took_over - killed_at <= LOCK_TIMEOUT + 2 * max(1, LOCK_TIMEOUT // 5) + 8
        time.sleep(2 * SCAN_SECONDS)
        assert len(sends(a_log)) == a_sent and len(sends(b_log)) >= 2
        # Never both at once: every send of b comes after a's last one.
        assert max(sends(a_log)) < min(sends(b_log))
    finally:
        for process in (a, b):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        _drop_queue(broker_url, prefix)


def _drop_queue(broker_url: str, queue: str) -> None:
    import redis

    client = redis.Redis.from_url(broker_url)
    client.delete(queue)
    for key in client.scan_iter(f"redbeat:{queue}:*"):
        client.delete(key)
