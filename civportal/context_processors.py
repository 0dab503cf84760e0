from django.conf import settings


def portal(request):
    """Values every page needs: the portal name and the user's role set for navigation."""
    user = getattr(request, "user", None)
    roles = set()
    if user is not None and user.is_authenticated:
        from campaigns.scope import user_roles

        roles = user_roles(user)
    return {"PORTAL_NAME": settings.PORTAL_NAME, "user_roles": roles}


def navigation(request):
    """The grouped main navigation (see civportal.nav) for signed-in users."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_groups": [], "nav_section": "", "nav_dashboard": ""}
    from civportal import nav

    section, groups = nav.build(request)
    return {"nav_groups": groups, "nav_section": section, "nav_dashboard": nav.dashboard_url(user)}
