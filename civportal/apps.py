from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CivportalConfig(AppConfig):
    name = "civportal"
    verbose_name = "civportal"

    def ready(self) -> None:
        from .celery import ensure_broker_folders

        ensure_broker_folders()
        from . import listcache

        listcache.connect()  # every write to a cached list's tables invalidates it after commit
        post_migrate.connect(create_cache_table, sender=self)


def create_cache_table(*, using="default", verbosity=1, **kwargs) -> None:
    """The embedded default's shared cache is a database table: create it with
    every migrate (bin/run, compose's migrate, tests), idempotently."""
    from django.conf import settings
    from django.core.management import call_command

    if any(c["BACKEND"].endswith("DatabaseCache") for c in settings.CACHES.values()):
        call_command("createcachetable", database=using, verbosity=0)
