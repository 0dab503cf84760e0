from django import template

from .. import hours, privacy

register = template.Library()


@register.filter
def phone_for(volunteer, user) -> str:
    """{{ volunteer|phone_for:user }}: the full or masked phone."""
    return privacy.phone_for(user, volunteer)


@register.filter
def id_number_for(volunteer, user) -> str:
    return privacy.id_number_for(user, volunteer)


@register.filter
def as_hours(minutes):
    return hours.minutes_to_hours(minutes)


@register.filter
def stars(level) -> str:
    return "★" * int(level or 0)


@register.filter
def star_level(minutes) -> int:
    return hours.star_level(minutes)
