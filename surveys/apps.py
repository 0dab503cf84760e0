from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SurveysConfig(AppConfig):
    name = "surveys"
    verbose_name = _("Resident surveys")

    def ready(self) -> None:
        from campaigns.models import Membership
        from campaigns.roles import grant

        Role = Membership.Role
        # Survey results of a unit are read by everyone with a role over it (queryset rule).
        grant(Role.values, "surveys.view_survey", "surveys.view_surveywave", "surveys.view_surveyresponse",
              "surveys.view_wavetarget")
        grant([Role.SUPERVISOR], "surveys.add_survey", "surveys.change_survey", "surveys.add_surveywave",
              "surveys.change_surveywave", "surveys.change_surveyresponse")
