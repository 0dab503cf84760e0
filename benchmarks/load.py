"""TARGETS P3: over loopback, gunicorn with 2×cores+1 workers, 8 clients for
30 s on the filtered finding and task lists: ≥ 250 req/s, p95 ≤ 60 ms, 0
errors on a quiet machine; in any run ≥ 40 % of the same stack's ceiling
(``/healthz``: no session, no ORM) measured in the same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/civportal_bench \
        .venv/bin/python benchmarks/load.py [--seconds 30] [--clients 8] [--cache on|off|both] [--port 8765]

Starts gunicorn on 127.0.0.1 only (production settings apart from HTTPS) with
2×cores+1 workers, logs a district handler in (a session, as the browser
would have), and runs three phases of ``--clients`` threads with their own
connections, each for ``--seconds`` (the search for ``--search-seconds``), after ``--warmup`` seconds
of the same requests that are not counted (each worker's first requests compile and cache what later ones
reuse, and each database backend loads its catalog entries):

  ceiling  ``/healthz`` without a session: the stack's own cost (gunicorn,
           middleware, one ``SELECT 1``, the cache and broker probes);
  lists    the filtered finding and task lists of the API, alternating;
  search   ``/api/v1/findings/?q=…`` (one finding in twenty matches).

Each phase reports requests, req/s, req/s per worker (for sizing: workers ×
this is what a node serves), median, p95 and errors, and the CPU each request
cost the server side: gunicorn's processes plus the PostgreSQL backends of its
connections (``application_name``), read from /proc before and after the phase
(Redis and the load's own client threads are not counted). On a machine shared
with other work the req/s of each phase follow the neighbours' load, which
changes between phases; the CPU per request does not, so ``cpu share`` (the
ceiling's CPU per request over the phase's) is the steadier estimate of the
ratio a quiet machine would show (an estimate: the bars are the req/s ones). ``--cache`` runs it all
with the list response cache off (``LIST_CACHE_SECONDS=0`` in gunicorn's
environment), on (``--cache-seconds``), or both, one server each, and reports
each separately.

A list phase passes when (quiet machine) ≥ 250 req/s, p95 ≤ 60 ms and 0
errors, or (loaded machine) its req/s ≥ 40 % of the ceiling's in the same
server run with 0 errors; the search passes when its p95 ≤ 50 ms, or on a
loaded machine by the same 40 % rule, with 0 errors. The last line is ``P3
met|not met: …`` (every mode run must pass); the exit status is 0 only when
met. Nothing leaves the machine; gunicorn is stopped whatever happens.
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "civportal.settings")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "127.0.0.1,testserver")
# The session is signed here and read by gunicorn: both use this key.
os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark-only-" + "k7Qz" * 15)

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.test import Client  # noqa: E402

from campaigns.models import Membership, Unit, User  # noqa: E402
from inspections.models import Finding  # noqa: E402

RATE_BAR, P95_BAR, SEARCH_P95_BAR, CEILING_SHARE = 250.0, 60.0, 50.0, 0.40
SEARCH = "井盖缺失"  # one finding in twenty (benchmarks/seed_bench.py PROBLEMS)


def default_lists(district: str) -> list[str]:
    """The filtered lists of benchmarks/lists.py: open findings of one category, overdue tasks."""
    unit = Unit.objects.get(code=district)
    finding = Finding.objects.filter(unit_path__startswith=unit.path, status="dispatched").order_by("-id").first()
    if finding is None:
        raise SystemExit(f"no open finding in {district}: seed a bench database first (benchmarks/seed_bench.py)")
    return [f"/api/v1/findings/?status=dispatched&category={finding.category_id}&limit=50",
            "/api/v1/tasks/?overdue=true&limit=50"]


def session_cookie(district: str) -> str:
    unit = Unit.objects.get(code=district)
    user, _ = User.objects.get_or_create(username="bench_handler", defaults={"display_name": "基准经办人"})
    Membership.objects.get_or_create(user=user, unit=unit, role=Membership.Role.HANDLER, active=True)
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def workers() -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return 2 * cores + 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status in (200, 503):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not start")


TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")


def _ticks(pid: int) -> tuple[int, int] | None:
    """(process group, utime + stime in clock ticks) of ``pid``, None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[2]), int(fields[11]) + int(fields[12])


def cpu_snapshot(server_pgid: int, app_name: str) -> dict[int, int]:
    """CPU ticks so far of gunicorn's processes (its process group) and of the database
    backends serving its connections."""
    from django.db import connection

    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            got = _ticks(int(entry))
            if got is not None and got[0] == server_pgid:
                pids.append(int(entry))
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s", [app_name])
        backends = [row[0] for row in cursor.fetchall()]
    snapshot = {}
    for pid in pids + backends:
        got = _ticks(pid)
        if got is not None:
            snapshot[pid] = got[1]
    snapshot["backends"] = set(backends)
    return snapshot


