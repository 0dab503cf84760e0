"""Who hears about a unit's business: members by role, in the unit itself or over it."""

from __future__ import annotations

from collections.abc import Iterable

from campaigns.models import Membership, Unit, User


def ancestor_paths(unit: Unit) -> list[str]:
    step = Unit.steplen
    return [unit.path[:end] for end in range(step, len(unit.path) + 1, step)]


def members_of(unit: Unit, roles: Iterable[str]) -> list[User]:
    """Active users holding one of ``roles`` in ``unit`` itself."""
    return list(User.objects.filter(
        is_active=True, memberships__active=True, memberships__unit=unit, memberships__role__in=list(roles),
    ).distinct().order_by("pk"))


def members_over(unit: Unit, roles: Iterable[str]) -> list[User]:
    """Active users holding one of ``roles`` in ``unit`` or an ancestor (e.g.
    the city's supervisors, the district's assigned leader)."""
    return list(User.objects.filter(
        is_active=True, memberships__active=True, memberships__unit__path__in=ancestor_paths(unit),
        memberships__role__in=list(roles),
    ).distinct().order_by("pk"))


def unique(*groups: Iterable[User], exclude: User | None = None) -> list[User]:
    seen: dict[int, User] = {}
    for group in groups:
        for user in group:
            if user is not None and user.pk not in seen and (exclude is None or user.pk != exclude.pk):
                seen[user.pk] = user
    return list(seen.values())
