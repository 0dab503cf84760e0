from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RoundsConfig(AppConfig):
    name = "rounds"
    verbose_name = _("Evaluation rounds")

    def ready(self) -> None:
        from campaigns.models import Membership
        from campaigns.roles import grant

        Role = Membership.Role
        # Reading is scoped by the querysets (暗访: units see a draw only once its round ended).
        grant(Role.values, "rounds.view_pointdraw", "rounds.view_plannedvisit", "rounds.view_inspectionschedule")
        # The campaign office draws samples and keeps the schedules; heads schedule their own self-checks.
        grant([Role.SUPERVISOR], "rounds.add_pointdraw", "rounds.add_inspectionschedule",
              "rounds.change_inspectionschedule")
        grant([Role.HEAD], "rounds.add_inspectionschedule", "rounds.change_inspectionschedule")
