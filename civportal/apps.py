from django.apps import AppConfig


class CivportalConfig(AppConfig):
    name = "civportal"
    verbose_name = "civportal"

    def ready(self) -> None:
        from .celery import ensure_broker_folders

        ensure_broker_folders()
