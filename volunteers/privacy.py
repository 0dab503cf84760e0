"""Who may see a volunteer's personal data (phone, ID card number).

The rule: the campaign office (supervisors) and the handling clerks and
heads holding that role over the volunteer's own community (the community or
any unit above it) see the full values; so does the volunteer. Everyone else
who can see the volunteer at all — leaders, inspectors, the organiser of an
activity in another community the volunteer joined — sees them masked, in
pages, exports and the API alike."""

from __future__ import annotations

from campaigns.models import Membership
from campaigns.scope import has_role

PERSONAL_DATA_ROLES = (Membership.Role.SUPERVISOR, Membership.Role.HANDLER, Membership.Role.HEAD)


def may_see_personal_data(user, volunteer) -> bool:
    if getattr(user, "is_authenticated", False) and volunteer.user_id is not None and volunteer.user_id == user.pk:
        return True
    return has_role(user, volunteer.unit, PERSONAL_DATA_ROLES)


def mask_phone(phone: str) -> str:
    """138****5678: the network prefix and the last four digits."""
    if len(phone) <= 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def mask_id_number(value: str) -> str:
    """First and last two characters only."""
    if not value:
        return ""
    if len(value) <= 4:
        return "*" * len(value)
    return value[:2] + "*" * (len(value) - 4) + value[-2:]


def phone_for(user, volunteer) -> str:
    return volunteer.phone if may_see_personal_data(user, volunteer) else mask_phone(volunteer.phone)


def id_number_for(user, volunteer) -> str:
    return volunteer.id_number if may_see_personal_data(user, volunteer) else mask_id_number(volunteer.id_number)
