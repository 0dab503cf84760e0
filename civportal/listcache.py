"""A response cache for API lists (docs/performance.md, "Response cache").

A cached list answers a repeated request from the shared cache, without
building its queryset. An entry is keyed by everything that changes the
answer:

- the route and the normalised query string (parameters sorted by name);
- the caller's scope: ``LIST_CACHE_SCOPE_KEY`` (a dotted path, so the core
  names no app) turns the authenticated user into a string; campaigns gives
  every active membership (unit path and role), so a membership created,
  ended or changed makes a different key by construction (the memberships are
  read on every request, as the queryset's scope filter reads them);
- the language, the time zone, the scheme and host (absolute links in rows),
  the renderer (only JSON is cached).

Each entry also records the *generation* of every table the list reads (its
rows, their joined names, its filters' lookups); a hit needs the generations
to be unchanged. A generation is a random token in the cache, replaced after
every committed write to its table: a database execute wrapper sees every
INSERT/UPDATE/DELETE our connections send (ORM saves, ``QuerySet.update``,
``bulk_create``, raw SQL in unit moves and rebuild commands) and, after the
transaction commits, replaces the tokens of the watched tables it wrote. The
generation is read before the list's queries run, so an entry can only be
stored under a token older than any write it missed. Writes that bypass our
connections (psql, COPY) need ``manage.py list_cache_bump``.

The cache is an optimisation: when it is down, lists are computed (and a
failed bump is retried at the next contact); an entry lives at most
``LIST_CACHE_SECONDS``, which bounds staleness if a bump is ever lost.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from functools import cached_property, partial, wraps

from django.conf import settings
from django.core.cache import caches
from django.db import transaction
from django.db.backends.signals import connection_created
from django.http import HttpResponse
from django.utils import timezone, translation
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

HEADER = "X-List-Cache"  # hit / miss / bypass: what the cache did for this answer
_REGISTRY: list[ListCache] = []
# Other caches validated by the same generations (campaigns' user cache): table -> whether it is on now.
_GENERATIONS: dict[str, Callable[[], bool]] = {}
_WATCHED: dict[tuple[int, int], re.Pattern | None] = {}  # (lists, tables) registered -> pattern of their names
_WRITE = re.compile(r"^\s*(?:INSERT|UPDATE|DELETE|MERGE|TRUNCATE)\b", re.IGNORECASE)
_CTE_WRITE = re.compile(r"^\s*WITH\b.*\b(?:INSERT\s+INTO|UPDATE\s+\S+\s+SET|DELETE\s+FROM)\b",
                        re.IGNORECASE | re.DOTALL)

# Circuit breaker: after a cache error, leave the cache alone for a few seconds (a hung
# cache must not add its timeout to every request); bumps that could not be written are
# kept and written at the next successful contact, before any entry is read.
_down_until = 0.0
_pending: set[str] = set()


def enabled() -> bool:
    return getattr(settings, "LIST_CACHE_SECONDS", 0) > 0


def remembering() -> bool:
    """Whether ``remembered`` keeps values (``LIST_MEMO_SECONDS`` > 0): page parts such as a
    filter form's option lists, kept under the same generations as the lists."""
    return getattr(settings, "LIST_MEMO_SECONDS", 0) > 0


def watching() -> bool:
    """Writes bump generations while anything reads them: the response cache or the memo."""
    return enabled() or remembering()


def _cache():
    return caches[getattr(settings, "LIST_CACHE_ALIAS", "default")]


def _failed(exc: Exception) -> None:
    global _down_until
    _down_until = time.monotonic() + getattr(settings, "LIST_CACHE_RETRY_SECONDS", 5)
    logger.warning("list cache unavailable, lists are computed: %s", exc)


def _available() -> bool:
    """Whether the cache may be used now; writes the bumps left pending by an outage first."""
    if time.monotonic() < _down_until:
        return False
    if _pending:
        due = set(_pending)
        try:
            _cache().set_many({_gen_key(t): _token() for t in due}, timeout=None)
        except Exception as exc:
            _failed(exc)
            return False
        _pending.difference_update(due)
    return True


# --- generations ---------------------------------------------------------------------------------

