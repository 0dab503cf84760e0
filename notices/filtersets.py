import django_filters
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from civportal.filters import YesNoFilter

from .models import Notice


class NoticeFilterSet(django_filters.FilterSet):
    """The notice list, for pages and the API. Expired notices are left out unless asked for."""

    q = django_filters.CharFilter(method="search", label=_("Search"), max_length=100)
    kind = django_filters.ChoiceFilter(choices=Notice.Kind.choices, label=_("Kind"))
    box = django_filters.ChoiceFilter(method="filter_box", label=_("Box"), empty_label=_("All"),
                                      choices=[("received", _("Received")), ("sent", _("Sent"))])
    unread = YesNoFilter(method="filter_unread", label=_("Unread only"))
    expired = YesNoFilter(method="filter_expired", label=_("Include expired"))

    class Meta:
        model = Notice
        fields = ["q", "kind", "box", "unread", "expired"]

    @property
    def qs(self):
        queryset = super().qs
        if not (self.is_bound and self.form.is_valid() and self.form.cleaned_data.get("expired")):
            queryset = queryset.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
        return queryset

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(title__icontains=value) | Q(body__icontains=value)) if value else queryset

    def filter_box(self, queryset, name, value):
        if value == "received":
            return queryset.filter(addressed_to_me=True)
        if value == "sent":
            user = getattr(self.request, "user", None)
            if user is not None and user.is_superuser:
                return queryset
            from campaigns.models import Membership
            from campaigns.scope import role_paths

            sent = Q(pk__in=[])
            for path in role_paths(user, [Membership.Role.SUPERVISOR]):
                sent |= Q(sender_unit__path__startswith=path)
            return queryset.filter(sent)
        return queryset

    def filter_unread(self, queryset, name, value):
        if value:
            return queryset.filter(addressed_to_me=True, is_read=False)
        return queryset

    def filter_expired(self, queryset, name, value):
        return queryset  # applied in qs (the default leaves expired notices out)
