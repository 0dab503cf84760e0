from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = _("Organisation and plans")

    def ready(self) -> None:
        from . import roles

        roles.register_defaults()
        roles.register_planning()

        from .planning import demo

        from . import demo as hooks

        hooks.register(demo.load)
