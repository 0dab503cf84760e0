from django.conf import settings


def portal(request):
    """Values every page needs: the portal name (the user's roles come from campaigns.context_processors)."""
    return {"PORTAL_NAME": settings.PORTAL_NAME, "CSRF_COOKIE_NAME": settings.CSRF_COOKIE_NAME}


def navigation(request):
    """The grouped main navigation (see civportal.nav) for signed-in users; the
    dashboard link (``nav_dashboard``) comes from dashboards.context_processors."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_groups": [], "nav_section": ""}
    from civportal import nav

    section, groups = nav.build(request)
    return {"nav_groups": groups, "nav_section": section}
