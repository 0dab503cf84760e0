from django.conf import settings


def portal(request):
    """Values every page needs: the portal name and the user's role set for navigation."""
    user = getattr(request, "user", None)
    roles = set()
    if user is not None and user.is_authenticated:
        from campaigns.scope import user_roles

        roles = user_roles(user)
    return {"PORTAL_NAME": settings.PORTAL_NAME, "user_roles": roles}
