from contextvars import ContextVar

from django.contrib.auth import get_user_model
from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

from campaigns import scope, usercache
from campaigns.backends import RoleBackend

from .models import Notification

# False while an API request is handled (``LeanApiUserMiddleware``): the API never shows the bell,
# so its user is read without the unread count's subquery.
with_unread_count: ContextVar[bool] = ContextVar("with_unread_count", default=True)


class RoleInboxBackend(RoleBackend):
    """The portal's login backend (RoleBackend) that also loads the bell's
    unread count with the user, as a subquery of the same query: the bell on
    every page costs no extra query. Not for API requests, which have no bell
    (the context processor would count on its own if a template asked), and not
    while the user comes from the shared cache (campaigns/usercache.py): then the
    row is not read at all and the bell is one plain count (``unread_count``)."""

    def get_user(self, user_id):
        with_unread = with_unread_count.get() and not usercache.enabled()

        def load():
            users = get_user_model()._default_manager
            if with_unread:
                unread = (Notification.objects.filter(recipient=OuterRef("pk"), read_at__isnull=True).order_by()
                          .values("recipient").annotate(n=Count("pk")).values("n"))
                users = users.annotate(
                    unread_notifications=Coalesce(Subquery(unread, output_field=IntegerField()), Value(0)))
            try:
                return users.get(pk=user_id)
            except get_user_model().DoesNotExist:
                return None

        # The user row and memberships from the shared cache while no user, membership or unit
        # changed (campaigns/usercache.py); without it, a page's user row carries the bell's count.
        user = scope.session_user(user_id, load, cached_user=not with_unread)
        return user if user is not None and self.user_can_authenticate(user) else None
