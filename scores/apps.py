from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScoresConfig(AppConfig):
    name = "scores"
    verbose_name = _("Monthly civility index")

    def ready(self) -> None:
        from campaigns import demo as demo_hooks
        from campaigns.models import Membership
        from campaigns.roles import grant

        Role = Membership.Role
        # Published rankings are public inside the portal; who sees drafts is a queryset rule.
        grant(Role.values, "scores.view_monthlyscore", "scores.view_scoringscheme", "scores.view_appeal")
        grant([Role.HEAD], "scores.add_appeal")
        grant([Role.SUPERVISOR, Role.LEADER, Role.HEAD], "scores.view_accountabilityrecord")
        grant(
            [Role.SUPERVISOR],
            "scores.change_monthlyscore", "scores.add_scoringscheme",
            "scores.view_surveyscore", "scores.add_surveyscore", "scores.change_surveyscore",
            "scores.view_materialsscore", "scores.add_materialsscore", "scores.change_materialsscore",
            "scores.view_scoreadjustment", "scores.add_scoreadjustment", "scores.change_scoreadjustment",
            "scores.change_appeal", "scores.view_exposure", "scores.add_exposure", "scores.change_exposure",
            "scores.add_accountabilityrecord",
        )

        from . import demo

        demo_hooks.register(demo.load)

        # Large score sheets import in the background (campaigns' import jobs).
        from campaigns.models import ImportJob
        from campaigns.planning.jobs import register_runner

        from .services import entered_scores_import_job

        register_runner(ImportJob.Kind.SCORE_ENTRIES, entered_scores_import_job)
