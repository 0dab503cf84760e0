"""Own CPU time of each middleware (issue 13, the fixed cost of a request): every
middleware of settings.MIDDLEWARE is wrapped so that the time spent inside it minus
the time spent in the next one is its own cost; the view's own time is listed last.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/civportal_bench \
        .venv/bin/python benchmarks/middleware_cpu.py [--iterations 200] [--url /api/v1/points/]

A diagnostic next to request_cpu.py (same user: ``bench_handler`` of one district).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks import production  # noqa: E402

import django  # noqa: E402

django.setup()
production.ensure_static()

from django.core.handlers import base  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils.module_loading import import_string  # noqa: E402

from campaigns.models import Membership, Unit, User  # noqa: E402

SAMPLES: dict[str, list[float]] = {}
_stack: list[float] = []  # inner time accumulated per nesting level


def timed_factory(name, factory):
    def build(get_response):
        def inner(request):
            t0 = time.process_time()
            try:
                return get_response(request)
            finally:
                _stack[-1] += time.process_time() - t0

        mw = factory(inner)

        def outer(request):
            _stack.append(0.0)
            t0 = time.process_time()
            try:
                return mw(request)
            finally:
                total = time.process_time() - t0
                own = total - _stack.pop()
                SAMPLES.setdefault(name, []).append(own * 1000)
        return outer
    return build


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--district", default="BM01")
    parser.add_argument("--url", action="append")
    args = parser.parse_args()
    original = import_string

    def patched(path):
        obj = original(path)
        from django.conf import settings
        return timed_factory(path.rsplit(".", 1)[-1], obj) if path in settings.MIDDLEWARE else obj

    base.import_string = patched
    district = Unit.objects.get(code=args.district)
    user = User.objects.get(username="bench_handler")
    assert Membership.objects.filter(user=user, unit=district, active=True).exists()
    client = Client()
    client.force_login(user)
    from django.conf import settings
    for url in args.url or ["/api/v1/points/"]:
        for _ in range(5):
            assert client.get(url).status_code == 200
        SAMPLES.clear()
        totals = []
        for _ in range(args.iterations):
            c0 = time.process_time()
            client.get(url)
            totals.append((time.process_time() - c0) * 1000)
        print(f"{url}: request CPU median {statistics.median(totals):.2f} ms")
        names = [p.rsplit(".", 1)[-1] for p in settings.MIDDLEWARE]
        for name in names:
            s = SAMPLES.get(name, [])
            if s:
                print(f"  {name:36} {statistics.median(s):6.3f} ms  (mean {statistics.fmean(s):6.3f})")


if __name__ == "__main__":
    main()
