"""Read replicas with a real streaming replica, bounded (~1-2 minutes).

The local PostgreSQL's pg_hba.conf allows no replication connections, so the
test runs its own small primary (port REPLICA_TEST_PORT + 1) and a streaming
standby made from it with ``pg_basebackup -R`` (port REPLICA_TEST_PORT), both
from the server binaries in /usr/lib/postgresql/*/bin as the postgres OS user,
with the schema of the test database. A gunicorn process serves the portal
with DATABASE_REPLICA_URLS set and the test shows: reads on the replica,
writes on the primary, read-your-writes for the writer, fallback to the
primary when the replica is stopped."""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

from tests.ports import worker_port

PORT = worker_port(int(os.environ.get("REPLICA_TEST_PORT", "18510")))
PRIMARY_PORT = PORT + 1
WEB_PORT = PORT + 2
DB = "civrep"


def pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        pytest.fail(f"PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/{name})")
    return found[-1]


def as_postgres(*args, check=True, timeout=120, **kwargs):
    command = list(args)
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    return subprocess.run(command, check=check, timeout=timeout, capture_output=True, text=True, **kwargs)


def psql(port: int, sql: str, db: str = DB) -> str:
    return subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", db, "-tAqc", sql],
                          check=True, capture_output=True, text=True, timeout=30).stdout.strip()


@pytest.fixture
def cluster(django_db_setup, django_db_blocker):
    root = Path(tempfile.mkdtemp(prefix="civrep-"))  # not under pytest's root-only folders
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    primary, replica = root / "primary", root / "replica"
    as_postgres(pg_bin("initdb"), "-D", str(primary), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                "--locale=C.UTF-8")
    with (primary / "postgresql.conf").open("a") as conf:
        conf.write(f"port = {PRIMARY_PORT}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{root}'\n"
                   "wal_level = replica\nmax_wal_senders = 4\nfsync = off\nshared_buffers = 32MB\n")
    with (primary / "pg_hba.conf").open("a") as hba:
        hba.write("host replication postgres 127.0.0.1/32 trust\n")
    started = []
    try:
        as_postgres(pg_bin("pg_ctl"), "-D", str(primary), "-l", str(root / "primary.log"), "-w", "start")
        started.append(primary)
        # The schema of the test database (pytest-django migrated it) into the small primary.
        name = connection.settings_dict["NAME"]
        if not name.startswith("test_"):
            name = connection.settings_dict.get("TEST", {}).get("NAME") or f"test_{name}"
        schema = subprocess.run(["pg_dump", "-h", "127.0.0.1", "-U", "postgres", "--schema-only", "--no-owner", name],
                                check=True, capture_output=True, text=True, timeout=120).stdout
        data = subprocess.run(["pg_dump", "-h", "127.0.0.1", "-U", "postgres", "--data-only", "--no-owner",
                               "-t", "django_content_type", "-t", "auth_permission", "-t", "django_migrations",
                               name], check=True, capture_output=True, text=True, timeout=120).stdout
        psql(PRIMARY_PORT, f"CREATE DATABASE {DB}", db="postgres")
        subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(PRIMARY_PORT), "-U", "postgres", "-d", DB, "-q",
                        "-v", "ON_ERROR_STOP=1"], input=schema + data, check=True, capture_output=True, text=True,
                       timeout=120)
        as_postgres(pg_bin("pg_basebackup"), "-h", "127.0.0.1", "-p", str(PRIMARY_PORT), "-U", "postgres",
                    "-D", str(replica), "-R", "-X", "stream", "--checkpoint=fast")
        with (replica / "postgresql.conf").open("a") as conf:
            conf.write(f"port = {PORT}\nhot_standby = on\n")
        as_postgres(pg_bin("pg_ctl"), "-D", str(replica), "-l", str(root / "replica.log"), "-w", "start")
        started.append(replica)
        assert psql(PORT, "SELECT pg_is_in_recovery()") == "t"
        yield {"primary": primary, "replica": replica, "root": root}
    finally:
        for data_dir in reversed(started):
            as_postgres(pg_bin("pg_ctl"), "-D", str(data_dir), "-m", "immediate", "stop", check=False)
        shutil.rmtree(root, ignore_errors=True)


