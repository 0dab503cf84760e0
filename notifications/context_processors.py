from django.utils.functional import SimpleLazyObject


def inbox(request):
    """The bell's unread count: one COUNT query, and only on pages that show it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def count() -> int:
        from .models import Notification

        cached = getattr(request, "_unread_notifications", None)
        if cached is None:
            cached = request._unread_notifications = Notification.objects.for_user(user).unread().count()
        return cached

    return {"unread_notifications": SimpleLazyObject(count)}
