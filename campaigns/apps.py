from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = _("Organisation and plans")

    def ready(self) -> None:
        from . import roles

        roles.register_defaults()

        from . import usercache

        usercache.register()  # the session's user and memberships: cached, bumped by every write to them
        roles.register_planning()

        from .planning import demo

        from . import demo as hooks

        from .boundaries import load_demo as load_boundaries

        hooks.register(load_boundaries)  # before the points, which are placed inside their community
        hooks.register(demo.load)

        # A login stamps last_login without a history row: account history records changes, not logins.
        from django.contrib.auth import user_logged_in
        from django.contrib.auth.models import update_last_login

        from .accounts.signals import stamp_last_login

        user_logged_in.disconnect(update_last_login, dispatch_uid="update_last_login")
        user_logged_in.connect(stamp_last_login, dispatch_uid="civportal_stamp_last_login")
