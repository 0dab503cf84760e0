"""Recompute every scope path column (findings, tasks, visits …) from the unit tree."""

from django.core.management.base import BaseCommand
from django.db import transaction

from campaigns.scope import rebuild_scope_paths


class Command(BaseCommand):
    help = "Recompute the denormalised unit paths of every scoped table from scratch."

    def handle(self, *args, **options):
        with transaction.atomic():
            counts = rebuild_scope_paths(out=self.stdout.write)
        self.stdout.write(self.style.SUCCESS(f"rebuilt scope paths of {sum(counts.values())} rows"))
