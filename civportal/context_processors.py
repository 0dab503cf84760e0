from django.conf import settings
from django.utils.functional import SimpleLazyObject


def portal(request):
    """Values every page needs: the portal name (the user's roles come from campaigns.context_processors)."""
    return {"PORTAL_NAME": settings.PORTAL_NAME, "CSRF_COOKIE_NAME": settings.CSRF_COOKIE_NAME}


def navigation(request):
    """The grouped main navigation (see civportal.nav) for signed-in users: ``nav_menu``, the groups'
    HTML as base.html shows it (built once per language, allowed links, section and current page),
    ``nav_groups`` the same as objects (built only when a template reads them); the dashboard link
    (``nav_dashboard``) comes from dashboards.context_processors."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_groups": [], "nav_section": "", "nav_menu": ""}
    from civportal import nav

    return {"nav_groups": SimpleLazyObject(lambda: nav.build(request)[1]), "nav_section": nav.section_of(request),
            "nav_menu": SimpleLazyObject(lambda: nav.menu_html(request))}
