"""TARGETS P3: over loopback, gunicorn with 2×cores+1 workers, 8 clients for
30 s on a filtered list: ≥ 250 req/s, p95 ≤ 60 ms, 0 errors.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/civportal_bench \
        .venv/bin/python benchmarks/load.py [--seconds 30] [--clients 8] [--port 8765]

Starts gunicorn on 127.0.0.1 only (production settings apart from HTTPS),
logs a district handler in (a session row in the database, as the browser
would have), then runs the clients as threads with keep-alive connections
against the list URLs below, and stops everything. Nothing leaves the
machine.

``--list-cache on|off|both`` (default both): run with the response cache of
the lists (LIST_CACHE_SECONDS, docs/performance.md) on, off, or one after the
other, each for ``--seconds``, and report each run on its own line with the
share of answers served from the cache. The cache needs a shared backend:
CACHE_URL or a Redis CELERY_BROKER_URL (else the database cache is used).
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "civportal.settings")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "127.0.0.1,testserver")
# The session is signed here and read by gunicorn: both use this key.
os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark-only-" + "k7Qz" * 15)

import django  # noqa: E402

django.setup()

from django.test import Client  # noqa: E402

from campaigns.models import Membership, Unit, User  # noqa: E402


def session_cookie(district: str) -> str:
    unit = Unit.objects.get(code=district)
    user, _ = User.objects.get_or_create(username="bench_handler", defaults={"display_name": "基准经办人"})
    Membership.objects.get_or_create(user=user, unit=unit, role=Membership.Role.HANDLER, active=True)
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def wait_until_up(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/healthz")
            if conn.getresponse().status in (200, 503):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not start")


def run(args, urls: list[str], cookie: str, cache_seconds: int) -> dict:
    """One gunicorn run of ``args.seconds`` with the list cache at ``cache_seconds`` (0 = off)."""
    workers = 2 * (os.cpu_count() or 1) + 1
    env = dict(os.environ, DJANGO_DEBUG="0", SECURE_SSL_REDIRECT="0", SESSION_COOKIE_SECURE="0",
               LIST_CACHE_SECONDS=str(cache_seconds))
    if cache_seconds:
        from civportal import listcache

        listcache.bump()  # start cold: nothing from an earlier run (or from before a COPY seeding) is served
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "civportal.wsgi", "-b", f"127.0.0.1:{args.port}", "-w", str(workers),
         "--log-level", "warning"], cwd=ROOT, env=env, start_new_session=True)
    try:
        wait_until_up(args.port, time.monotonic() + 120)  # a loaded machine imports slowly
        samples: list[float] = []
        errors: list[str] = []
        hits = [0]
        lock = threading.Lock()
        stop_at = time.monotonic() + args.seconds

        def client(n: int) -> None:
            conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=10)
            i = n
            mine, bad, hit = [], [], 0
            while time.monotonic() < stop_at:
                url = urls[i % len(urls)]
                i += 1
                t0 = time.perf_counter()
                try:
                    conn.request("GET", url, headers={"Cookie": cookie, "Host": "127.0.0.1"})
                    response = conn.getresponse()
                    response.read()
                    if response.status != 200:
                        bad.append(f"{url} → {response.status}")
                    hit += response.getheader("X-List-Cache") == "hit"
                except (OSError, http.client.HTTPException) as exc:
                    bad.append(f"{url} → {exc.__class__.__name__}")
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=10)
                mine.append((time.perf_counter() - t0) * 1000)
            with lock:
                samples.extend(mine)
                errors.extend(bad)
                hits[0] += hit

        threads = [threading.Thread(target=client, args=(n,)) for n in range(args.clients)]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    samples.sort()
    return {"workers": workers, "elapsed": elapsed, "n": len(samples), "rate": len(samples) / elapsed,
            "median": statistics.median(samples) if samples else float("nan"),
            "p95": samples[int(len(samples) * 0.95) - 1] if samples else float("nan"),
            "errors": errors, "hits": hits[0]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--district", default="BM01")
    parser.add_argument("--url", action="append",
                        help="path to request (repeatable); default: the filtered finding and task lists of the API")
    parser.add_argument("--list-cache", choices=["on", "off", "both"], default="both",
                        help="the lists' response cache: off, on (LIST_CACHE_SECONDS=60), or both runs in turn")
    args = parser.parse_args()
    urls = args.url or ["/api/v1/findings/?status=dispatched&page_size=50", "/api/v1/tasks/?overdue=true&page_size=50"]
    cookie = f"sessionid={session_cookie(args.district)}"
    modes = {"off": [0], "on": [60], "both": [0, 60]}[args.list_cache]
    verdicts = []
    for cache_seconds in modes:
        r = run(args, urls, cookie, cache_seconds)
        label = f"list cache {'on' if cache_seconds else 'off'}"
        print(f"{label}: {r['workers']} gunicorn workers, {args.clients} clients, {r['elapsed']:.1f} s: "
              f"{r['n']} requests, {r['rate']:.0f} req/s ({r['rate'] / r['workers']:.0f} per worker), "
              f"median {r['median']:.1f} ms, p95 {r['p95']:.1f} ms, {len(r['errors'])} errors, "
              f"{r['hits']} answers from the cache ({100 * r['hits'] / max(r['n'], 1):.0f} %)")
        for e in sorted(set(r["errors"]))[:10]:
            print("  error:", e)
        verdicts.append((label, r["rate"] >= 250 and r["p95"] <= 60 and not r["errors"]))
    ok = all(met for _label, met in verdicts)
    detail = ", ".join(f"{label} {'met' if met else 'not met'}" for label, met in verdicts)
    print("P3:", f"met ({detail})" if ok else f"not met ({detail}; bar: ≥ 250 req/s, p95 ≤ 60 ms, 0 errors)")


if __name__ == "__main__":
    main()