def cpu_used(before: dict, after: dict) -> tuple[float, float]:
    """(milliseconds of CPU of the web processes, of the database backends) between two snapshots."""
    web = db = 0.0
    for pid, ticks in after.items():
        if pid == "backends":
            continue
        spent = (ticks - before.get(pid, 0)) * TICK_MS
        if pid in after["backends"]:
            db += spent
        else:
            web += spent
    return web, db


def get(conn: http.client.HTTPConnection, url: str, headers: dict, hits: list | None = None) -> int:
    conn.request("GET", url, headers=headers)
    response = conn.getresponse()
    response.read()
    if hits is not None and response.getheader("X-List-Cache") == "hit":
        hits.append(1)
    return response.status


def hammer(port: int, urls: list[str], headers: dict, clients: int, seconds: float) -> dict:
    """``clients`` threads, each with its own connection, requesting ``urls`` in turn for ``seconds``."""
    for url in urls:  # warm-up and a check: a phase whose URL does not answer 200 is not measured
        status = get(http.client.HTTPConnection("127.0.0.1", port, timeout=30), url, headers)
        if status != 200:
            raise SystemExit(f"{url} answered {status} before the run")
    samples: list[float] = []
    errors: list[str] = []
    hits: list[int] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        i, mine, bad, hit = n, [], [], []
        while time.monotonic() < stop_at:
            url = urls[i % len(urls)]
            i += 1
            t0 = time.perf_counter()
            try:
                status = get(conn, url, headers, hit)
                if status != 200:
                    bad.append(f"{url} → {status}")
            except (OSError, http.client.HTTPException) as exc:
                bad.append(f"{url} → {exc.__class__.__name__}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            mine.append((time.perf_counter() - t0) * 1000)
        with lock:
            samples.extend(mine)
            errors.extend(bad)
            hits.extend(hit)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    samples.sort()
    return {"requests": len(samples), "rate": len(samples) / elapsed, "elapsed": elapsed,
            "median": statistics.median(samples) if samples else float("nan"),
            "p95": samples[max(0, int(len(samples) * 0.95) - 1)] if samples else float("nan"),
            "errors": errors, "hits": len(hits)}


def serve_and_measure(args, cookie: str, cache_seconds: int) -> dict:
    n = workers()
    app_name = f"civportal-load-{args.port}"
    database_url = os.environ.get("DATABASE_URL", "")
    if database_url:  # name gunicorn's connections, to find their backends' CPU
        database_url += ("&" if "?" in database_url else "?") + f"application_name={app_name}"
    env = dict(os.environ, DJANGO_DEBUG="0", DATABASE_URL=database_url, SECURE_SSL_REDIRECT="0", SESSION_COOKIE_SECURE="0",
               LIST_CACHE_SECONDS=str(cache_seconds),
               # connections kept for the whole run: a backend that closes (DB_CONN_MAX_AGE's default is 60 s)
               # takes the CPU it spent in the phase out of /proc before the phase's second snapshot
               DB_CONN_MAX_AGE=os.environ.get("BENCH_DB_CONN_MAX_AGE", "3600"),
               # the load is one user's session: lift the per-client API budget (docs/integrating.md) so that
               # the run measures the stack, not the throttle's 429s
               API_RATE_PER_MINUTE=os.environ.get("BENCH_API_RATE_PER_MINUTE", "10000000"))
    if cache_seconds and hasattr(settings, "LIST_CACHE_SECONDS"):
        from civportal import listcache

        listcache.bump()  # start cold: nothing from an earlier run (or from before a COPY seeding) is served
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "civportal.wsgi", "-b", f"127.0.0.1:{args.port}", "-w", str(n),
         "--log-level", "warning"], cwd=ROOT, env=env, start_new_session=True)
    session = {"Cookie": f"sessionid={cookie}", "Host": "127.0.0.1"}
    try:
        wait_until_up(args.port, time.monotonic() + 120)  # a loaded machine imports slowly

        def phase(urls, headers, seconds):
            # Untimed first: each worker's first requests of a route compile its statements and fill the
            # per-process memos, and each PostgreSQL backend loads the catalog entries of the route's tables
            # and indexes; a short phase (the search's) would count that start as the route's steady cost.
            hammer(args.port, urls, headers, args.clients, args.warmup)
            before = cpu_snapshot(server.pid, app_name)
            result = hammer(args.port, urls, headers, args.clients, seconds)
            web, db = cpu_used(before, cpu_snapshot(server.pid, app_name))
            result["cpu_web"], result["cpu_db"] = (x / max(result["requests"], 1) for x in (web, db))
            result["cpu"] = result["cpu_web"] + result["cpu_db"]
            return result

        ceiling = phase(["/healthz"], {"Host": "127.0.0.1"}, args.seconds)
        lists = phase(args.url, session, args.seconds)
        search = phase([f"/api/v1/findings/?q={quote(SEARCH)}&limit=50"], session, args.search_seconds)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
    for phase in (ceiling, lists, search):
        phase["per_worker"] = phase["rate"] / n
        phase["share"] = phase["rate"] / ceiling["rate"] if ceiling["rate"] else 0.0
        phase["cpu_share"] = ceiling["cpu"] / phase["cpu"] if phase["cpu"] else 0.0
    lists["quiet"] = lists["rate"] >= RATE_BAR and lists["p95"] <= P95_BAR and not lists["errors"]
    lists["loaded"] = lists["share"] >= CEILING_SHARE and not lists["errors"]
    search["quiet"] = search["p95"] <= SEARCH_P95_BAR and not search["errors"]
    search["loaded"] = search["share"] >= CEILING_SHARE and not search["errors"]
    return {"workers": n, "ceiling": ceiling, "lists": lists, "search": search}


