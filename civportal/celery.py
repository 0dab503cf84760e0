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


def _refuse_commands_on_a_closed_redis_connection() -> None:
    """A worker must survive a broker drop (issue 14). With kombu 5.7 a task that
    finishes (acks_late) after the broker connection was lost and closed acks on the
    old channel; the channel then builds a new Redis client from its transport's
    connection, which the close has set to None, and the AttributeError
    (``'NoneType' object has no attribute 'hostname'``) escapes the ack's
    connection-error handling and stops the worker ("Unrecoverable error").
    Raise a Redis ConnectionError there instead: the ack is logged as failed,
    the message stays unacknowledged in Redis and is delivered again after the
    visibility timeout (every task is idempotent), and the worker reconnects.
    tests/notifications/test_broker_drops.py reproduces it."""
    try:
        from kombu.transport import redis as kombu_redis
        from redis.exceptions import ConnectionError as RedisConnectionError
    except ImportError:  # no Redis client: the filesystem broker of the embedded default
        return
    original = kombu_redis.Channel._connparams
    if getattr(original, "civportal_guard", False):
        return

    def _connparams(self, asynchronous=False):
        if self.connection.client is None:
            raise RedisConnectionError("the broker connection of this channel was closed")
        return original(self, asynchronous=asynchronous)

    _connparams.civportal_guard = True
    kombu_redis.Channel._connparams = _connparams


_refuse_commands_on_a_closed_redis_connection()