def _gen_key(table: str) -> str:
    return f"listcache:gen:{table}"


def _token() -> str:
    """A generation never seen before; it starts with its time (the replica guard reads it)."""
    return f"{time.time():.3f}:{secrets.token_hex(6)}"


def bump(tables: Iterable[str] | None = None) -> None:
    """New generations for ``tables`` (default: every watched table): entries read from
    them are no longer served. Called after commit; never raises."""
    tables = set(watched_tables() if tables is None else tables)
    if not tables:
        return
    if not _available():
        _pending.update(tables)
        return
    try:
        _cache().set_many({_gen_key(t): _token() for t in tables}, timeout=None)
    except Exception as exc:
        _failed(exc)
        _pending.update(tables)


def watched_tables() -> set[str]:
    return {table for config in _REGISTRY for table in config.tables} | set(_GENERATIONS)


def keep_generations(tables: Iterable[str], active: Callable[[], bool]) -> None:
    """Keep generations of ``tables`` for another cache (one that validates its entries with
    ``generations()``), also while the list cache is off: written tables are bumped after
    commit whenever ``active()`` is true."""
    for table in tables:
        _GENERATIONS[table] = active


def _generations_wanted() -> bool:
    return any(active() for active in _GENERATIONS.values())


def _pattern() -> re.Pattern | None:
    """One regex for the watched table names, rebuilt when a list or a table registers."""
    state = (len(_REGISTRY), len(_GENERATIONS))
    if state not in _WATCHED:
        tables = sorted(watched_tables())
        _WATCHED.clear()
        _WATCHED[state] = re.compile(r'(?<!\w)"?(%s)"?(?!\w)' % "|".join(map(re.escape, tables))) \
            if tables else None
    return _WATCHED[state]


def written_tables(sql: str) -> set[str]:
    """Watched tables a statement may write (over-approximated: any watched name in a write)."""
    if not (_WRITE.match(sql) or _CTE_WRITE.match(sql)):
        return set()
    pattern = _pattern()
    return set(pattern.findall(sql)) if pattern is not None else set()


def _watch(execute, sql, params, many, context):
    """Execute wrapper on every connection: a write to a watched table bumps it after commit."""
    result = execute(sql, params, many, context)
    if isinstance(sql, str) and (watching() or (_GENERATIONS and _generations_wanted())):
        tables = written_tables(sql)
        if tables and not watching():
            tables = {t for t in tables if t in _GENERATIONS and _GENERATIONS[t]()}
        if tables:
            _bump_on_commit(context["connection"], tables)
    return result


def _bump_on_commit(connection, tables: set[str]) -> None:
    # Each write registers its bump; at commit the first callback bumps and the others of the
    # same transaction see that a bump of their table happened after their write (``seq``).
    state = connection.__dict__.setdefault("_listcache_state", {"seq": 0, "bumped": {}})
    state["seq"] += 1
    if not connection.in_atomic_block and not connection.get_autocommit():
        # Manual transaction management: no commit hook. Bump now and once more at the
        # next contact with the cache (after the commit, in practice).
        bump(tables)
        _pending.update(tables)
        return
    transaction.on_commit(partial(_bump_after_commit, state, frozenset(tables), state["seq"]),
                          using=connection.alias, robust=True)


def _bump_after_commit(state: dict, tables: frozenset[str], seq: int) -> None:
    due = [t for t in tables if state["bumped"].get(t, 0) < seq]
    if due:
        bump(due)
        for table in due:
            state["bumped"][table] = state["seq"]


def install(connection, **kwargs) -> None:
    """connection_created receiver: put the watcher first (outermost) on the connection,
    once; ``execute_wrapper()`` context managers pop the last wrapper, never ours."""
    if _watch not in connection.execute_wrappers:
        connection.execute_wrappers.insert(0, _watch)


def connect() -> None:
    """From CivportalConfig.ready(): watch every connection, those already open included."""
    from django.db import connections

    connection_created.connect(install, dispatch_uid="civportal.listcache")
    for connection in connections.all(initialized_only=True):
        install(connection)


# --- values validated by generations ----------------------------------------------------------------

