from rest_framework import serializers

from ..models import Event, Notification, WebhookDelivery, WebhookSubscription


class NotificationSerializer(serializers.ModelSerializer):
    target_type = serializers.SerializerMethodField()
    is_read = serializers.BooleanField(read_only=True)
    # System texts in the caller's language (Accept-Language); free text as written.
    title = serializers.CharField(source="display_title", read_only=True)
    body = serializers.CharField(source="display_body", read_only=True)

    class Meta:
        model = Notification
        fields = ["id", "event", "event_id", "title", "body", "url", "target_type", "target_id", "created_at",
                  "read_at", "is_read", "email_status"]
        read_only_fields = fields

    def get_target_type(self, obj) -> str | None:
        ct = obj.target_type
        return f"{ct.app_label}.{ct.model}" if ct else None


class MarkReadSerializer(serializers.Serializer):
    read = serializers.BooleanField(default=True)


class MarkAllReadResultSerializer(serializers.Serializer):
    updated = serializers.IntegerField()


class WebhookSubscriptionSerializer(serializers.ModelSerializer):
    events = serializers.ListField(child=serializers.ChoiceField(choices=Event.choices), required=False,
                                   default=list, help_text="Event types; empty means all.")
    owner = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = WebhookSubscription
        fields = ["id", "owner", "name", "url", "events", "active", "secret", "failure_count", "disabled_at",
                  "disabled_reason", "created_at", "updated_at"]
        read_only_fields = ["owner", "secret", "failure_count", "disabled_at", "disabled_reason", "created_at",
                            "updated_at"]


class WebhookDeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookDelivery
        fields = ["id", "subscription", "event", "event_id", "payload", "status", "attempts", "next_attempt_at",
                  "last_attempt_at", "response_code", "error", "created_at", "delivered_at"]
        read_only_fields = fields
