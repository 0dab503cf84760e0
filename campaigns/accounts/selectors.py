"""Which accounts a person may see and manage.

A supervisor manages the accounts whose every active role lies in the
subtrees they supervise (and the accounts that once held a role there and
hold none elsewhere now, e.g. someone who left). A unit head manages the
handling clerks of their own unit: accounts whose only active roles are
handler roles in a unit they head. Nobody manages superusers or the service
accounts of API keys here."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from ..models import ApiClient, Membership, User
from ..scope import role_paths

Role = Membership.Role


def _under(paths: list[str], field: str = "unit__path") -> Q:
    q = Q(pk__in=[])
    for path in paths:
        q |= Q(**{f"{field}__startswith": path})
    return q


def manageable_users(actor) -> QuerySet[User]:
    """Accounts ``actor`` may see and change (one query when evaluated)."""
    people = User.objects.filter(is_superuser=False).exclude(Exists(ApiClient.objects.filter(user=OuterRef("pk"))))
    if not getattr(actor, "is_authenticated", False):
        return User.objects.none()
    if actor.is_superuser:
        return people
    memberships = Membership.objects.filter(user=OuterRef("pk"))
    supervised = role_paths(actor, [Role.SUPERVISOR])
    headed = role_paths(actor, [Role.HEAD])
    allowed = Q(pk__in=[])
    if supervised:
        allowed |= Exists(memberships.filter(_under(supervised))) & ~Exists(
            memberships.filter(active=True).exclude(_under(supervised)))
    if headed:
        allowed |= Exists(memberships.filter(active=True, role=Role.HANDLER, unit__path__in=headed)) & ~Exists(
            memberships.filter(active=True).exclude(role=Role.HANDLER, unit__path__in=headed))
    return people.filter(allowed)


def can_manage(actor, user: User) -> bool:
    return manageable_users(actor).filter(pk=user.pk).exists()


def may_assign(actor, unit, role: str) -> bool:
    """Whether ``actor`` may give someone ``role`` in ``unit`` (supervisors over
    the unit: any role; heads of exactly that unit: the handler role)."""
    from ..scope import has_role

    if has_role(actor, unit, [Role.SUPERVISOR]):
        return True
    return role == Role.HANDLER and unit.path in role_paths(actor, [Role.HEAD])
