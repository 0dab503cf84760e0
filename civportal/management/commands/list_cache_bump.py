"""Invalidate every cached list (civportal/listcache.py).

    manage.py list_cache_bump

Writes made through the portal invalidate the lists that read them by
themselves; run this after changing the database another way (psql, a COPY
load, pg_restore), or wait LIST_CACHE_SECONDS."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from civportal import listcache


class Command(BaseCommand):
    help = "Invalidate every cached list (after writes that bypassed the portal)."

    def handle(self, *args, **options):
        listcache.bump()
        self.stdout.write(f"new generations for {len(listcache.watched_tables())} tables")
