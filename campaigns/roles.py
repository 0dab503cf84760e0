"""Which model permissions each role carries.

Apps grant permissions to roles in their ``AppConfig.ready()``; a lower app
never needs to know a higher one. Object-level rules (scope, the role held in
*that* unit) are checked by the services; these permissions are the coarse
gate used by views and the API (``view_*`` for reads)."""

from __future__ import annotations

from collections import defaultdict

ROLE_PERMISSIONS: dict[str, set[str]] = defaultdict(set)


def grant(roles, *perms: str) -> None:
    for role in roles:
        ROLE_PERMISSIONS[role].update(perms)


def permissions_for(roles) -> set[str]:
    perms: set[str] = set()
    for role in roles:
        perms |= ROLE_PERMISSIONS.get(role, set())
    return perms


def register_defaults() -> None:
    from .models import Membership

    everyone = Membership.Role.values
    grant(everyone, "campaigns.view_unit", "campaigns.view_membership")
    grant(
        [Membership.Role.SUPERVISOR],
        "campaigns.add_unit", "campaigns.change_unit", "campaigns.add_membership", "campaigns.change_membership",
        # Keys of external systems, for units in their scope.
        "campaigns.view_apiclient", "campaigns.add_apiclient", "campaigns.change_apiclient",
    )
    # Staff accounts: supervisors for their scope, heads for their own unit's handlers (campaigns/accounts).
    grant([Membership.Role.SUPERVISOR, Membership.Role.HEAD],
          "campaigns.view_user", "campaigns.add_user", "campaigns.change_user")


def register_planning() -> None:
    from .models import Membership

    Role = Membership.Role
    everyone = Role.values
    grant(
        everyone,
        "campaigns.view_campaign", "campaigns.view_indicatorsystem", "campaigns.view_indicator",
        "campaigns.view_pointtype", "campaigns.view_point", "campaigns.view_workitem", "campaigns.view_progressreport",
        "campaigns.view_importjob",
    )
    grant(
        [Role.SUPERVISOR],
        "campaigns.add_campaign", "campaigns.change_campaign",
        "campaigns.add_indicatorsystem", "campaigns.change_indicatorsystem", "campaigns.change_indicator",
        "campaigns.add_pointtype", "campaigns.change_pointtype",
        "campaigns.add_point", "campaigns.change_point",
        "campaigns.add_workitem", "campaigns.change_workitem",
    )
    # Units report progress on (and submit) the work they lead or share.
    grant([Role.HANDLER, Role.HEAD], "campaigns.add_progressreport")
