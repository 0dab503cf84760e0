"""Production settings for the in-process benchmarks (``lists.py``, ``dashboards.py``).

``DJANGO_DEBUG`` defaults to on (the run command and the tests); a benchmark must measure what production
runs: no query log wrapped around every cursor, the hashed static storage, the response cache off so that
the request's real work is timed (``load.py`` measures the cache separately). Import this module before
``django.setup()``; call ``ensure_static()`` after it: the manifest storage needs ``collectstatic``, done
here into ``var/bench-static`` when missing or older than any source file (≈ 20 s, once).
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "civportal.settings")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
os.environ.setdefault("DJANGO_DEBUG", "0")
os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark-only-" + "k7Qz" * 15)
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("SESSION_COOKIE_SECURE", "0")
os.environ.setdefault("LIST_CACHE_SECONDS", "0")
os.environ.setdefault("API_RATE_PER_MINUTE", "1000000")  # the throttle still runs, it just never refuses
os.environ.setdefault("STATIC_ROOT", str(ROOT / "var" / "bench-static"))


def ensure_static() -> None:
    """Collect the static files for the manifest storage when the manifest is missing or stale."""
    from django.conf import settings
    from django.contrib.staticfiles import finders
    from django.core.management import call_command

    if settings.DEBUG:
        return
    manifest = Path(settings.STATIC_ROOT) / "staticfiles.json"
    if manifest.exists():
        built = manifest.stat().st_mtime
        newest = max((storage.path(path) for finder in finders.get_finders()
                      for path, storage in finder.list(["CVS", ".*", "*~"])),
                     key=lambda p: os.stat(p).st_mtime, default=None)
        if newest is None or os.stat(newest).st_mtime <= built:
            return
    print("collecting static files for the production storage …", flush=True)
    call_command("collectstatic", interactive=False, verbosity=0)
