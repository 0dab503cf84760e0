import django_filters

from civportal.filters import YesNoFilter

from .models import DeliveryStatus, Event, Notification, WebhookDelivery


class NotificationFilterSet(django_filters.FilterSet):
    event = django_filters.ChoiceFilter(choices=Event.choices)
    unread = YesNoFilter(field_name="read_at", lookup_expr="isnull", label="unread")

    class Meta:
        model = Notification
        fields = ["event", "unread"]


class WebhookDeliveryFilterSet(django_filters.FilterSet):
    event = django_filters.ChoiceFilter(choices=Event.choices)
    status = django_filters.ChoiceFilter(choices=DeliveryStatus.choices)

    class Meta:
        model = WebhookDelivery
        fields = ["subscription", "event", "status"]
