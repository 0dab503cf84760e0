from django import template

register = template.Library()


@register.filter
def get(mapping, key):
    """``mapping|get:key`` for dicts keyed by ids or states (empty when missing)."""
    if not mapping:
        return ""
    return mapping.get(key, "")
