from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DashboardsConfig(AppConfig):
    """The top of the app order: reads campaigns, volunteers, inspections and
    scores; nothing but civportal's urls and home view imports it."""

    name = "dashboards"
    verbose_name = _("Dashboards")
