from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MaterialsConfig(AppConfig):
    name = "materials"
    verbose_name = _("Materials review")

    def ready(self) -> None:
        from campaigns.models import Membership
        from campaigns.roles import grant

        Role = Membership.Role
        # Everyone with a role reads the calls and submissions of their scope (queryset rule).
        grant(Role.values, "materials.view_materialcall", "materials.view_materialsubmission",
              "materials.view_archivejob")
        # Units answer calls; the campaign office opens calls, reviews and archives.
        grant([Role.HANDLER, Role.HEAD], "materials.add_materialfile")
        grant([Role.SUPERVISOR], "materials.add_materialcall", "materials.change_materialcall",
              "materials.change_materialsubmission", "materials.add_archivejob")
