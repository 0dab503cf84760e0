from django.utils.functional import SimpleLazyObject


def inbox(request):
    """The bell's unread count: loaded with the user by ``RoleInboxBackend``
    (no extra query); one COUNT query otherwise (a user from the shared cache,
    token-authenticated pages), only if the page shows the bell."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def count() -> int:
        cached = getattr(user, "unread_notifications", None)
        if cached is None:
            from .models import unread_count

            cached = user.unread_notifications = unread_count(user.pk)
        return cached

    return {"unread_notifications": SimpleLazyObject(count)}
