"""The Celery app: configured from Django settings (``CELERY_*``), tasks
discovered in every installed app's ``tasks.py``."""

import os
from pathlib import Path

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "civportal.settings")

app = Celery("civportal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def ensure_broker_folders() -> None:
    """The filesystem transport needs its folders before the first message
    (and WhiteNoise wants STATIC_ROOT to exist)."""
    from django.conf import settings

    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {})
    for key in ("data_folder_in", "data_folder_out", "control_folder", "processed_folder"):
        if options.get(key):
            Path(options[key]).mkdir(parents=True, exist_ok=True)


def _connect_metrics() -> None:
    """Task counts, latency and failures for /metrics (civportal.observability)."""
    from celery import signals

    from civportal import observability

    signals.task_prerun.connect(observability.on_task_prerun, weak=False)
    signals.task_postrun.connect(observability.on_task_postrun, weak=False)
    signals.task_retry.connect(observability.on_task_retry, weak=False)
    signals.worker_ready.connect(observability.on_worker_ready, weak=False)


_connect_metrics()
