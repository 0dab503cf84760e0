from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from campaigns.models import Membership
        from campaigns.roles import grant

        # Everyone has an inbox (scoped to themselves in the views, not by role);
        # the campaign office connects external systems with webhooks.
        Role = Membership.Role
        grant(
            [Role.SUPERVISOR],
            "notifications.view_webhooksubscription", "notifications.add_webhooksubscription",
            "notifications.change_webhooksubscription", "notifications.view_webhookdelivery",
        )
