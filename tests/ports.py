"""Fixed ports of the tests that start servers, one set per test process.

``bin/test`` runs the whole suite on both cores with pytest-xdist: each worker process has its own test
database (pytest-django adds ``_gw<n>`` to the name) and its own Redis database for the Celery broker
(``bin/test`` starts each worker with its own ``CELERY_BROKER_URL``), and here its own ports, so that two
files that start a server on the same port never meet. Without xdist nothing changes."""

from __future__ import annotations

import os

WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
INDEX = int(WORKER[2:]) if WORKER.startswith("gw") and WORKER[2:].isdigit() else 0


def worker_port(base: int) -> int:
    """``base`` in the first (or only) process, ``base + 100 × n`` in worker ``gw<n>``."""
    return base + 100 * INDEX
