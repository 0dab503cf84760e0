from django.contrib.auth import get_user_model
from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

from campaigns.backends import RoleBackend

from .models import Notification


class RoleInboxBackend(RoleBackend):
    """The portal's login backend (RoleBackend) that also loads the bell's
    unread count with the user, as a subquery of the same query: the bell on
    every page costs no extra query."""

    def get_user(self, user_id):
        unread = (Notification.objects.filter(recipient=OuterRef("pk"), read_at__isnull=True).order_by()
                  .values("recipient").annotate(n=Count("pk")).values("n"))
        try:
            user = get_user_model()._default_manager.annotate(
                unread_notifications=Coalesce(Subquery(unread, output_field=IntegerField()), Value(0)),
            ).get(pk=user_id)
        except get_user_model().DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
