"""Read replicas: reads of a read-only request (GET/HEAD/OPTIONS: dashboards,
lists, details, exports, reports) go to a healthy streaming replica;
everything else stays on the primary:

- every write, and every read after the first write of a request;
- every read inside a transaction (``atomic``, ``select_for_update``);
- every request for REPLICA_PIN_SECONDS after a write request by the same
  browser (a short-lived cookie): the writer reads their own writes;
- every read when no replica is healthy (down, or lagging more than
  REPLICA_MAX_LAG_SECONDS): the primary takes over.

Background jobs and management commands always use the primary.
Maximum staleness of a replica read: REPLICA_MAX_LAG_SECONDS (docs/operations.md)."""

from __future__ import annotations

import contextvars
import logging
import random
import time

from django.conf import settings
from django.db import connections

logger = logging.getLogger(__name__)

PIN_COOKIE = "civportal_primary"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
_request_state: contextvars.ContextVar[dict | None] = contextvars.ContextVar("db_request_state", default=None)
_health: dict[str, tuple[float, float | None]] = {}  # alias -> (checked at, lag seconds or None when down)


def replica_lag(alias: str) -> float | None:
    """Seconds the replica is behind (0 when it has replayed all it received); None when it does not answer."""
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute(
                "SELECT CASE WHEN NOT pg_is_in_recovery() THEN NULL "
                "WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
                "ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END"
            )
            lag = cursor.fetchone()[0]
        return None if lag is None else float(lag)
    except Exception as exc:
        logger.warning("replica %s unavailable: %s", alias, exc)
        try:
            connections[alias].close()
        except Exception:
            pass
        return None


def healthy_replicas() -> list[str]:
    now = time.monotonic()
    healthy = []
    for alias in settings.DATABASE_REPLICAS:
        checked, lag = _health.get(alias, (0.0, None))
        if now - checked > settings.REPLICA_CHECK_SECONDS:
            lag = replica_lag(alias)
            _health[alias] = (now, lag)
        if lag is not None and lag <= settings.REPLICA_MAX_LAG_SECONDS:
            healthy.append(alias)
    return healthy


def replica_status() -> dict:
    """For /healthz: each replica's lag in seconds, or 'down'."""
    result = {}
    for alias in settings.DATABASE_REPLICAS:
        lag = replica_lag(alias)
        _health[alias] = (time.monotonic(), lag)
        result[alias] = "down" if lag is None else {"lag_seconds": round(lag, 3)}
    return result


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        state = _request_state.get()
        if not state or state["pinned"] or connections["default"].in_atomic_block:
            return "default"
        if state["replica"] is None:
            replicas = healthy_replicas()
            state["replica"] = random.choice(replicas) if replicas else "default"
        return state["replica"]

    def db_for_write(self, model, **hints):
        state = _request_state.get()
        if state is not None:
            state["pinned"] = state["wrote"] = True  # read your own write, in this request and the next ones
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True  # replicas are copies of the primary

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == "default"


class ReplicaRoutingMiddleware:
    """Decides per request whether reads may go to a replica, and pins the
    browser to the primary for a few seconds after it wrote."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not settings.DATABASE_REPLICAS:
            return self.get_response(request)
        write_request = request.method not in SAFE_METHODS
        state = {"pinned": write_request or PIN_COOKIE in request.COOKIES, "wrote": False, "replica": None}
        token = _request_state.set(state)
        try:
            response = self.get_response(request)
        finally:
            _request_state.reset(token)
        if write_request or state["wrote"]:
            response.set_cookie(PIN_COOKIE, "1", max_age=settings.REPLICA_PIN_SECONDS, httponly=True,
                                samesite="Lax", secure=request.is_secure())
        response["X-Served-By-Database"] = "primary" if state["replica"] in (None, "default") else "replica"
        return response