def report(label: str, phase: dict) -> None:
    share = "" if label == "ceiling" else (f", {phase['share'] * 100:3.0f} % of the ceiling, "
                                           f"{phase['hits'] * 100 / max(phase['requests'], 1):3.0f} % from the list cache")
    print(f"  {label:8} {phase['requests']:6} requests, {phase['rate']:6.1f} req/s ({phase['per_worker']:5.1f} per "
          f"worker), median {phase['median']:6.1f} ms, p95 {phase['p95']:6.1f} ms, {len(phase['errors'])} errors"
          f"{share}")
    print(f"  {'':8} cpu {phase['cpu']:5.2f} ms per request (web {phase['cpu_web']:5.2f}, database "
          f"{phase['cpu_db']:5.2f})" + ("" if label == "ceiling" else f", cpu share {phase['cpu_share'] * 100:3.0f} %"))
    for e in sorted(set(phase["errors"]))[:5]:
        print("    error:", e)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=30, help="seconds of the ceiling and of the lists")
    parser.add_argument("--search-seconds", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=3, help="untimed seconds of each phase's requests first")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--port", type=int, default=0, help="default: a free port on 127.0.0.1")
    parser.add_argument("--district", default="BM01")
    parser.add_argument("--cache", choices=["on", "off", "both"], default="both",
                        help="the list response cache (LIST_CACHE_SECONDS) in gunicorn: off, on, or one run each")
    parser.add_argument("--cache-seconds", type=int, default=60, help="LIST_CACHE_SECONDS when the cache is on")
    parser.add_argument("--url", action="append",
                        help="list path to request (repeatable); default: the filtered finding and task lists")
    args = parser.parse_args()
    args.port = args.port or free_port()
    cookie = session_cookie(args.district)
    args.url = args.url or default_lists(args.district)
    modes = {"off": [0], "on": [args.cache_seconds], "both": [0, args.cache_seconds]}[args.cache]
    if not hasattr(settings, "LIST_CACHE_SECONDS"):
        print("note: this code has no LIST_CACHE_SECONDS setting; the cache runs differ only in the variable")
    print(f"{workers()} gunicorn workers, {args.clients} clients, {args.seconds:g} s per phase "
          f"(search {args.search_seconds:g} s)")
    runs = []
    for cache_seconds in modes:
        label = f"cache {'on (' + str(cache_seconds) + ' s)' if cache_seconds else 'off'}"
        print(label)
        try:
            result = serve_and_measure(args, cookie, cache_seconds)
        except SystemExit as exc:  # gunicorn did not start, or a URL did not answer 200
            print(f"P3 not met: {label}: {exc}")
            sys.exit(1)
        for phase in ("ceiling", "lists", "search"):
            report(phase, result[phase])
        runs.append((label, result))
    parts, met = [], True
    for label, r in runs:
        lists, search = r["lists"], r["search"]
        ok = (lists["quiet"] or lists["loaded"]) and (search["quiet"] or search["loaded"])
        met = met and ok
        parts.append(
            f"{label}: lists {lists['rate']:.0f} req/s ({lists['per_worker']:.1f}/worker), p95 {lists['p95']:.0f} ms, "
            f"{len(lists['errors'])} errors, {lists['share'] * 100:.0f} % of the ceiling {r['ceiling']['rate']:.0f} "
            f"req/s (cpu share {lists['cpu_share'] * 100:.0f} %); search p95 {search['p95']:.0f} ms "
            f"({search['share'] * 100:.0f} %, cpu share {search['cpu_share'] * 100:.0f} %)")
    print(f"P3 {'met' if met else 'not met'}: " + "; ".join(parts)
          + f" (bars: ≥ {RATE_BAR:.0f} req/s, p95 ≤ {P95_BAR:.0f} ms, search p95 ≤ {SEARCH_P95_BAR:.0f} ms, "
            f"or ≥ {CEILING_SHARE * 100:.0f} % of the ceiling; 0 errors)")
    sys.exit(0 if met else 1)


if __name__ == "__main__":
    main()
