from django.utils.functional import SimpleLazyObject


def inbox(request):
    """The bell's unread count: loaded with the user by ``RoleInboxBackend``
    (no extra query); one COUNT query otherwise (e.g. token-authenticated pages)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def count() -> int:
        cached = getattr(user, "unread_notifications", None)
        if cached is None:
            from .models import Notification

            cached = user.unread_notifications = Notification.objects.for_user(user).unread().count()
        return cached

    return {"unread_notifications": SimpleLazyObject(count)}
