"""Template values from the organisation (settings: TEMPLATES context_processors)."""

from .scope import user_roles


def roles(request):
    """The signed-in user's role set (empty for anonymous visitors)."""
    user = getattr(request, "user", None)
    return {"user_roles": user_roles(user) if user is not None else set()}
