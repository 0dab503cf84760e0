from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VolunteersConfig(AppConfig):
    name = "volunteers"
    verbose_name = _("Volunteers")

    def ready(self) -> None:
        from campaigns import demo
        from campaigns.models import Membership
        from campaigns.roles import grant

        from .demo import load_demo

        Role = Membership.Role
        # Everyone with a role reads within their scope (personal data is masked
        # unless privacy.may_see_personal_data allows it).
        grant(Role.values, "volunteers.view_volunteer", "volunteers.view_team", "volunteers.view_activity",
              "volunteers.view_signup", "volunteers.view_hourentry")
        # The campaign office and the units' clerks and heads run volunteers,
        # teams and activities; services check the role over the object's unit.
        managers = [Role.SUPERVISOR, Role.HANDLER, Role.HEAD]
        grant(managers, "volunteers.add_volunteer", "volunteers.change_volunteer", "volunteers.add_team",
              "volunteers.change_team", "volunteers.add_activity", "volunteers.change_activity",
              "volunteers.add_signup", "volunteers.change_signup", "volunteers.add_hourentry")
        demo.register(load_demo)

        # Large volunteer sheets import in the background (campaigns' import jobs).
        from campaigns.models import ImportJob
        from campaigns.planning.jobs import register_runner

        from .imports import import_volunteers

        register_runner(ImportJob.Kind.VOLUNTEERS,
                        lambda *, actor, upload, params, progress: import_volunteers(actor=actor, upload=upload))
