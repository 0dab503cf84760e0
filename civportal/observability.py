"""Operations plumbing: a request id on every request and log line, JSON log
lines in production, Prometheus metrics (requests by route, Celery tasks,
reminder-scan lag, queue depth) and the extra /healthz checks.

Nothing here touches domain rules; it watches them (docs/operations.md)."""

from __future__ import annotations

import contextvars
import hmac
import ipaddress
import json
import logging
import re
import time
import uuid

from django.conf import settings
from django.http import HttpResponse, HttpResponseForbidden
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import REGISTRY, CONTENT_TYPE_LATEST

logger = logging.getLogger(__name__)

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,100}$")

REQUEST_LATENCY = Histogram(
    "civportal_http_request_duration_seconds", "Time to answer a request, by route and status class",
    ["method", "route", "status"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
TASKS = Counter("civportal_celery_tasks_total", "Celery tasks run, by task and outcome", ["task", "outcome"])
TASK_LATENCY = Histogram("civportal_celery_task_duration_seconds", "Celery task run time", ["task"],
                         buckets=(0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300))
REMINDER_SCAN_KEY = "ops:reminder-scan:last-finished"


# --- request id and latency ------------------------------------------------------------------

class RequestObservabilityMiddleware:
    """Takes X-Request-ID from the proxy (or makes one), puts it on every log
    line of the request and on the response, and times the request by route."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request.request_id = incoming if VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request.request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        match = getattr(request, "resolver_match", None)
        route = (match.route or match.view_name) if match else "unmatched"
        REQUEST_LATENCY.labels(request.method, route[:100], f"{response.status_code // 100}xx").observe(
            time.perf_counter() - started)
        response["X-Request-ID"] = request.request_id
        return response


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: what log collectors (Loki, ELK, SLS) parse without rules."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", request_id_var.get()),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


# --- Celery signals (connected in civportal.celery) --------------------------------------------

_task_started: dict[str, float] = {}


def on_task_prerun(task_id=None, task=None, **kwargs):
    _task_started[task_id] = time.perf_counter()


def on_task_postrun(task_id=None, task=None, state=None, **kwargs):
    started = _task_started.pop(task_id, None)
    name = getattr(task, "name", "unknown")
    if started is not None:
        TASK_LATENCY.labels(name).observe(time.perf_counter() - started)
    TASKS.labels(name, (state or "unknown").lower()).inc()
    if name == "inspections.scan_task_reminders" and state == "SUCCESS":
        from django.core.cache import cache

        try:
            cache.set(REMINDER_SCAN_KEY, time.time(), timeout=None)
        except Exception as exc:  # the cache being down must not fail the task
            logger.warning("could not record the reminder scan time: %s", exc)


def on_task_retry(request=None, **kwargs):
    TASKS.labels(getattr(request, "task", "unknown"), "retry").inc()


def on_worker_ready(**kwargs):
    """Workers serve their own metrics on WORKER_METRICS_PORT (scraped on the private network)."""
    import os

    port = os.environ.get("WORKER_METRICS_PORT")
    if port:
        from prometheus_client import start_http_server

        # With a prefork pool the tasks run in child processes: set PROMETHEUS_MULTIPROC_DIR (compose does)
        # so their counts reach this server.
        start_http_server(int(port), addr=os.environ.get("WORKER_METRICS_ADDR", "127.0.0.1"), registry=process_registry())


# --- /metrics ------------------------------------------------------------------------------------

def _is_loopback(request) -> bool:
    if request.META.get("HTTP_X_FORWARDED_FOR"):
        return False  # came through the proxy: not a local scraper
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


def may_read_metrics(request) -> bool:
    token = getattr(settings, "METRICS_TOKEN", "")
    auth = request.headers.get("Authorization", "")
    if token and auth.startswith("Bearer ") and hmac.compare_digest(auth[7:].encode(), token.encode()):
        return True
    if _is_loopback(request):
        return True
    user = getattr(request, "user", None)
    return bool(user and user.is_authenticated and user.is_staff)


class ScrapeTimeCollector:
    """Gauges computed when Prometheus asks: reminder-scan lag and queue depth.
    Built as metric families, not ``Gauge`` objects: in multiprocess mode a
    ``Gauge`` would write a file per process and appear twice in the scrape."""

    def collect(self):
        from django.core.cache import cache
        from prometheus_client.core import GaugeMetricFamily

        try:
            last = cache.get(REMINDER_SCAN_KEY)
        except Exception:
            last = None
        yield GaugeMetricFamily("civportal_reminder_scan_lag_seconds",
                                "Seconds since the reminder scan last finished (-1: never seen)",
                                value=time.time() - last if last else -1)
        depth = GaugeMetricFamily("civportal_celery_queue_depth", "Messages waiting in the Celery queue (-1: unknown)",
                                  labels=["queue"])
        depth.add_metric([settings.CELERY_TASK_DEFAULT_QUEUE], queue_depth())
        yield depth


def scrape_time_metrics() -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(ScrapeTimeCollector())
    return registry


def process_registry():
    """The registry to expose: in multiprocess mode (gunicorn's or Celery's several
    processes, PROMETHEUS_MULTIPROC_DIR) the sum over every process's files."""
    import os

    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    from prometheus_client import multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


def queue_depth() -> int:
    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://")):
        return -1
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        return int(client.llen(settings.CELERY_TASK_DEFAULT_QUEUE))
    except Exception:
        return -1


def metrics(request):
    if not may_read_metrics(request):
        return HttpResponseForbidden("metrics are for the monitoring system", content_type="text/plain")
    body = generate_latest(process_registry())
    body += generate_latest(scrape_time_metrics())
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)


# --- /healthz additions --------------------------------------------------------------------------

def storage_status() -> str:
    from civportal.storage import photo_storage

    try:
        photo_storage().exists("healthz-probe")
        return "ok"
    except Exception as exc:
        logger.warning("storage check failed: %s", exc)
        return f"error: {exc.__class__.__name__}"


def cache_status() -> str:
    from django.core.cache import cache

    try:
        key = f"healthz:{uuid.uuid4().hex}"
        cache.set(key, 1, timeout=10)
        ok = cache.get(key) == 1
        cache.delete(key)
        return "ok" if ok else "error: value lost"
    except Exception as exc:
        logger.warning("cache check failed: %s", exc)
        return f"error: {exc.__class__.__name__}"
