from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NoticesConfig(AppConfig):
    name = "notices"
    verbose_name = _("Notices")

    def ready(self) -> None:
        from campaigns.models import Membership
        from campaigns.roles import grant

        Role = Membership.Role
        # Everyone with a unit role reads the notices sent to their unit (scoped in the queryset);
        # the campaign office (and a district's supervisors, for their subtree) publishes them.
        grant(Role.values, "notices.view_notice")
        grant([Role.SUPERVISOR], "notices.add_notice", "notices.change_notice")