def request(method: str, path: str, token: str, cookie: str = "", body: dict | None = None):
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    if cookie:
        headers["Cookie"] = cookie
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"http://127.0.0.1:{WEB_PORT}{path}", data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=15) as response:
            return response.status, response.headers, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()[:500]


def test_reads_on_replica_writes_on_primary_read_your_writes_and_fallback(cluster, project_root, tmp_path):
    primary_url = f"postgres://postgres@127.0.0.1:{PRIMARY_PORT}/{DB}"
    env = {**os.environ, "DATABASE_URL": primary_url, "DATABASE_REPLICA_URLS": f"postgres://postgres@127.0.0.1:{PORT}/{DB}",
           "REPLICA_MAX_LAG_SECONDS": "600", "REPLICA_CHECK_SECONDS": "0", "REPLICA_PIN_SECONDS": "30",
           "CACHE_URL": "locmem://", "CELERY_BROKER_URL": "filesystem://", "CIVPORTAL_VAR_DIR": str(tmp_path)}
    setup = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c",
         "from rest_framework.authtoken.models import Token; from tests.factories import UserFactory, make_unit;"
         "u = UserFactory(username='rep-admin', is_superuser=True, is_staff=True);"
         "unit = make_unit(kind='city', name='旧名', code='REP');"
         "print(Token.objects.create(user=u).key, unit.pk)"],
        cwd=project_root, env=env, capture_output=True, text=True, timeout=180)
    assert setup.returncode == 0, setup.stderr[-2000:]
    token, unit_pk = setup.stdout.split()[-2:]
    web = subprocess.Popen([sys.executable, "-m", "gunicorn", "civportal.wsgi", "--bind", f"127.0.0.1:{WEB_PORT}",
                            "--workers", "1"], cwd=project_root, env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{WEB_PORT}/healthz", timeout=3)
                break
            except urllib.error.HTTPError:
                break
            except OSError:
                assert web.poll() is None, web.stderr.read().decode(errors="replace")[-2000:]
                assert time.monotonic() < deadline, "gunicorn did not come up"
                time.sleep(0.5)
        # Wait for the setup rows to be replayed, then freeze the replica where it is.
        for _ in range(100):
            if psql(PORT, f"SELECT count(*) FROM campaigns_unit WHERE id = {unit_pk}") == "1":
                break
            time.sleep(0.1)
        psql(PORT, "SELECT pg_wal_replay_pause()")

        detail = f"/api/v1/units/{unit_pk}/"
        status, headers, body = request("GET", detail, token)
        assert status == 200 and headers["X-Served-By-Database"] == "replica" and body["name"] == "旧名"

        status, headers, body = request("PATCH", detail, token, body={"name": "新名"})
        assert status == 200, body
        assert headers["X-Served-By-Database"] == "primary"
        assert psql(PRIMARY_PORT, f"SELECT name FROM campaigns_unit WHERE id = {unit_pk}") == "新名"
        assert psql(PORT, f"SELECT name FROM campaigns_unit WHERE id = {unit_pk}") == "旧名"  # replica frozen
        pin = headers["Set-Cookie"].split(";")[0]
        assert pin.startswith("civportal_primary=")

        # The writer reads their write (pinned to the primary); anybody else reads the replica.
        status, headers, body = request("GET", detail, token, cookie=pin)
        assert (status, headers["X-Served-By-Database"], body["name"]) == (200, "primary", "新名")
        status, headers, body = request("GET", detail, token)
        assert (status, headers["X-Served-By-Database"], body["name"]) == (200, "replica", "旧名")

        health = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{WEB_PORT}/healthz", timeout=10).read())
        assert health["replicas"]["replica1"]["lag_seconds"] >= 0

        # Replica down: reads fall back to the primary, nothing fails.
        as_postgres(pg_bin("pg_ctl"), "-D", str(cluster["replica"]), "-m", "immediate", "stop")
        status, headers, body = request("GET", detail, token)
        assert (status, headers["X-Served-By-Database"], body["name"]) == (200, "primary", "新名")
        health = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{WEB_PORT}/healthz", timeout=10).read())
        assert health["replicas"]["replica1"] == "down" and health["database"] == "ok"
    finally:
        web.terminate()
        try:
            web.wait(timeout=15)
        except subprocess.TimeoutExpired:
            web.kill()