def _current_gens(gen_keys: list[str], got: dict) -> tuple | None:
    """The generations of ``gen_keys`` (read into ``got``), started where missing (never reused);
    None on error."""
    gens = tuple(got.get(k) for k in gen_keys)
    if None not in gens:
        return gens
    try:
        missing = [k for k, gen in zip(gen_keys, gens) if gen is None]
        for k in missing:
            _cache().add(k, _token(), timeout=None)
        got.update(_cache().get_many(missing))
    except Exception as exc:
        _failed(exc)
        return None
    gens = tuple(got.get(k) for k in gen_keys)
    return None if None in gens else gens


def read_with_generations(key: str, tables: Iterable[str]) -> tuple[object, tuple[str, ...]] | None:
    """For a cache validated by generations (``remembered``, campaigns' user cache): the entry at
    ``key`` and the current generations of ``tables``, in one round trip. None when the cache is
    unavailable: the caller computes or reads the database. Read the generations before the
    database, store under them: a write after this read makes the stored value unreachable."""
    if not _available():
        return None
    gen_keys = [_gen_key(t) for t in tables]
    try:
        got = _cache().get_many([key, *gen_keys])
    except Exception as exc:
        _failed(exc)
        return None
    gens = _current_gens(gen_keys, got)
    return None if gens is None else (got.get(key), gens)


def store_with_generations(key: str, gens: tuple[str, ...], value, timeout: int) -> None:
    """Keep ``(gens, value)`` at ``key``; a failure only costs the next request a miss."""
    try:
        _cache().set(key, (gens, value), timeout=timeout)
    except Exception as exc:
        _failed(exc)


# --- remembered values ----------------------------------------------------------------------------

class Watched:
    """Tables whose writes bump their generations without a list of their own (``remembered``)."""

    def __init__(self, models: Iterable):
        self.models = tuple(models)
        _REGISTRY.append(self)

    @cached_property
    def tables(self) -> list[str]:
        return sorted({m._meta.db_table for m in self.models})


def watch(*models) -> Watched:
    """Watch the tables of ``models`` for writes (at import time, as a ListCache does)."""
    return Watched(models)


def remembered(name: str, tables: Iterable[str], parts: Iterable, compute: Callable[[], object]):
    """``compute()``, kept in the shared cache under the generations of ``tables`` (watched:
    ``watch``) and keyed by ``name`` and ``parts`` (everything else the value depends on: the
    language, the scope, the query). A committed write to one of the tables replaces its
    generation, so the next call computes again: an edit shows at once. The generations are
    read before ``compute`` runs (a write it misses leaves the value under an older token).
    The cache down or ``LIST_MEMO_SECONDS`` 0: computed every time."""
    tables = sorted(tables)
    if not remembering() or not set(tables) <= watched_tables():
        return compute()  # (a table nobody watches: its writes would not replace its generation)
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()
    key = f"listcache:memo:{name}:{digest}"
    found = read_with_generations(key, tables)
    if found is None:
        return compute()
    entry, gens = found
    if entry is not None and entry[0] == gens:
        return entry[1]
    value = compute()
    if not _replica_may_lag(gens):
        store_with_generations(key, gens, value, int(settings.LIST_MEMO_SECONDS))
    return value


# --- entries -------------------------------------------------------------------------------------

