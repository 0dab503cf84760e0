from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InspectionsConfig(AppConfig):
    name = "inspections"
    verbose_name = _("Inspections and rectification")

    def ready(self) -> None:
        from campaigns import demo as hooks
        from campaigns.models import Membership
        from campaigns.roles import grant

        Role = Membership.Role
        everyone = Role.values
        grant(
            everyone,
            "inspections.view_findingcategory", "inspections.view_inspection", "inspections.view_visit",
            "inspections.view_finding", "inspections.view_rectificationtask", "inspections.view_taskevent",
        )
        # Inspectors (and the office) go out and record what they see.
        grant([Role.INSPECTOR, Role.SUPERVISOR], "inspections.add_visit", "inspections.add_finding")
        # The campaign office plans, triages, dispatches, verifies, escalates and voids.
        grant(
            [Role.SUPERVISOR],
            "inspections.add_inspection", "inspections.change_inspection", "inspections.change_visit",
            "inspections.change_finding", "inspections.add_rectificationtask", "inspections.change_rectificationtask",
            "inspections.change_extensionrequest",
            "inspections.add_findingcategory", "inspections.change_findingcategory",
            "inspections.add_deadlinerule", "inspections.change_deadlinerule",
            "inspections.view_calendaroverride", "inspections.add_calendaroverride",
            "inspections.change_calendaroverride",
        )
        # Units accept, report back and ask for more time on their own tasks.
        grant([Role.HANDLER, Role.HEAD], "inspections.add_submission", "inspections.add_extensionrequest")
        # 回头看: everyone sees the re-checks in scope; inspectors record them; the office sets the rules and draws.
        grant(everyone, "inspections.view_recheck")
        grant([Role.INSPECTOR, Role.SUPERVISOR], "inspections.change_recheck")
        grant([Role.SUPERVISOR], "inspections.view_recheckrule", "inspections.add_recheckrule",
              "inspections.change_recheckrule")
        # Heads may run a self-check of their own territory.
        grant([Role.HEAD], "inspections.add_inspection")

        from campaigns.scope import on_subtree_moved

        from . import demo, list_cache, notify, reminders_demo, rollups  # noqa: F401 (list_cache: tables watched)

        on_subtree_moved(rollups.subtree_moved)  # the dashboards' "below" rows follow a unit move

        hooks.register(demo.load)
        hooks.register(reminders_demo.load)
        notify.connect()
