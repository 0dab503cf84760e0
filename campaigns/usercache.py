"""The signed-in user and their scope from the shared cache (issue 13, the fixed cost
of a request): a session's request reads its user row and its memberships (unit path
and role) from one cache entry instead of two queries.

An entry is ``usercache:<user id>`` and holds the user's columns and active memberships
with the *generations* (civportal.listcache) of the three tables they come from: users,
memberships and units. A committed write to any of them (an account deactivated or
edited, a password changed, a membership added or ended, a unit moved: ORM saves,
``update()``, raw SQL alike) replaces that table's generation after commit, so the next
request of every user misses and reads the database again. The generations are read
before the database, in the same round trip as the entry, and the entry is stored under
them: a write the read may have missed makes it unreachable.

The cache only saves queries: when it is unavailable (or ``USER_CACHE_SECONDS`` is 0)
the user and the memberships are read from the database, never from an old entry. The
session's auth hash is still checked by ``django.contrib.auth.get_user`` against the
(cached or read) password hash, and ``user_can_authenticate`` still sees ``is_active``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection

from civportal import listcache


def enabled() -> bool:
    return getattr(settings, "USER_CACHE_SECONDS", 0) > 0


@cache
def _tables() -> tuple[str, ...]:
    return tuple(model._meta.db_table for model in (get_user_model(), apps.get_model("campaigns", "Membership"),
                                                    apps.get_model("campaigns", "Unit")))


@cache
def _fields() -> tuple[str, ...]:
    return tuple(field.attname for field in get_user_model()._meta.concrete_fields)


def register() -> None:
    """From CampaignsConfig.ready(): writes to the three tables bump their generations
    whenever this cache is on (also while the list cache is off)."""
    listcache.keep_generations(_tables(), enabled)


def key(user_id) -> str:
    return f"usercache:{user_id}"


def get_user(user_id, load: Callable[[], object | None], *, read_memberships: Callable[[object], list],
             attach: Callable[[object, list], None], cached_user: bool = True):
    """The user ``user_id`` with their memberships attached (``attach``: ``scope``'s per-object cache;
    ``read_memberships``: from the database; ``scope.session_user`` passes both),
    from the cache when its entry is current, else ``load()`` (the database) and kept.
    ``cached_user=False``: the user row is always ``load()``-ed (a page's user carries the
    bell's count, not kept here) and only the memberships come from the cache. Inside a
    transaction the database is read: it may hold this transaction's own uncommitted writes."""
    if not enabled() or connection.in_atomic_block:
        return load()
    read = listcache.read_with_generations(key(user_id), _tables())
    if read is None:  # cache down: the database, never an old entry
        return load()
    entry, gens = read
    if entry is not None and entry[0] == gens:
        values, memberships = entry[1]
        if cached_user:
            model = get_user_model()
            user = model.from_db(model._default_manager.db, _fields(), values)
        else:
            user = load()
        if user is not None:
            attach(user, list(memberships))
        return user
    user = load()
    if user is not None:
        values = tuple(getattr(user, name) for name in _fields())
        memberships = read_memberships(user)
        attach(user, memberships)
        listcache.store_with_generations(key(user_id), gens, (values, tuple(memberships)),
                                         settings.USER_CACHE_SECONDS)
    return user


def memberships(user, read: Callable[[object], list]) -> list:
    """The memberships of a user authenticated another way (a token, an API key): its own
    entry (``usercache:m:<id>``), validated by the memberships' and units' generations;
    the user row is not kept from here (it was read before the generations). Inside a
    transaction (a service that changed memberships and called ``scope.forget``) the database."""
    if not enabled() or getattr(user, "pk", None) is None or connection.in_atomic_block:
        return read(user)
    entry_key = f"usercache:m:{user.pk}"
    tables = _tables()[1:]
    got = listcache.read_with_generations(entry_key, tables)
    if got is None:
        return read(user)
    entry, gens = got
    if entry is not None and entry[0] == gens:
        return list(entry[1])
    found = read(user)
    listcache.store_with_generations(entry_key, gens, tuple(found), settings.USER_CACHE_SECONDS)
    return found