class ListCache:
    """One cached list. ``models``: every model whose table the answer reads (rows,
    joined names, filter lookups). ``uncached_params``: query parameters whose answer
    depends on something not in the key (the user's identity): requests with them are
    computed. ``expires(rows, now)``: when something time-dependent in these rows
    changes (a traffic light), or None. ``clock_params``: query parameters that
    select rows by the clock (``overdue``); a request with one is kept only until
    ``clock_changes(request, params, now)``, the first instant after ``now`` at which
    such a selection could change without any write (the next deadline in the
    caller's scope), or None when none can. Without ``clock_changes`` requests with
    clock parameters are computed."""

    def __init__(self, name: str, *, models: Iterable, uncached_params: Iterable[str] = (),
                 expires: Callable[[list, datetime], datetime | None] | None = None,
                 clock_params: Iterable[str] = (),
                 clock_changes: Callable[[object, frozenset, datetime], datetime | None] | None = None):
        self.name = name
        self.models = tuple(models)
        self.uncached_params = frozenset(uncached_params)
        self.expires = expires
        self.clock_params = frozenset(clock_params)
        self.clock_changes = clock_changes
        if self.clock_changes is None:
            self.uncached_params |= self.clock_params
        _REGISTRY.append(self)

    @cached_property
    def tables(self) -> list[str]:
        return sorted({m._meta.db_table for m in self.models})

    def key(self, request) -> str:
        scope_key = import_string(settings.LIST_CACHE_SCOPE_KEY)(request.user)
        query = sorted(request.query_params.lists())
        parts = [request.path, repr(query), scope_key, translation.get_language() or "",
                 timezone.get_current_timezone_name(), request.build_absolute_uri("/"),
                 request.accepted_media_type or ""]
        digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
        return f"listcache:{self.name}:{digest}"

    def cacheable(self, request) -> bool:
        return (enabled() and request.method == "GET"
                and getattr(request.accepted_renderer, "format", None) == "json"
                and not self.uncached_params.intersection(request.query_params))

    def respond(self, view, request, compute):
        if not self.cacheable(request):
            return _mark(compute(), "bypass")
        key = self.key(request)
        found = read_with_generations(key, self.tables)  # (the generations started on first use)
        if found is None:  # the cache unavailable or failing
            return _mark(compute(), "bypass")
        entry, gens = found
        if entry is not None and entry[0] == gens:
            response = HttpResponse(entry[2], content_type=entry[1])
            return _mark(response, "hit")
        now = timezone.now()
        deadline = time.time() + float(settings.LIST_CACHE_SECONDS)
        clock = self.clock_params.intersection(request.query_params)
        if clock:  # read before the list: a deadline passing while it is computed is counted
            deadline = _earlier(deadline, self.clock_changes(request, frozenset(clock), now))
        response = compute()
        if response.status_code != 200 or not hasattr(response, "add_post_render_callback"):
            return _mark(response, "miss")
        if self.expires is not None:
            deadline = _earlier(deadline, self.expires(list(getattr(view, "_list_cache_rows", None) or []), now))
        if deadline - time.time() >= 1 and not _replica_may_lag(gens):
            response.add_post_render_callback(partial(_store, key, gens, deadline))
        return _mark(response, "miss")


def _earlier(deadline: float, until: datetime | None) -> float:
    """``deadline`` (a time.time() instant) or ``until``, whichever comes first."""
    return deadline if until is None else min(deadline, until.timestamp())


def _replica_may_lag(gens: tuple[str, ...]) -> bool:
    """With read replicas, an answer read soon after a write may predate it: not kept."""
    if not getattr(settings, "DATABASE_REPLICAS", None):
        return False
    newest = max(float(g.split(":", 1)[0]) for g in gens)
    return time.time() - newest < getattr(settings, "REPLICA_MAX_LAG_SECONDS", 5) + 1


def _store(key: str, gens: tuple, deadline: float, response) -> None:
    """Keep the answer until ``deadline`` at the latest (whole seconds, counted from now:
    rounded down, so an entry never outlives the instant its answer changes)."""
    seconds = int(deadline - time.time())
    if seconds < 1:
        return
    try:
        _cache().set(key, (gens, response["Content-Type"], response.content), timeout=seconds)
    except Exception as exc:
        _failed(exc)


def _mark(response, what: str):
    response[HEADER] = what
    return response


def cached_list(config: ListCache):
    """Class decorator for a DRF list viewset: its ``list`` answers through ``config``
    (whichever class defines ``list``); the page's rows are kept for ``expires``."""

    def decorate(cls):
        original_list, original_paginate = cls.list, cls.paginate_queryset

        @wraps(original_list)
        def list_(self, request, *args, **kwargs):
            return config.respond(self, request, lambda: original_list(self, request, *args, **kwargs))

        @wraps(original_paginate)
        def paginate_queryset(self, queryset):
            page = original_paginate(self, queryset)
            self._list_cache_rows = page
            return page

        cls.list, cls.paginate_queryset = list_, paginate_queryset
        return cls

    return decorate
