"""API keys: generation, hashing and lookup.

A key looks like ``civ_<8 hex>_<43 url-safe chars>``. The first part (the
prefix, ``civ_<8 hex>``) is stored in clear to find the client and to let
people recognise a key; of the whole key only its SHA-256 hash is stored.
The secret part carries 256 random bits, so a fast hash is enough (there is
nothing to brute-force) and the hash survives a SECRET_KEY rotation."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from .models import ApiClient

KEY_RE = re.compile(r"^(civ_[0-9a-f]{8})_[A-Za-z0-9_-]{43}$")
# last_used_at is written at most once per this interval per key.
TOUCH_INTERVAL = timedelta(minutes=1)


def generate() -> tuple[str, str]:
    """A new (key, prefix)."""
    prefix = f"civ_{secrets.token_hex(4)}"
    return f"{prefix}_{secrets.token_urlsafe(32)}", prefix


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def lookup(key: str) -> ApiClient | None:
    """The client this key belongs to (revoked or expired included), or None."""
    match = KEY_RE.match(key)
    if match is None:
        return None
    client = ApiClient.objects.select_related("user").with_membership().filter(prefix=match.group(1)).first()
    if client is None or not hmac.compare_digest(client.key_hash, hash_key(key)):
        return None
    return client


def touch(client: ApiClient, now=None) -> None:
    """Record the use, at most once a minute: a conditional UPDATE that
    matches nothing while the stored time is recent (no write per request)."""
    now = now or timezone.now()
    if client.last_used_at is not None and client.last_used_at > now - TOUCH_INTERVAL:
        return
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - TOUCH_INTERVAL)
    ApiClient.objects.filter(stale, pk=client.pk).update(last_used_at=now)
    client.last_used_at = now
