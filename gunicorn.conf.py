"""gunicorn settings for civportal. gunicorn reads ./gunicorn.conf.py from its
working directory by itself (bin/run, the Procfile, the image and compose also
name it), so every way of starting the web gets these hooks.

/metrics with several worker processes (prometheus_client's multiprocess
mode): each worker writes its counters to files in PROMETHEUS_MULTIPROC_DIR
and /metrics adds them up, whichever worker answers the scrape. The directory
must be empty when the master starts (stale files from an earlier run would be
counted again, or break the scrape) and a worker that exits is marked dead.
Without PROMETHEUS_MULTIPROC_DIR the master makes a private directory for this
run and removes it at exit."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

_made_here: list[str] = []


def _metrics_dir() -> Path:
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder:
        folder = tempfile.mkdtemp(prefix="civportal-metrics-")
        _made_here.append(folder)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder  # the workers inherit it (they import the app after fork)
    return Path(folder)


def on_starting(server) -> None:
    folder = _metrics_dir()
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()


def child_exit(server, worker) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:
    for folder in _made_here:
        shutil.rmtree(folder, ignore_errors=True)
